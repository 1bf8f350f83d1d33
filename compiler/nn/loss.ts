// Loss functions with PyTorch's options and exact formulas (torch 1.13's LossNLL.cpp).
import { KilnError, fmtShape } from '../errors.js';
import { Tensor, checkIndices, tensor, where } from '../tensor.js';
import { Module } from './module.js';
import { checkOptions } from '../options.js';

export type Reduction = 'mean' | 'sum' | 'none';

export function checkReduction(r: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new KilnError(`${r} is not a valid value for reduction`);
  return r;
}
/** a loss's elementwise values reduced as `reduction` says */
export const reduce = (x: Tensor, r: Reduction) => (r === 'none' ? x : r === 'sum' ? x.sum() : x.mean());

/** the check every loss of a float input and a float target makes */
export function checkFloat(name: string, input: Tensor, target: Tensor): void {
  if (input.dtype !== 'float32' || target.dtype !== 'float32') {
    throw new KilnError(
      `${name}: expected float32 input and target, got ${input.dtype}${fmtShape(input.shape)} ` +
        `and ${target.dtype}${fmtShape(target.shape)}`,
    );
  }
}

/** input - target after the checks every elementwise loss shares (float32 both; PyTorch's broadcast warning) */
export function difference(name: string, input: Tensor, target: Tensor): Tensor {
  checkFloat(name, input, target);
  if (input.shape.join() !== target.shape.join()) {
    console.warn(
      `${name}: Using a target size (${fmtShape(target.shape)}) that is different to the input size ` +
        `(${fmtShape(input.shape)}). This will likely lead to incorrect results due to broadcasting. ` +
        'Please ensure they have the same size.',
    );
  }
  return input.sub(target);
}

/** a loss's weight option as given: a tensor, numbers, or none */
export type WeightLike = Tensor | ArrayLike<number> | null | undefined;
/** a weight option as a tensor (numbers as float32), null when none is given */
export const weightTensor = (w: WeightLike): Tensor | null =>
  w == null ? null : w instanceof Tensor ? w : tensor(Float32Array.from(w));

/** a class-weight option as a 1-D float32 tensor (PyTorch's `weight`: one rescaling factor per class) */
export function classWeight(name: string, w: WeightLike): Tensor | null {
  const t = weightTensor(w);
  if (t && (t.ndim !== 1 || t.dtype !== 'float32')) {
    throw new KilnError(`${name}: weight must be a 1-D float32 tensor, got ${t.dtype}${fmtShape(t.shape)}`);
  }
  return t;
}

/** the class dim of a float32 [C], [N, C] or [N, C, d1, ...] input, with the weight checked against C */
function classDim(name: string, input: Tensor, weight: Tensor | null): number {
  if (input.dtype !== 'float32' || input.ndim === 0) {
    throw new KilnError(
      `${name}: expected a float32 input of shape [N, C], [N, C, d1, ...] or [C], ` +
        `got ${input.dtype}${fmtShape(input.shape)}`,
    );
  }
  const cdim = input.ndim === 1 ? 0 : 1;
  const c = input.shape[cdim];
  if (weight && weight.shape[0] !== c) {
    throw new KilnError(
      `${name}: weight tensor should be defined either for all ${c} classes or no classes ` +
        `but got weight tensor of shape: ${fmtShape(weight.shape)}; input ${fmtShape(input.shape)}`,
    );
  }
  return cdim;
}

/**
 * NLL of class-index targets over log-probabilities (torch 1.13's nll_loss / nll_loss2d / nll_loss_nd),
 * shared by NLLLoss and CrossEntropyLoss: -logp[y] * w[y], 0 where the target is ignoreIndex; a
 * weighted mean divides by the sum of the weights of the non-ignored targets. Also returns the
 * validity mask and per-target weights (label smoothing reuses them).
 */
export function classNll(
  name: string,
  logp: Tensor,
  target: Tensor,
  opts: { weight: Tensor | null; ignoreIndex: number; reduction: Reduction; cdim: number },
): { reduced: Tensor; valid: Tensor; wt: Tensor } {
  const { weight, ignoreIndex, reduction: r, cdim } = opts;
  const want = logp.shape.filter((_, i) => i !== cdim);
  if (target.dtype !== 'int32' || target.shape.join() !== want.join()) {
    // PyTorch's nll_loss_nd checks the batch size first, with this sentence
    const batch =
      logp.ndim > 1 && target.ndim > 0 && target.shape[0] !== logp.shape[0]
        ? `Expected input batch_size (${logp.shape[0]}) to match target batch_size (${target.shape[0]}). `
        : '';
    throw new KilnError(
      `${name}: ${batch}expected int32 class indices of shape ${fmtShape(want)} ` +
        `for input ${fmtShape(logp.shape)}, got ${target.dtype}${fmtShape(target.shape)}`,
    );
  }
  checkIndices(target, { kind: 'target', size: logp.shape[cdim], ignore: ignoreIndex });
  const valid = target.ne(ignoreIndex);
  const safe = where(valid, target, 0);
  const picked = logp.gather(cdim, safe.unsqueeze(cdim)).squeeze(cdim);
  // per-target weight w[y], 0 where ignored
  const wt = weight ? where(valid, weight.gather(0, safe.flatten()).reshape(want), 0) : valid.float();
  // zero where ignored through `where`, not the weight: a mean over no targets is 0/0 = NaN, and
  // its gradient must stay 0 there (PyTorch skips ignored rows) rather than 0 * inf = NaN
  const nll = where(valid, picked.neg().mul(wt), 0);
  const reduced = r === 'none' ? nll : r === 'sum' ? nll.sum() : nll.sum().div(wt.sum());
  return { reduced, valid, wt };
}

