// ReduceLROnPlateau, as PyTorch 1.13: lr *= factor when a metric has not improved for `patience`
// epochs. Not an LRScheduler subclass in PyTorch either (no baseLrs, no chainable form). step()
// takes the metric as a number or a 0-d kiln Tensor (its value read on the host, PyTorch's float()).
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import {
  checkNotTracing,
  checkOptimizer,
  fmt4e,
  loadOwnState,
  ownState,
  warnOnce,
  type AnyOptimizer,
  type SchedulerStateDict,
} from './lr-scheduler-base.js';

export interface ReduceLROnPlateauOptions {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLr: number | number[];
  eps: number;
  verbose: boolean;
}

const plateauDefaults = (): ReduceLROnPlateauOptions => ({
  mode: 'min',
  factor: 0.1,
  patience: 10,
  threshold: 1e-4,
  thresholdMode: 'rel',
  cooldown: 0,
  minLr: 0,
  eps: 1e-8,
  verbose: false,
});

export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  factor: number;
  minLrs: number[];
  patience: number;
  verbose: boolean;
  cooldown: number;
  cooldownCounter = 0;
  mode: 'min' | 'max';
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  best = Infinity;
  numBadEpochs = 0;
  modeWorse = Infinity;
  eps: number;
  lastEpoch = 0;
  _lastLr?: number[];

  constructor(optimizer: unknown, options: Partial<ReduceLROnPlateauOptions> = {}) {
    checkOptions('ReduceLROnPlateau', options, Object.keys(plateauDefaults()));
    const o = { ...plateauDefaults(), ...options };
    if (o.factor >= 1.0) throw new KilnError('ValueError: Factor should be < 1.0.');
    checkOptimizer(optimizer);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(o.minLr) && o.minLr.length !== n) {
      throw new KilnError(`ValueError: expected ${n} min_lrs, got ${o.minLr.length}`);
    }
    ReduceLROnPlateau.checkModes(o.mode, o.thresholdMode);
    this.optimizer = optimizer;
    this.factor = o.factor;
    this.minLrs = Array.isArray(o.minLr) ? [...o.minLr] : Array.from({ length: n }, () => o.minLr as number);
    this.patience = o.patience;
    this.verbose = o.verbose;
    this.cooldown = o.cooldown;
    this.mode = o.mode;
    this.threshold = o.threshold;
    this.thresholdMode = o.thresholdMode;
    this.eps = o.eps;
    this.initIsBetter();
    this.reset();
  }

  private static checkModes(mode: string, thresholdMode: string): void {
    if (mode !== 'min' && mode !== 'max') throw new KilnError(`ValueError: mode ${mode} is unknown!`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new KilnError(`ValueError: threshold mode ${thresholdMode} is unknown!`);
    }
  }

  private initIsBetter(): void {
    ReduceLROnPlateau.checkModes(this.mode, this.thresholdMode);
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
  }

  private reset(): void {
    this.best = this.modeWorse;
    this.cooldownCounter = 0;
    this.numBadEpochs = 0;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** one epoch's metric (a number, or a 0-d Tensor such as a compiled step's returned loss) */
  step(metrics: number | Tensor, epoch?: number): void {
    checkNotTracing('ReduceLROnPlateau.step()');
    let current: number;
    if (metrics instanceof Tensor) {
      if (metrics.shape.reduce((a, b) => a * b, 1) !== 1) {
        throw new KilnError(
          `ValueError: only one element tensors can be converted to Python scalars (got shape [${metrics.shape}])`,
        );
      }
      current = metrics.item();
    } else if (typeof metrics === 'number') current = metrics;
    else throw new KilnError(`ReduceLROnPlateau.step: metrics must be a number or a Tensor, got ${typeof metrics}`);
    if (epoch === undefined) epoch = this.lastEpoch + 1;
    else warnOnce('The epoch parameter in `scheduler.step()` was not necessary and is being deprecated');
    this.lastEpoch = epoch;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs += 1;
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr(epoch);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr as number);
  }

  private reduceLr(epoch: number): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const oldLr = g.lr as number;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) {
        (g as { lr: number }).lr = newLr;
        if (this.verbose) {
          const e = Number.isInteger(epoch) ? String(epoch).padStart(5, '0') : epoch.toFixed(2);
          console.log(`Epoch ${e}: reducing learning rate of group ${i} to ${fmt4e(newLr)}.`);
        }
      }
    });
  }

  /** the learning rates after the last step() (PyTorch has none before the first: here the current ones) */
  getLastLr(): number[] {
    return this._lastLr ? [...this._lastLr] : this.optimizer.paramGroups.map((g) => g.lr as number);
  }

  stateDict(): SchedulerStateDict {
    return ownState(this, []);
  }

  loadStateDict(sd: SchedulerStateDict): void {
    const mode = (sd?.mode ?? this.mode) as string,
      thresholdMode = (sd?.thresholdMode ?? this.thresholdMode) as string;
    ReduceLROnPlateau.checkModes(mode, thresholdMode); // before anything changes
    loadOwnState(this, sd, []);
    this.initIsBetter();
  }
}
