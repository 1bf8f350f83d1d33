// Which axes a reduction reduces, with PyTorch's rules for the two edge cases: a 0-d tensor
// reduces over dim 0 or -1 as if it were 1-d with one element (the result is the value itself),
// and a max-like reduction (max, amax, argmax, ...) has no identity, so it refuses an empty dim.
// Tensor's reductions over those axes, and the softmax family, composites of reductions with
// PyTorch's backward. A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError, fmtShape } from './errors.js';
import type { Shape } from './ir/graph.js';
import { numel } from './ir/graph.js';
import { Tensor, addMethods } from './tensor-class.js';
import { arange, full, where } from './tensor-create.js';
import { withVjp } from './tensor-grad.js';
import { normDim } from './tensor-shape.js';

/** the wrapped axes `dim` names (all of them when undefined or [], PyTorch 1.13's rule); none for 0-d */
function reductionAxes(name: string, dim: number | number[] | undefined, shape: Shape): number[] {
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return shape.map((_, i) => i);
  const axes = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(name, d, shape.length, shape));
  return shape.length === 0 ? [] : axes;
}

/**
 * PyTorch's zero_numel_check_dims for max-like reductions of an empty tensor. `amax`/`amin` name
 * the dim as given, `max`/`min`/`argmax` wrapped (as PyTorch 1.13 does); no dim at all is refused.
 */
function checkMaxReduction(name: string, dim: number | number[] | undefined, shape: Shape): void {
  if (numel(shape) !== 0) return;
  const dims = dim === undefined ? [] : Array.isArray(dim) ? dim : [dim];
  if (!dims.length) {
    const hint = name.startsWith('arg') ? '' : " Specify the reduction dim with the 'dim' argument.";
    throw new KilnError(`${name}(): Expected reduction dim to be specified for input.numel() == 0.${hint}`);
  }
  const shown = name === 'amax' || name === 'amin';
  for (const d of dims) {
    const axis = normDim(name, d, shape.length, shape);
    if (shape[axis] === 0) {
      throw new KilnError(`${name}(): Expected reduction dim ${shown ? d : axis} to have non-zero size.`);
    }
  }
}

function logSoftmaxImpl(x: Tensor, dim: number): Tensor {
  const d = normDim('log_softmax', dim, x.ndim, x.shape);
  if (x.dtype !== 'float32') {
    throw new KilnError(`log_softmax: expected a floating point input, got ${x.dtype}${fmtShape(x.shape)}`);
  }
  // the row max only shifts for stability: an empty input has no rows and needs no check
  const shifted = x.sub(x.numel() ? x.detach().amax(d, true) : x.detach());
  const out = shifted.sub(shifted.exp().sum(d, true).log());
  // PyTorch's log_softmax_backward: g - exp(out) * sum(g)
  return withVjp(out, [x], (g) => [g.sub(out.detach().exp().mul(g.sum(d, true)))]);
}

function reduce(self: Tensor, op: 'sum' | 'rmax', name: string, dim?: number | number[], keepdim = false): Tensor {
  const dims = reductionAxes(name, dim, self.shape);
  const x = op === 'sum' && self.dtype === 'bool' ? self.to('int32') : self;
  if (op === 'rmax') checkMaxReduction(name, dim, self.shape);
  const kept = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const r = dims.length === 0 ? x : Tensor.derive(op, [x], kept, x.dtype, { axes: [...dims].sort((a, b) => a - b) });
  return keepdim ? r : r.reshape(x.shape.filter((_, i) => !dims.includes(i)));
}

function maxValues(self: Tensor, name: string, dim?: number, keepdim = false): Tensor {
  const values = reduce(self, 'rmax', name, dim, keepdim);
  if (dim === undefined || self.ndim === 0 || !values.requiresGrad) return values;
  // PyTorch's max(dim) backward sends the gradient to the index it returns (the first maximum);
  // amax and the global max() share it among ties
  const d = normDim(name, dim, self.ndim, self.shape),
    x = self;
  return withVjp(values, [x], (g) => {
    const idx = arange(x.shape[d]).reshape(x.shape.map((s, i) => (i === d ? s : 1)));
    const first = idx.expand(x.shape).eq(x.detach().argmax(d, true).expand(x.shape));
    return [where(first, (keepdim ? g : g.unsqueeze(d)).expand(x.shape), 0)];
  });
}

