// OneCycleLR and the schedulers made of schedulers (SequentialLR, ChainedScheduler), as PyTorch 1.13.
// OneCycleLR cycles the momentum inversely to the lr: SGD's (and RMSprop's) `momentum`, or Adam's
// `betas[0]`. Both are live hyperparameters of a compiled step (read at every run, like lr), so the
// cycle never re-traces. (SGD built with momentum 0 is the one exception: its first non-zero
// momentum turns on the momentum buffer, a structural change that re-traces once.)
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import {
  LRScheduler,
  checkInt,
  formatParam,
  checkNotTracing,
  type SchedulerStateDict,
  type AnyOptimizer,
} from './lr-scheduler-base.js';

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

export interface OneCycleLROptions {
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart: number;
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  baseMomentum: number | number[];
  maxMomentum: number | number[];
  divFactor: number;
  finalDivFactor: number;
  threePhase: boolean;
  lastEpoch: number;
  verbose: boolean;
}

const oneCycleDefaults = (): OneCycleLROptions => ({
  totalSteps: undefined,
  epochs: undefined,
  stepsPerEpoch: undefined,
  pctStart: 0.3,
  annealStrategy: 'cos',
  cycleMomentum: true,
  baseMomentum: 0.85,
  maxMomentum: 0.95,
  divFactor: 25,
  finalDivFactor: 1e4,
  threePhase: false,
  lastEpoch: -1,
  verbose: false,
});

const positiveInt = (name: string, v: unknown) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new KilnError(`ValueError: Expected positive integer ${name}, but got ${v === undefined ? 'None' : v}`);
  }
  return v;
};

/** the 1cycle policy: lr up from maxLr / divFactor to maxLr, then down to a much lower one, per batch */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  _schedulePhases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1 = false;

  constructor(optimizer: unknown, maxLr: number | number[], options: Partial<OneCycleLROptions> = {}) {
    super(optimizer);
    checkOptions('OneCycleLR', options, Object.keys(oneCycleDefaults()));
    const o = { ...oneCycleDefaults(), ...options };
    const { totalSteps, epochs, stepsPerEpoch, pctStart } = o;
    if (totalSteps === undefined && epochs === undefined && stepsPerEpoch === undefined) {
      throw new KilnError('ValueError: You must define either total_steps OR (epochs AND steps_per_epoch)');
    } else if (totalSteps !== undefined) {
      this.totalSteps = positiveInt('total_steps', totalSteps);
    } else {
      this.totalSteps = positiveInt('epochs', epochs) * positiveInt('steps_per_epoch', stepsPerEpoch);
    }
    const phase = (endStep: number, startLr: string, endLr: string, startMomentum: string, endMomentum: string) => ({
      endStep,
      startLr,
      endLr,
      startMomentum,
      endMomentum,
    });
    const T = this.totalSteps;
    this._schedulePhases = o.threePhase
      ? [
          phase(pctStart * T - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(2 * pctStart * T - 2, 'maxLr', 'initialLr', 'baseMomentum', 'maxMomentum'),
          phase(T - 1, 'initialLr', 'minLr', 'maxMomentum', 'maxMomentum'),
        ]
      : [
          phase(pctStart * T - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(T - 1, 'maxLr', 'minLr', 'baseMomentum', 'maxMomentum'),
        ];
    if (typeof pctStart !== 'number' || pctStart < 0 || pctStart > 1) {
      throw new KilnError(`ValueError: Expected float between 0 and 1 pct_start, but got ${pctStart}`);
    }
    if (o.annealStrategy !== 'cos' && o.annealStrategy !== 'linear') {
      throw new KilnError(
        `ValueError: anneal_strategy must by one of 'cos' or 'linear', instead got ${o.annealStrategy}`,
      );
    }
    this.annealStrategy = o.annealStrategy;
    const maxLrs = formatParam('max_lr', this.optimizer, maxLr);
    this.cycleMomentum = o.cycleMomentum;
    const defaults = this.optimizer.defaults as Record<string, unknown>;
    let maxMomentums: number[] = [],
      baseMomentums: number[] = [];
    if (this.cycleMomentum) {
      if (!('momentum' in defaults) && !('betas' in defaults)) {
        throw new KilnError('ValueError: optimizer must support momentum with `cycle_momentum` option enabled');
      }
      maxMomentums = formatParam('max_momentum', this.optimizer, o.maxMomentum);
      baseMomentums = formatParam('base_momentum', this.optimizer, o.baseMomentum);
    }
    checkInt('OneCycleLR', 'lastEpoch', o.lastEpoch);
    // validated: now the param groups change
    if (o.lastEpoch === -1) {
      this.groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / o.divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = g.initialLr / o.finalDivFactor;
      });
    }
    if (this.cycleMomentum) {
      this.useBeta1 = 'betas' in defaults;
      if (o.lastEpoch === -1) {
        this.groups.forEach((g, i) => {
          this.setMomentum(g, maxMomentums[i]);
          g.maxMomentum = maxMomentums[i];
          g.baseMomentum = baseMomentums[i];
        });
      }
    }
    this.initialize(o.lastEpoch, o.verbose);
  }

  private setMomentum(g: Record<string, any>, m: number): void {
    if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new KilnError(
        `ValueError: Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`,
      );
    }
    const phases = this._schedulePhases;
    return this.groups.map((g) => {
      let startStep = 0,
        lr = 0,
        momentum = 0;
      for (let i = 0; i < phases.length; i++) {
        const { endStep } = phases[i];
        if (stepNum <= endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (endStep - startStep);
          lr = this.anneal(g[phases[i].startLr], g[phases[i].endLr], pct);
          if (this.cycleMomentum) momentum = this.anneal(g[phases[i].startMomentum], g[phases[i].endMomentum], pct);
          break;
        }
        startStep = endStep;
      }
      if (this.cycleMomentum) this.setMomentum(g, momentum);
      return lr;
    });
  }
}

