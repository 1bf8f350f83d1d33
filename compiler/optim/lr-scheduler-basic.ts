// The epoch-wise schedulers of PyTorch 1.13, each in its chainable form (get_lr: the next lr from the
// group's current one, so other changes to the lr compose) and, where PyTorch has one, its closed
// form (step(epoch), SequentialLR's milestones). Formulas are PyTorch's, operation for operation, so
// the float64 values agree with PyTorch's to the last bit or so (JS and libm cos may differ by an ulp).
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { LRScheduler, checkInt, type SchedulerStateDict } from './lr-scheduler-base.js';

interface EpochOptions {
  lastEpoch?: number;
  verbose?: boolean;
}
const EPOCH_KEYS = ['lastEpoch', 'verbose'];

/** Python's `%` (the sign of the divisor) */
const pymod = (a: number, b: number) => ((a % b) + b) % b;

export type LrLambda = (epoch: number) => number;

function lambdas(owner: string, nGroups: number, lrLambda: LrLambda | LrLambda[]): LrLambda[] {
  if (!Array.isArray(lrLambda)) return Array.from({ length: nGroups }, () => lrLambda);
  if (lrLambda.length !== nGroups) {
    throw new KilnError(`ValueError: Expected ${nGroups} lr_lambdas, but got ${lrLambda.length}`);
  }
  for (const f of lrLambda) if (typeof f !== 'function') throw new KilnError(`${owner}: lrLambda must be functions`);
  return [...lrLambda];
}

/** lr = initialLr * lrLambda(epoch) */
export class LambdaLR extends LRScheduler {
  lrLambdas: LrLambda[];
  constructor(optimizer: unknown, lrLambda: LrLambda | LrLambda[], opts: EpochOptions = {}) {
    super(optimizer);
    checkOptions(new.target.name, opts, EPOCH_KEYS);
    this.lrLambdas = lambdas(new.target.name, this.groups.length, lrLambda);
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.lrLambdas[i](this.lastEpoch));
  }
  // PyTorch saves a lambda's __dict__ only for callable objects; a JS function has none: null
  protected override get unsaved(): readonly string[] {
    return ['lrLambdas'];
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), lrLambdas: this.lrLambdas.map(() => null) };
  }
}

/** lr *= lrLambda(epoch) from epoch 1 on */
export class MultiplicativeLR extends LambdaLR {
  constructor(optimizer: unknown, lrLambda: LrLambda | LrLambda[], opts: EpochOptions = {}) {
    super(optimizer, lrLambda, opts);
  }
  protected override getLr(): number[] {
    if (this.lastEpoch > 0) return this.groups.map((g, i) => g.lr * this.lrLambdas[i](this.lastEpoch));
    return this.groups.map((g) => g.lr);
  }
}

/** lr *= gamma every stepSize epochs */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: unknown, stepSize: number, opts: EpochOptions & { gamma?: number } = {}) {
    super(optimizer);
    checkOptions('StepLR', opts, ['gamma', ...EPOCH_KEYS]);
    this.stepSize = checkInt('StepLR', 'stepSize', stepSize);
    this.gamma = opts.gamma ?? 0.1;
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || pymod(this.lastEpoch, this.stepSize) !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override getClosedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** lr *= gamma at each milestone (a milestone given twice decays twice) */
export class MultiStepLR extends LRScheduler {
  /** PyTorch's Counter(milestones): milestone -> how many times it was given */
  milestones: Record<number, number>;
  gamma: number;
  constructor(optimizer: unknown, milestones: number[], opts: EpochOptions & { gamma?: number } = {}) {
    super(optimizer);
    checkOptions('MultiStepLR', opts, ['gamma', ...EPOCH_KEYS]);
    if (!Array.isArray(milestones)) throw new KilnError('MultiStepLR: milestones must be a list of integers');
    this.milestones = {};
    for (const m of milestones) {
      checkInt('MultiStepLR', 'milestones', m);
      this.milestones[m] = (this.milestones[m] ?? 0) + 1;
    }
    this.gamma = opts.gamma ?? 0.1;
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    const n = this.milestones[this.lastEpoch];
    if (n === undefined) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** n);
  }
  protected override getClosedFormLr(): number[] {
    let passed = 0; // bisect_right over the sorted milestones
    for (const [m, n] of Object.entries(this.milestones)) if (Number(m) <= this.lastEpoch) passed += n;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** lr * factor until totalIters, then lr */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;
  constructor(optimizer: unknown, opts: EpochOptions & { factor?: number; totalIters?: number } = {}) {
    super(optimizer);
    checkOptions('ConstantLR', opts, ['factor', 'totalIters', ...EPOCH_KEYS]);
    const factor = opts.factor ?? 1 / 3;
    if (factor > 1.0 || factor < 0) {
      throw new KilnError('ValueError: Constant multiplicative factor expected to be between 0 and 1.');
    }
    this.factor = factor;
    this.totalIters = checkInt('ConstantLR', 'totalIters', opts.totalIters ?? 5);
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1.0 / this.factor));
  }
  protected override getClosedFormLr(): number[] {
    const after = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((b) => b * (this.factor + after * (1 - this.factor)));
  }
}