function argmaxImpl(x: Tensor, name: string, dim: number | undefined, keepdim: boolean): Tensor {
  checkMaxReduction(name, dim, x.shape);
  // no dim: the index into the flattened tensor (keepdim keeps every dim at size 1, as PyTorch's)
  if (dim === undefined) {
    const flat = argmaxImpl(x.reshape([-1]), name, 0, false);
    return keepdim ? flat.reshape(x.shape.map(() => 1)) : flat;
  }
  const d = normDim(name, dim, x.ndim, x.shape);
  if (x.ndim === 0) return full([], 0, 'int32'); // one element: index 0
  const m = x.amax(d, true);
  const idx = arange(x.shape[d]).reshape(x.shape.map((s, i) => (i === d ? s : 1)));
  // first index reaching the max, as PyTorch returns
  const cand = where(x.eq(m), idx.expand(x.shape), x.shape[d]);
  return cand.neg().amax(d, keepdim).neg();
}

/** what PyTorch's max(dim) and min(dim) return: the values and the index of each (the first one) */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** PyTorch's `max()`: the largest element; `max(dim, keepdim)`: values and first indices along `dim` */
function maxMethod(this: Tensor): Tensor;
function maxMethod(this: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
function maxMethod(this: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  const values = maxValues(this, 'max', dim, keepdim);
  if (dim === undefined) return values;
  return { values, indices: argmaxImpl(this.detach(), 'max', dim, keepdim) };
}

/** PyTorch's `min()` and `min(dim, keepdim)`, as max of the negation */
function minMethod(this: Tensor): Tensor;
function minMethod(this: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
function minMethod(this: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  const values = maxValues(this.neg(), 'min', dim, keepdim).neg();
  if (dim === undefined) return values;
  return { values, indices: argmaxImpl(this.detach().neg(), 'min', dim, keepdim) };
}

const reductions = {
  sum(this: Tensor, dim?: number | number[], keepdim = false): Tensor {
    return reduce(this, 'sum', 'sum', dim, keepdim);
  },
  mean(this: Tensor, dim?: number | number[], keepdim = false): Tensor {
    if (this.dtype !== 'float32') {
      throw new KilnError(
        'mean(): could not infer output dtype. Input dtype must be a floating point dtype. ' +
          `Got: ${this.dtype}${fmtShape(this.shape)} (use .float() first)`,
      );
    }
    const dims = reductionAxes('mean', dim, this.shape);
    const count = dims.reduce((a, d) => a * this.shape[d], 1);
    return this.float().sum(dims, keepdim).div(count);
  },
  /** values of the maximum over `dim` (PyTorch's `amax`; `max()` with no dim is the global max) */
  amax(this: Tensor, dim?: number | number[], keepdim = false): Tensor {
    return reduce(this, 'rmax', 'amax', dim, keepdim);
  },
  max: maxMethod,
  amin(this: Tensor, dim?: number | number[], keepdim = false): Tensor {
    return reduce(this.neg(), 'rmax', 'amin', dim, keepdim).neg();
  },
  min: minMethod,
  /** PyTorch's `argmax`: the first index of the maximum along `dim` (of the flattened tensor without one) */
  argmax(this: Tensor, dim?: number, keepdim = false): Tensor {
    return argmaxImpl(this, 'argmax', dim, keepdim);
  },
  /** PyTorch's `argmin`: the first index of the minimum */
  argmin(this: Tensor, dim?: number, keepdim = false): Tensor {
    return argmaxImpl(this.neg(), 'argmin', dim, keepdim);
  },
  logSoftmax(this: Tensor, dim: number): Tensor {
    return logSoftmaxImpl(this, dim);
  },
  softmax(this: Tensor, dim: number): Tensor {
    return this.logSoftmax(dim).exp();
  },
};

type Reductions = typeof reductions;
declare module './tensor-class.js' {
  interface Tensor extends Reductions {}
}
addMethods(reductions);
