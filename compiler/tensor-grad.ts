// What autodiff needs to know about tensors, kept below the Tensor class so that composite ops
// (tensor-elementwise.ts, nn layers) can declare their backward without importing it.
import type { Node } from './ir/graph.js';
import type { Tensor } from './tensor.js';

/** nodes whose value depends on something that requires grad */
export const gradNodes = new WeakSet<Node>();
/** leaf nodes -> the tensor whose `.grad` receives their gradient */
export const leafTensors = new WeakMap<Node, Tensor>();
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
