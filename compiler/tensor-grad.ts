// Composite ops with a backward rule of their own (logSoftmax, tanh, nn layers), kept below the
// method groups so that they can declare their backward without importing autodiff.
import type { Node } from './ir/graph.js';
import type { Tensor } from './tensor-class.js';

/** composite ops (logSoftmax, ...) whose backward is a rule of their own, like PyTorch's */
export const customVjp = new WeakMap<Node, { inputs: Tensor[]; vjp: (g: Tensor) => (Tensor | null)[] }>();

/**
 * A composite op with a backward of its own, like PyTorch's: `out` was built from `inputs` by
 * other ops, and autodiff applies `vjp` at `out` instead of walking through them.
 */
export function withVjp(out: Tensor, inputs: Tensor[], vjp: (g: Tensor) => (Tensor | null)[]): Tensor {
  if (out.requiresGrad) customVjp.set(out.node, { inputs, vjp });
  return out;
}