function checkSameOptimizer(what: string, optimizer: AnyOptimizer | undefined, schedulers: unknown): LRScheduler[] {
  if (!Array.isArray(schedulers) || schedulers.length === 0 || schedulers.some((s) => !(s instanceof LRScheduler))) {
    throw new KilnError(`${what}: schedulers must be a non-empty list of learning rate schedulers`);
  }
  const first = (schedulers[0] as LRScheduler).optimizer;
  schedulers.forEach((s: LRScheduler, i) => {
    if (optimizer !== undefined && s.optimizer !== optimizer) {
      throw new KilnError(
        `ValueError: Sequential Schedulers expects all schedulers to belong to the same optimizer, but got ` +
          `schedulers at index ${i} to be different than the optimizer passed in.`,
      );
    }
    if (s.optimizer !== first) {
      throw new KilnError(
        `ValueError: ${what} expects all schedulers to belong to the same optimizer, but got schedulers at ` +
          `index 0 and ${i} to be different${optimizer === undefined ? '' : '.'}`,
      );
    }
  });
  return [...schedulers];
}

/** runs `schedulers[i]` from `milestones[i - 1]` on (each restarted at its milestone) */
export class SequentialLR extends LRScheduler {
  _schedulers: LRScheduler[];
  _milestones: number[];

  constructor(
    optimizer: unknown,
    schedulers: LRScheduler[],
    milestones: number[],
    opts: { lastEpoch?: number; verbose?: boolean } = {},
  ) {
    super(optimizer);
    checkOptions('SequentialLR', opts, ['lastEpoch', 'verbose']);
    this._schedulers = checkSameOptimizer('Sequential Schedulers', this.optimizer, schedulers);
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new KilnError(
        'ValueError: Sequential Schedulers expects number of schedulers provided to be one more than the ' +
          `number of milestone points, but got number of schedulers ${schedulers.length} and the number of ` +
          `milestones to be equal to ${Array.isArray(milestones) ? milestones.length : milestones}`,
      );
    }
    milestones.forEach((m) => checkInt('SequentialLR', 'milestones', m));
    this._milestones = [...milestones];
    this.lastEpoch = checkInt('SequentialLR', 'lastEpoch', opts.lastEpoch ?? -1) + 1;
    this.verbose = opts.verbose ?? false; // does nothing, as in PyTorch
    // reset the lr to the initial one and undo the step each scheduler's constructor took
    for (const g of this.groups) g.lr = g.initialLr;
    for (const s of this._schedulers) s.lastEpoch -= 1;
    this._schedulers[0].initialStep();
    this._lastLr = this._schedulers[0].getLastLr();
    this.baseLrs = [...this._schedulers[0].baseLrs]; // kiln's convenience: PyTorch's SequentialLR has none
  }

  protected getLr(): number[] {
    return this._lastLr;
  }

  override step(): void {
    checkNotTracing('lr_scheduler.step()');
    this.lastEpoch += 1;
    let idx = 0; // bisect_right
    while (idx < this._milestones.length && this._milestones[idx] <= this.lastEpoch) idx++;
    const scheduler = this._schedulers[idx];
    // PyTorch calls scheduler.step(0) here, which also shows the epoch deprecation warning
    if (idx > 0 && this._milestones[idx - 1] === this.lastEpoch) scheduler.stepWith(0);
    else scheduler.stepWith();
    this._lastLr = scheduler.getLastLr();
  }

  protected override get unsaved(): readonly string[] {
    return ['_schedulers', 'baseLrs', 'verbose', '_stepCount', '_getLrCalledWithinStep'];
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _schedulers: this._schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(sd: SchedulerStateDict): void {
    const inner = sd?._schedulers;
    if (!Array.isArray(inner) || inner.length !== this._schedulers.length) {
      throw new KilnError(`SequentialLR.loadStateDict: expected _schedulers with ${this._schedulers.length} entries`);
    }
    super.loadStateDict(sd);
    inner.forEach((s, i) => this._schedulers[i].loadStateDict(s as SchedulerStateDict));
  }
}

/** steps every scheduler in turn, each step (their changes compose) */
export class ChainedScheduler extends LRScheduler {
  _schedulers: LRScheduler[];
  constructor(schedulers: LRScheduler[]) {
    const list = checkSameOptimizer('ChainedScheduler', undefined, schedulers);
    super(list[0].optimizer);
    this._schedulers = list;
    this._lastLr = this.groups.map((g) => g.lr);
  }
  protected getLr(): number[] {
    return this._lastLr;
  }
  override step(): void {
    checkNotTracing('lr_scheduler.step()');
    for (const s of this._schedulers) s.stepWith();
    this._lastLr = this.groups.map((g) => g.lr);
  }
  protected override get unsaved(): readonly string[] {
    return ['_schedulers', 'baseLrs', 'lastEpoch', 'verbose', '_stepCount', '_getLrCalledWithinStep'];
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), _schedulers: this._schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerStateDict): void {
    const inner = sd?._schedulers;
    if (!Array.isArray(inner) || inner.length !== this._schedulers.length) {
      throw new KilnError(
        `ChainedScheduler.loadStateDict: expected _schedulers with ${this._schedulers.length} entries`,
      );
    }
    super.loadStateDict(sd);
    inner.forEach((s, i) => this._schedulers[i].loadStateDict(s as SchedulerStateDict));
  }
}
