// Reverse-mode autodiff over the traced graph: `loss.backward()` walks the nodes that depend on
// something requiring grad, from the loss back to the leaves, applying one vector-Jacobian rule
// per op (PyTorch's formulas) and summing where a value fans out. Broadcasting is explicit in the
// graph (`expand`), so reducing broadcast dimensions is just expand's rule.
import type { Node } from './ir/graph.js';
import { toposort } from './ir/graph.js';
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { Tensor, customVjp, gradNodes, leafTensors, noGrad, ones, where, setBackward } from './tensor.js';

const T = (n: Node) => Tensor.fromNode(n);

type Rule = (n: Node, g: Tensor, out: Tensor) => (Tensor | null)[];

/** unexpand: sums `g` (of the expanded shape) back to `shape` */
function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const axes = shape.map((d, i) => (d === 1 && g.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  return axes.length ? g.sum(axes, true) : g;
}

const rules: Record<string, Rule> = {
  neg: (_n, g) => [g.neg()],
  exp: (_n, g, out) => [g.mul(out)],
  log: (n, g) => [g.div(T(n.src[0]))],
  sqrt: (_n, g, out) => [g.div(out.mul(2))],
  abs: (n, g) => [g.mul(T(n.src[0]).sign())],
  recip: (_n, g, out) => [g.neg().mul(out).mul(out)],
  cast: (n, g) => [n.src[0].dtype === 'float32' ? g.to('float32') : null],
  add: (_n, g) => [g, g],
  sub: (_n, g) => [g, g.neg()],
  mul: (n, g) => [g.mul(T(n.src[1])), g.mul(T(n.src[0]))],
  div: (n, g) => {
    const a = T(n.src[0]), b = T(n.src[1]);
    return [g.div(b), g.neg().mul(a).div(b.mul(b))];
  },
  // PyTorch splits the gradient evenly between equal inputs of maximum/minimum
  max: (n, g) => minmax(n, g, 'gt'),
  min: (n, g) => minmax(n, g, 'lt'),
  pow: (n, g, out) => {
    const a = T(n.src[0]), b = T(n.src[1]);
    const db = n.src[1].op === 'const' ? null : g.mul(out).mul(where(a.gt(0), a.log(), 0));
    // grad * exponent * x^(exponent-1), with exponent 0 giving 0 as PyTorch does
    const da = where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1))));
    return [da, db];
  },
  // fma(a, b, c) = a*b + c: PyTorch's add(self, other, alpha) gives other the gradient g * alpha
  fma: (n, g) => [g.mul(T(n.src[1])), g.mul(T(n.src[0])), g],
  where: (n, g) => {
    const c = T(n.src[0]);
    return [null, where(c, g, 0), where(c, 0, g)];
  },
  sum: (n, g) => [g.expand(n.src[0].shape as number[])],
  rmax: (n, g, out) => {
    // amax's backward: the gradient is shared evenly among the elements equal to the max
    const x = T(n.src[0]);
    const mask = x.eq(out.expand(x.shape)).float();
    return [mask.div(mask.sum(n.arg.axes, true)).mul(g.expand(x.shape))];
  },
  reshape: (n, g) => [g.reshape(n.src[0].shape as number[])],
  permute: (n, g) => {
    const inv: number[] = [];
    n.arg.order.forEach((d: number, i: number) => { inv[d] = i; });
    return [g.permute(inv)];
  },
  expand: (n, g) => [sumTo(g, n.src[0].shape)],
  slice: (n, g) => {
    // scatter g back into zeros: a strided dim interleaves zeros (pad a new axis, merge it), then
    // every dim is cut/padded into place
    const xs = n.src[0].shape;
    let r = g;
    n.arg.steps.forEach((s: number, d: number) => {
      if (s === 1) return;
      const sh = r.shape, len = sh[d];
      r = r.unsqueeze(d + 1).pad([...sh, 1].map((_, i) => (i === d + 1 ? [0, s - 1] : [0, 0]) as [number, number]));
      sh[d] = len * s;
      r = r.reshape(sh).slice(d, 0, Math.min(len * s, xs[d] - n.arg.starts[d]));
    });
    return [r.pad(xs.map((size, i) => [n.arg.starts[i], size - n.arg.starts[i] - r.shape[i]] as [number, number]))];
  },
  pad: (n, g) => [n.src[0].shape.reduce((t: Tensor, d, i) => t.slice(i, n.arg.before[i], n.arg.before[i] + d), g)],
  // a draw (rand/randn) is constant in its sources (the key and offset scalars): no gradient
  random: (n) => n.src.map(() => null),
};

