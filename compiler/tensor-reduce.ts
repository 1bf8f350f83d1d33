// Which axes a reduction reduces, with PyTorch's rules for the two edge cases: a 0-d tensor
// reduces over dim 0 or -1 as if it were 1-d with one element (the result is the value itself),
// and a max-like reduction (max, amax, argmax, ...) has no identity, so it refuses an empty dim.
// Also log_softmax, a composite of reductions with PyTorch's backward.
import { KilnError, fmtShape } from './errors.js';
import type { Shape } from './ir/graph.js';
import { numel } from './ir/graph.js';
import type { Tensor } from './tensor.js';
import { withVjp } from './tensor-grad.js';
import { normDim } from './tensor-shape.js';

/** the wrapped axes `dim` names (all of them when undefined or [], PyTorch 1.13's rule); none for 0-d */
export function reductionAxes(name: string, dim: number | number[] | undefined, shape: Shape): number[] {
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return shape.map((_, i) => i);
  const axes = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(name, d, shape.length, shape));
  return shape.length === 0 ? [] : axes;
}

/**
 * PyTorch's zero_numel_check_dims for max-like reductions of an empty tensor. `amax`/`amin` name
 * the dim as given, `max`/`min`/`argmax` wrapped (as PyTorch 1.13 does); no dim at all is refused.
 */
export function checkMaxReduction(name: string, dim: number | number[] | undefined, shape: Shape): void {
  if (numel(shape) !== 0) return;
  const dims = dim === undefined ? [] : Array.isArray(dim) ? dim : [dim];
  if (!dims.length) {
    const hint = name === 'argmax' ? '' : " Specify the reduction dim with the 'dim' argument.";
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

export function logSoftmaxImpl(x: Tensor, dim: number): Tensor {
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