/** the factor goes linearly from startFactor to endFactor over totalIters epochs */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(
    optimizer: unknown,
    opts: EpochOptions & { startFactor?: number; endFactor?: number; totalIters?: number } = {},
  ) {
    super(optimizer);
    checkOptions('LinearLR', opts, ['startFactor', 'endFactor', 'totalIters', ...EPOCH_KEYS]);
    const startFactor = opts.startFactor ?? 1 / 3,
      endFactor = opts.endFactor ?? 1.0;
    if (startFactor > 1.0 || startFactor < 0) {
      throw new KilnError('ValueError: Starting multiplicative factor expected to be between 0 and 1.');
    }
    if (endFactor > 1.0 || endFactor < 0) {
      throw new KilnError('ValueError: Ending multiplicative factor expected to be between 0 and 1.');
    }
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = checkInt('LinearLR', 'totalIters', opts.totalIters ?? 5);
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * s);
    if (this.lastEpoch > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (e - s) / (n * s + (this.lastEpoch - 1) * (e - s))));
  }
  protected override getClosedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((e - s) * Math.min(n, this.lastEpoch)) / n));
  }
}

/** lr *= gamma every epoch */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(optimizer: unknown, gamma: number, opts: EpochOptions = {}) {
    super(optimizer);
    checkOptions('ExponentialLR', opts, EPOCH_KEYS);
    if (typeof gamma !== 'number') throw new KilnError(`ExponentialLR: gamma must be a number, got ${gamma}`);
    this.gamma = gamma;
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override getClosedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** lr decays as (1 - epoch / totalIters) ** power */
export class PolynomialLR extends LRScheduler {
  totalIters: number;
  power: number;
  constructor(optimizer: unknown, opts: EpochOptions & { totalIters?: number; power?: number } = {}) {
    super(optimizer);
    checkOptions('PolynomialLR', opts, ['totalIters', 'power', ...EPOCH_KEYS]);
    this.totalIters = checkInt('PolynomialLR', 'totalIters', opts.totalIters ?? 5);
    this.power = opts.power ?? 1.0;
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    const n = this.totalIters;
    if (this.lastEpoch === 0 || this.lastEpoch > n) return this.groups.map((g) => g.lr);
    const decay = ((1.0 - this.lastEpoch / n) / (1.0 - (this.lastEpoch - 1) / n)) ** this.power;
    return this.groups.map((g) => g.lr * decay);
  }
  protected override getClosedFormLr(): number[] {
    const n = this.totalIters;
    return this.baseLrs.map((b) => b * (1.0 - Math.min(n, this.lastEpoch) / n) ** this.power);
  }
}

/** cosine annealing from the initial lr to etaMin over tMax epochs (PyTorch's recursive form) */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: unknown, tMax: number, opts: EpochOptions & { etaMin?: number } = {}) {
    super(optimizer);
    checkOptions('CosineAnnealingLR', opts, ['etaMin', ...EPOCH_KEYS]);
    if (typeof tMax !== 'number') throw new KilnError(`CosineAnnealingLR: tMax must be a number, got ${tMax}`);
    this.tMax = tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.initialize(opts.lastEpoch ?? -1, opts.verbose ?? false);
  }
  protected getLr(): number[] {
    const { tMax: T, etaMin: eta, lastEpoch: t } = this;
    if (t === 0) return this.groups.map((g) => g.lr);
    if (this._stepCount === 1 && t > 0) {
      return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((t * Math.PI) / T))) / 2);
    }
    if (pymod(t - 1 - T, 2 * T) === 0) {
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groups.map(
      (g) => ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (g.lr - eta) + eta,
    );
  }
  protected override getClosedFormLr(): number[] {
    const { tMax: T, etaMin: eta, lastEpoch: t } = this;
    return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * t) / T))) / 2);
  }
}
