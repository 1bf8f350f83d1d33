// The elementwise regression losses (L1Loss, SmoothL1Loss, HuberLoss) with torch 1.13's formulas
// (aten/src/ATen/native/Loss.cpp and their backward in BinaryOps/PointwiseOps).
import { KilnError, fmtShape } from '../errors.js';
import { type Tensor, where } from '../tensor.js';
import { Module } from './module.js';
import { checkOptions } from '../options.js';
import { checkReduction, difference, reduce, type Reduction } from './loss.js';

/** |x - y|; its gradient is sign(x - y), 0 at x = y as PyTorch's sgn backward */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1_loss', opts, ['reduction']);
  const r = checkReduction(opts.reduction ?? 'mean');
  const d = difference('L1Loss', input, target);
  return reduce(d.abs(), r);
}

/**
 * 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta = 0 is L1 (PyTorch's special case, which
 * also avoids 0/0; known gap: at beta = 0 and d = 0 PyTorch's backward gives +1 to both input and target,
 * kiln's |d| gives 0). The branch at |d| = beta is the linear one, whose gradient sign(d) equals d / beta there.
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction; beta?: number } = {},
): Tensor {
  checkOptions('smooth_l1_loss', opts, ['reduction', 'beta']);
  const r = checkReduction(opts.reduction ?? 'mean');
  const beta = opts.beta ?? 1;
  if (beta < 0) throw new KilnError('smooth_l1_loss does not support negative values for beta.');
  const d = difference('SmoothL1Loss', input, target);
  if (beta === 0) return reduce(d.abs(), r);
  const ad = d.abs();
  return reduce(where(ad.lt(beta), d.mul(d).mul(0.5 / beta), ad.sub(0.5 * beta)), r);
}

/** 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): SmoothL1 with beta = delta, times delta */
export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor {
  checkOptions('huber_loss', opts, ['reduction', 'delta']);
  const r = checkReduction(opts.reduction ?? 'mean');
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new KilnError('huber_loss does not support non-positive values for delta.');
  const d = difference('HuberLoss', input, target);
  const ad = d.abs();
  return reduce(where(ad.lt(delta), d.mul(d).mul(0.5), ad.sub(0.5 * delta).mul(delta)), r);
}

export class L1Loss extends Module {
  readonly reduction: Reduction;
  constructor(opts: { reduction?: Reduction } = {}) {
    super();
    checkOptions('L1Loss', opts, ['reduction']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

export class SmoothL1Loss extends Module {
  readonly reduction: Reduction;
  readonly beta: number;
  constructor(opts: { reduction?: Reduction; beta?: number } = {}) {
    super();
    checkOptions('SmoothL1Loss', opts, ['reduction', 'beta']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.beta = opts.beta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

export class HuberLoss extends Module {
  readonly reduction: Reduction;
  readonly delta: number;
  constructor(opts: { reduction?: Reduction; delta?: number } = {}) {
    super();
    checkOptions('HuberLoss', opts, ['reduction', 'delta']);
    this.reduction = checkReduction(opts.reduction ?? 'mean');
    this.delta = opts.delta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}
