// Reverse-mode autodiff over the traced graph: `loss.backward()` walks the nodes that depend on
// something requiring grad, from the loss back to the leaves, applying one vector-Jacobian rule
// per op (PyTorch's formulas, in the op catalog ir/ops.ts) and summing where a value fans out.
// Broadcasting is explicit in the graph (`expand`), so reducing broadcast dimensions is just
// expand's rule. `backward` is a method group of the Tensor class: tensor.ts loads it (see
// tensor-class.ts's addMethods).
import type { Node } from './ir/graph.js';
import { toposort } from './ir/graph.js';
import { OPS, type AnyOpDef } from './ir/ops.js';
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { Tensor, addMethods, gradNodes, leafTensors, noGrad } from './tensor-class.js';
import { ones, where } from './tensor-create.js';
import { customVjp } from './tensor-grad.js';
import { takeAfterBackward } from './trace-context.js';

const T = (n: Node) => Tensor.fromNode(n);

/**
 * Computes d(root)/d(leaf) for every leaf reachable from root, calling `deliver` for each, and
 * `enter` for each node whose backward rule it is about to apply.
 */
export function gradients(
  root: Tensor,
  seed: Tensor,
  deliver: (leaf: Tensor, g: Tensor) => void,
  enter: (n: Node) => void = () => {},
): void {
  const order = toposort([root.node]).filter((n) => gradNodes.has(n));
  const grads = new Map<number, Tensor>([[root.node.id, seed]]);
  const accumulate = (n: Node, g: Tensor) => {
    const prev = grads.get(n.id);
    grads.set(n.id, prev ? prev.add(g) : g);
  };
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    const g = grads.get(n.id);
    if (!g) continue;
    const leaf = leafTensors.get(n);
    if (leaf) {
      deliver(leaf, g);
      continue;
    }
    enter(n);
    const custom = customVjp.get(n);
    if (custom) {
      custom.vjp(g).forEach((gi, j) => {
        if (gi && gradNodes.has(custom.inputs[j].node)) accumulate(custom.inputs[j].node, gi);
      });
      continue;
    }
    const def: AnyOpDef = OPS[n.op];
    if (!def.vjp) throw new KilnError(`no gradient rule for ${n.op}`);
    def.vjp({ n, g, out: T(n), src: (j) => T(n.src[j]), where }).forEach((gi, j) => {
      const s = n.src[j];
      if (gi && gradNodes.has(s)) {
        accumulate(s, gi.shape.join() === s.shape.join() ? gi : gi.reshape(s.shape as number[]));
      }
    });
  }
}

// PyTorch frees the values a graph saved for its backward when backward() is done (unless
// retain_graph): walking such a node again is an error, not a second, doubled gradient.
const SECOND_BACKWARD =
  'Trying to backward through the graph a second time (or directly access saved tensors after ' +
  'they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or ' +
  'autograd.grad(). Specify retainGraph: true if you need to backward through the graph a second time or if you need ' +
  'to access saved tensors after calling backward.';
/** nodes whose saved values a backward() without retainGraph has freed */
const freed = new WeakSet<Node>();
function savesValues(n: Node): boolean {
  if (customVjp.has(n)) return true;
  const def: AnyOpDef = OPS[n.op];
  return def.saves(n, (s) => gradNodes.has(s));
}

export interface BackwardOptions {
  /** keep the graph's saved values so that it can be walked again (PyTorch's retain_graph) */
  retainGraph?: boolean;
}

function backward(t: Tensor, gradientOrOptions?: Tensor | BackwardOptions | null, options?: BackwardOptions): void {
  const gradient = gradientOrOptions instanceof Tensor ? gradientOrOptions : undefined;
  const opts = gradientOrOptions instanceof Tensor || !gradientOrOptions ? options : gradientOrOptions;
  checkOptions('backward', opts, ['retainGraph']);
  if (!gradNodes.has(t.node)) {
    throw new KilnError('element 0 of tensors does not require grad and does not have a grad_fn');
  }
  if (!gradient && t.numel() !== 1) throw new KilnError('grad can be implicitly created only for scalar outputs');
  const seed = gradient ?? ones(t.shape);
  // every gradient is computed before any leaf changes: a second walk of a freed graph changes nothing
  const delivered: [Tensor, Tensor][] = [];
  const walked: Node[] = [];
  noGrad(() =>
    gradients(
      t,
      seed,
      (leaf, g) => delivered.push([leaf, g]),
      (n) => {
        if (freed.has(n)) throw new KilnError(SECOND_BACKWARD);
        walked.push(n);
      },
    ),
  );
  if (!opts?.retainGraph) for (const n of walked) if (savesValues(n)) freed.add(n);
  // gradients are plain values (no create_graph); leaves accumulate into .grad, as PyTorch does
  noGrad(() => {
    for (const [leaf, g] of delivered) {
      const prev = leaf.grad;
      leaf.grad = prev ? prev.add(g) : g;
    }
  });
  for (const hook of takeAfterBackward()) noGrad(hook);
}

const autodiff = {
  /** `backward()`, `backward(gradient)`, `backward({ retainGraph })` or `backward(gradient, { retainGraph })` */
  backward(this: Tensor, gradientOrOptions?: Tensor | BackwardOptions | null, options?: BackwardOptions): void {
    backward(this, gradientOrOptions, options);
  },
};

type Autodiff = typeof autodiff;
declare module './tensor-class.js' {
  interface Tensor extends Autodiff {}
}
addMethods(autodiff);