export interface NLLLossOptions {
  reduction?: Reduction;
  /** a manual rescaling weight for each class (1-D, C elements) */
  weight?: WeightLike;
  ignoreIndex?: number;
}

/** PyTorch's nn.NLLLoss: the input holds log-probabilities ([C], [N, C] or [N, C, d1, ...]) */
export class NLLLoss extends Module {
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  readonly weight: Tensor | null;

  constructor(opts: NLLLossOptions = {}) {
    super();
    checkOptions('NLLLoss', opts, ['reduction', 'weight', 'ignoreIndex']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.weight = classWeight('NLLLoss', opts.weight);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    const cdim = classDim('NLLLoss', input, this.weight);
    const opts = { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, cdim };
    return classNll('NLLLoss', input, target, opts).reduced;
  }
}

export interface CrossEntropyOptions extends NLLLossOptions {
  labelSmoothing?: number;
}

/**
 * log_softmax over the class dim (1, or 0 for an unbatched [C] input), then either
 * - class-index targets: NLLLoss's formula (classNll), plus label smoothing;
 * - probability targets (float, same shape as the input): -sum(target * logp [* weight]).
 */
export class CrossEntropyLoss extends Module {
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly weight: Tensor | null;

  constructor(opts: CrossEntropyOptions = {}) {
    super();
    checkOptions('CrossEntropyLoss', opts, ['reduction', 'weight', 'ignoreIndex', 'labelSmoothing']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) {
      throw new KilnError(`label_smoothing must be between 0.0 and 1.0. Got: ${this.labelSmoothing}`);
    }
    this.weight = classWeight('CrossEntropyLoss', opts.weight);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    const cdim = classDim('CrossEntropyLoss', input, this.weight);
    const c = input.shape[cdim];
    const logp = input.logSoftmax(cdim);
    const wb = this.weight?.reshape(input.shape.map((_, i) => (i === cdim ? c : 1)));
    if (target.dtype === 'float32') return this.probTarget(input, target, logp, wb, cdim, c);
    return this.indexTarget(target, logp, wb, cdim, c);
  }

  private probTarget(
    input: Tensor,
    target: Tensor,
    logp: Tensor,
    wb: Tensor | undefined,
    cdim: number,
    c: number,
  ): Tensor {
    if (target.shape.join() !== input.shape.join()) {
      throw new KilnError(
        `CrossEntropyLoss: probability targets must have the input's shape: input ${fmtShape(input.shape)}, ` +
          `target ${fmtShape(target.shape)} (class indices must be int32)`,
      );
    }
    // PyTorch takes any negative ignore_index here (it matches no probability) and refuses the rest
    if (this.ignoreIndex >= 0) {
      throw new KilnError('CrossEntropyLoss: ignore_index is not supported for floating point target');
    }
    const ls = this.labelSmoothing;
    const t = ls > 0 ? target.mul(1 - ls).add(ls / c) : target;
    const prod = wb ? logp.mul(t).mul(wb) : logp.mul(t);
    if (this.reduction === 'none') return prod.sum(cdim).neg();
    if (this.reduction === 'sum') return prod.sum().neg();
    return prod
      .sum()
      .neg()
      .div(input.numel() / c);
  }

  private indexTarget(target: Tensor, logp: Tensor, wb: Tensor | undefined, cdim: number, c: number): Tensor {
    const r = this.reduction;
    const opts = { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: r, cdim };
    const { reduced: nllRed, valid, wt } = classNll('CrossEntropyLoss', logp, target, opts);
    const ls = this.labelSmoothing;
    if (ls === 0) return nllRed;
    // the uniform term: -sum_c logp[c] (* w[c]), zero where ignored
    const smooth = where(valid, (wb ? logp.mul(wb) : logp).sum(cdim).neg(), 0);
    const smoothRed =
      r === 'none'
        ? smooth
        : r === 'sum'
          ? smooth.sum()
          : smooth.sum().div(this.weight ? wt.sum() : valid.float().sum());
    return nllRed.mul(1 - ls).add(smoothRed.mul(ls / c));
  }
}

export class MSELoss extends Module {
  readonly reduction: Reduction;
  constructor(opts: { reduction?: Reduction } = {}) {
    super();
    checkOptions('MSELoss', opts, ['reduction']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    const d = difference('MSELoss', input, target);
    return reduce(d.mul(d), this.reduction);
  }
}
