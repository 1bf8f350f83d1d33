// The probability losses (BCELoss, BCEWithLogitsLoss, KLDivLoss) with torch 1.13's forward formulas
// (aten/src/ATen/native/Loss.cpp, BinaryCrossEntropy.cpp) and, where 1.13 has its own backward
// formula rather than autograd of the forward, that formula (FunctionsManual.cpp).
import { KilnError, fmtShape } from '../errors.js';
import { type Tensor, where, withVjp } from '../tensor.js';
import { Module } from './module.js';
import { checkOptions } from '../options.js';
import { checkFloat, checkReduction, reduce, weightTensor, type Reduction, type WeightLike } from './loss.js';

/** a weight option, detached (PyTorch's are not differentiable), that must broadcast to the input's shape */
function weightFor(name: string, what: string, w: WeightLike, shape: number[]): Tensor | null {
  const t = weightTensor(w)?.detach();
  if (!t) return null;
  const fits = t.ndim <= shape.length && t.shape.every((n, i) => n === 1 || n === shape[shape.length - t.ndim + i]);
  if (t.dtype !== 'float32' || !fits) {
    throw new KilnError(
      `${name}: ${what} must be a float32 tensor that broadcasts to the input's shape ${fmtShape(shape)}, ` +
        `got ${t.dtype}${fmtShape(t.shape)}`,
    );
  }
  return t;
}

export interface BCELossOptions {
  /** rescales each element's loss; broadcast to the input's shape */
  weight?: WeightLike;
  reduction?: Reduction;
}

/**
 * -w (y log x + (1 - y) log(1 - x)) with each log clamped to >= -100 (PyTorch's, so x = 0 or 1 gives a
 * finite loss), and 1.13's backward: input g w (x - y) / max(x (1 - x), 1e-12), target -g w logit(x).
 * log(1 - x) as 1.13's CPU kernel computes it (not log1p(-x): the golden with x = 1e-4 tells them apart).
 * That x lies in [0, 1] is a runtime check in PyTorch that a traced program cannot make.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BCELossOptions = {}): Tensor {
  checkOptions('binary_cross_entropy', opts, ['weight', 'reduction']);
  const r = checkReduction(opts.reduction ?? 'mean');
  checkFloat('BCELoss', input, target);
  if (input.shape.join() !== target.shape.join()) {
    throw new KilnError(
      `BCELoss: Using a target size (${fmtShape(target.shape)}) that is different to the input size ` +
        `(${fmtShape(input.shape)}) is deprecated. Please ensure they have the same size.`,
    );
  }
  const w = weightFor('BCELoss', 'weight', opts.weight, input.shape);
  const oneMinus = (t: Tensor) => t.neg().add(1);
  const x = input,
    y = target;
  let loss = y
    .sub(1)
    .mul(oneMinus(x).log().clamp(-100))
    .sub(y.mul(x.log().clamp(-100)));
  if (w) loss = loss.mul(w);
  const xd = x.detach(),
    yd = y.detach();
  loss = withVjp(loss, [x, y], (g) => {
    const gw = w ? g.mul(w) : g;
    const gx = gw.mul(xd.sub(yd)).div(oneMinus(xd).mul(xd).maximum(1e-12));
    const gy = gw.mul(xd.div(oneMinus(xd)).log().neg()); // -logit(x)
    return [gx, gy];
  });
  return reduce(loss, r);
}

export interface BCEWithLogitsLossOptions extends BCELossOptions {
  /** the weight of positive examples, broadcast over the input (a [C] tensor weighs each class) */
  posWeight?: WeightLike;
}