function minmax(n: Node, g: Tensor, win: 'gt' | 'lt'): Tensor[] {
  const a = T(n.src[0]), b = T(n.src[1]);
  const half = where(a.eq(b), g.div(2), g);
  return [where(a[win](b), g, where(a.eq(b), half, 0)), where(b[win](a), g, where(a.eq(b), half, 0))];
}

/**
 * Computes d(root)/d(leaf) for every leaf reachable from root, calling `deliver` for each, and
 * `enter` for each node whose backward rule it is about to apply.
 */
export function gradients(root: Tensor, seed: Tensor, deliver: (leaf: Tensor, g: Tensor) => void,
  enter: (n: Node) => void = () => {}): void {
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
    if (leaf) { deliver(leaf, g); continue; }
    enter(n);
    const custom = customVjp.get(n);
    if (custom) {
      custom.vjp(g).forEach((gi, j) => {
        if (gi && gradNodes.has(custom.inputs[j].node)) accumulate(custom.inputs[j].node, gi);
      });
      continue;
    }
    const rule = rules[n.op];
    if (!rule) throw new KilnError(`no gradient rule for ${n.op}`);
    rule(n, g, T(n)).forEach((gi, j) => {
      const s = n.src[j];
      if (gi && gradNodes.has(s)) {
        accumulate(s, gi.shape.join() === s.shape.join() ? gi : gi.reshape(s.shape as number[]));
      }
    });
  }
}

// PyTorch frees the values a graph saved for its backward when backward() is done (unless
// retain_graph): walking such a node again is an error, not a second, doubled gradient.
const SECOND_BACKWARD = 'Trying to backward through the graph a second time (or directly access saved tensors after '
  + 'they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or '
  + 'autograd.grad(). Specify retainGraph: true if you need to backward through the graph a second time or if you need '
  + 'to access saved tensors after calling backward.';
/** nodes whose saved values a backward() without retainGraph has freed */
const freed = new WeakSet<Node>();
/** ops whose backward reads no forward value (PyTorch saves no tensor for them) */
const savesNothing = new Set(['neg', 'add', 'sub', 'cast', 'sum', 'reshape', 'permute', 'expand', 'slice', 'pad']);
const isConstant = (n: Node): boolean =>
  n.op === 'const' || n.op === 'scalar' || ((n.op === 'expand' || n.op === 'reshape') && isConstant(n.src[0]));

function savesValues(n: Node): boolean {
  if (customVjp.has(n)) return true;
  // fma(a, b, c): a's gradient is g * b, b's is g * a; add(x, y, alpha) multiplies by a constant
  if (n.op === 'fma') {
    const [a, b] = n.src;
    return (gradNodes.has(a) && !isConstant(b)) || (gradNodes.has(b) && !isConstant(a));
  }
  return !savesNothing.has(n.op);
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
  noGrad(() => gradients(t, seed, (leaf, g) => delivered.push([leaf, g]), (n) => {
    if (freed.has(n)) throw new KilnError(SECOND_BACKWARD);
    walked.push(n);
  }));
  if (!opts?.retainGraph) for (const n of walked) if (savesValues(n)) freed.add(n);
  // gradients are plain values (no create_graph); leaves accumulate into .grad, as PyTorch does
  noGrad(() => {
    for (const [leaf, g] of delivered) {
      const prev = leaf.grad;
      leaf.grad = prev ? prev.add(g) : g;
    }
  });
}

setBackward(backward);