/**
 * (1 - y) x + lw (log(exp(-m) + exp(-x - m)) + m), m = max(-x, 0), lw = 1 + (pw - 1) y: PyTorch 1.13's
 * numerically stable form, times the weight; its backward: input g w ((pw y + 1 - y) sigmoid(x) - pw y),
 * target g w (log_sigmoid(-x) - pw log_sigmoid(x)) (-g w x without posWeight).
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: BCEWithLogitsLossOptions = {},
): Tensor {
  checkOptions('binary_cross_entropy_with_logits', opts, ['weight', 'posWeight', 'reduction']);
  const r = checkReduction(opts.reduction ?? 'mean');
  checkFloat('BCEWithLogitsLoss', input, target);
  if (input.shape.join() !== target.shape.join()) {
    throw new KilnError(
      `BCEWithLogitsLoss: Target size (${fmtShape(target.shape)}) must be the same as input size ` +
        `(${fmtShape(input.shape)})`,
    );
  }
  const w = weightFor('BCEWithLogitsLoss', 'weight', opts.weight, input.shape);
  const pw = weightFor('BCEWithLogitsLoss', 'pos_weight', opts.posWeight, input.shape);
  const x = input,
    y = target;
  const m = x.neg().clamp(0);
  const lse = m.neg().exp().add(x.neg().sub(m).exp()).log().add(m);
  let loss = y
    .neg()
    .add(1)
    .mul(x)
    .add(pw ? pw.sub(1).mul(y).add(1).mul(lse) : lse);
  if (w) loss = loss.mul(w);
  const xd = x.detach(),
    yd = y.detach();
  // log_sigmoid as PyTorch's CPU kernel: min(x, 0) - log(1 + exp(-|x|))
  const logSigmoid = (t: Tensor) => t.minimum(0).sub(t.abs().neg().exp().add(1).log());
  loss = withVjp(loss, [x, y], (g) => {
    const gw = w ? g.mul(w) : g;
    if (!pw) return [gw.mul(xd.sigmoid().sub(yd)), gw.mul(xd).neg()];
    const t = pw.mul(yd);
    const gx = gw.mul(t.add(1).sub(yd).mul(xd.sigmoid()).sub(t));
    const gy = gw.mul(logSigmoid(xd.neg()).sub(logSigmoid(xd).mul(pw)));
    return [gx, gy];
  });
  return reduce(loss, r);
}

export type KLDivReduction = Reduction | 'batchmean';
export interface KLDivLossOptions {
  reduction?: KLDivReduction;
  /** the target holds log-probabilities */
  logTarget?: boolean;
}

/**
 * Pointwise KL: exp(t) (t - x) with logTarget, else t (log t - x) with 0 where t = 0 (PyTorch's
 * xlogy(t, t) - t x). 'batchmean' divides the sum by the batch size (the KL divergence's definition);
 * 'mean' divides by every element, with PyTorch's warning. Known gap: at t = 0 PyTorch's gradient for
 * the target is NaN (0 / 0 in xlogy's backward), kiln's is -x.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KLDivLossOptions = {}): Tensor {
  checkOptions('kl_div', opts, ['reduction', 'logTarget']);
  const red = opts.reduction ?? 'mean';
  if (red !== 'batchmean') checkReduction(red);
  checkFloat('KLDivLoss', input, target);
  if (red === 'mean') {
    console.warn(
      "reduction: 'mean' divides the total loss by both the batch size and the support size." +
        "'batchmean' divides only by the batch size, and aligns with the KL div math definition." +
        "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
    );
  }
  let out: Tensor;
  if (opts.logTarget) out = target.exp().mul(target.sub(input));
  else {
    // log of 1 where t = 0 so that neither value nor gradient meets log(0)
    const zero = target.eq(0);
    out = where(zero, 0, target.mul(where(zero, 1, target).log())).sub(target.mul(input));
  }
  if (red !== 'batchmean') return reduce(out, red);
  return input.ndim === 0 ? out.sum() : out.sum().div(input.shape[0]);
}

export class BCELoss extends Module {
  readonly reduction: Reduction;
  readonly weight: Tensor | null;
  constructor(opts: BCELossOptions = {}) {
    super();
    checkOptions('BCELoss', opts, ['weight', 'reduction']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.weight = weightTensor(opts.weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends Module {
  readonly reduction: Reduction;
  readonly weight: Tensor | null;
  readonly posWeight: Tensor | null;
  constructor(opts: BCEWithLogitsLossOptions = {}) {
    super();
    checkOptions('BCEWithLogitsLoss', opts, ['weight', 'posWeight', 'reduction']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.weight = weightTensor(opts.weight);
    this.posWeight = weightTensor(opts.posWeight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    const opts = { weight: this.weight, posWeight: this.posWeight, reduction: this.reduction };
    return binaryCrossEntropyWithLogits(input, target, opts);
  }
}

export class KLDivLoss extends Module {
  readonly reduction: KLDivReduction;
  readonly logTarget: boolean;
  constructor(opts: KLDivLossOptions = {}) {
    super();
    checkOptions('KLDivLoss', opts, ['reduction', 'logTarget']);
    this.reduction = opts.reduction ?? 'mean';
    if (this.reduction !== 'batchmean') checkReduction(this.reduction);
    this.logTarget = opts.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}
