// The op catalog: every graph op once, as data (its name and category in op-names.ts). Each op's
// arity, dtype rule, scalar semantics (constant folding and both interpreters), vector-Jacobian
// rule (autodiff) and kernel function (kernel lowering) live in its entry here; every other
// module asks the catalog, so a new elementwise op is one entry below, its name in op-names.ts,
// plus one line per renderer (the renderers' tables are exhaustive Records over the kernel IR's
// UnaryFn/BinaryFn: a missing line does not compile).
import type { DType, Node, NodeOf } from './graph.js';
import type { BinaryFn, Expr, UnaryFn } from './kernel.js';
import { SCALAR_F32, erfWith, exprF32 } from './erf.js';
import { fmaf32 } from '../../targets/reference/fma.js';
import type { BinaryOp, CompareOp, ElementwiseOp, Op, UnaryOp } from './op-names.js';

// the op names and categories, so that the catalog is the one module op code imports
export * from './op-names.js';

/**
 * How an elementwise op's dtype follows its operands, which the DSL first promotes to a common
 * dtype: 'same' keeps it, 'float' computes in float32 (integer operands are cast), 'bool' gives bool.
 */
export type DTypeRule = 'same' | 'float' | 'bool';

/**
 * Scalar semantics, exact for the operand type: `f32` returns the float32 result (rounded once
 * where a float32 device rounds once), `int` the int32/bool result; absent, integers use `f32`.
 */
export interface Scalar<A extends number[]> {
  f32: (...a: A) => number;
  int?: (...a: A) => number;
}

/**
 * The tensor operations vector-Jacobian rules compute with, declared here so that the graph IR
 * does not depend on the DSL built on it: the DSL's Tensor has them all (T is that Tensor).
 */
export interface VjpTensor<T> {
  readonly shape: number[];
  neg(): T;
  exp(): T;
  log(): T;
  sign(): T;
  float(): T;
  to(dtype: DType): T;
  add(o: T | number): T;
  sub(o: T | number): T;
  mul(o: T | number): T;
  div(o: T | number): T;
  pow(o: T): T;
  eq(o: T | number): T;
  gt(o: T | number): T;
  lt(o: T | number): T;
  sum(axes: number[], keepdim: boolean): T;
  reshape(shape: number[]): T;
  permute(order: number[]): T;
  expand(shape: number[]): T;
  unsqueeze(dim: number): T;
  slice(dim: number, start: number, end: number): T;
  pad(pads: [number, number][]): T;
}

/** what a vector-Jacobian rule sees: the node, the gradient of its output, its output and sources */
export interface VjpArgs<K extends Op, T extends VjpTensor<T>> {
  n: NodeOf<K>;
  g: T;
  out: T;
  src: (i: number) => T;
  /** the DSL's `where(cond, a, b)`, scalars lifted to tensors */
  where: (cond: T, a: T | number, b: T | number) => T;
}

// (methods, not function properties: a rule of one op is then callable through the entry of any op)
interface Common<K extends Op> {
  /** number of sources (random: the 8 key/offset scalars) */
  arity: number;
  /** the gradients of the sources (null: none), PyTorch's formula; absent: the op has no gradient */
  vjp?<T extends VjpTensor<T>>(a: VjpArgs<K, T>): (T | null)[];
  /**
   * whether the backward reads forward values (PyTorch saves tensors for it, and a second
   * backward without retainGraph is an error); `needsGrad` says which sources receive a gradient
   */
  saves(n: NodeOf<K>, needsGrad: (s: Node) => boolean): boolean;
}
/** the part of an entry every op has, for code that handles any node */
export type AnyOpDef = Common<Op>;
interface Elementwise<A extends number[]> {
  dtype: DTypeRule;
  scalar: Scalar<A>;
}
/**
 * An op without a kernel function of its own: its value as kernel IR over the operand `a`, built
 * from other kernel functions; `bind` binds a value used more than once to a `let`.
 */
export type Expansion = (a: Expr, bind: (e: Expr) => Expr) => Expr;
interface UnaryDef<K extends Op> extends Common<K>, Elementwise<[number]> {
  kernel: UnaryFn | Expansion;
}
interface BinaryDef<K extends Op> extends Common<K>, Elementwise<[number, number]> {
  kernel: BinaryFn;
}
export type OpDef<K extends Op> = K extends UnaryOp
  ? UnaryDef<K>
  : K extends BinaryOp
    ? BinaryDef<K>
    : K extends 'fma'
      ? Common<K> & { scalar: Scalar<[number, number, number]> }
      : Common<K>;

const f = Math.fround;
// C++'s std::max/std::min on a tie (-0 and +0): the first operand, as PyTorch's clamp and maximum kernels
// (JS's Math.max orders -0 below +0, which a 1/x downstream tells apart)
const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? b : a);
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : b < a ? b : a);
const compare = (test: (a: number, b: number) => boolean): BinaryDef<CompareOp>['scalar'] => ({
  f32: (a, b) => +test(a, b),
});

/** a constant, or a broadcast/reshape of one (an add's alpha): multiplying by it needs no saved value */
const isConstant = (n: Node): boolean =>
  n.op === 'const' || n.op === 'scalar' || ((n.op === 'expand' || n.op === 'reshape') && isConstant(n.src[0]));

/** unexpand: sums `g` (of the expanded shape) back to `shape` */
function sumTo<T extends VjpTensor<T>>(g: T, shape: readonly number[]): T {
  const axes = shape.map((d, i) => (d === 1 && g.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  return axes.length ? g.sum(axes, true) : g;
}

/** PyTorch splits the gradient evenly between equal inputs of maximum/minimum */
function minmax<T extends VjpTensor<T>>({ g, src, where }: VjpArgs<'max' | 'min', T>, win: 'gt' | 'lt'): T[] {
  const a = src(0),
    b = src(1);
  const half = where(a.eq(b), g.div(2), g);
  return [where(a[win](b), g, where(a.eq(b), half, 0)), where(b[win](a), g, where(a.eq(b), half, 0))];
}

const saved = () => true,
  notSaved = () => false;
const noGradient = { saves: notSaved };

export const OPS: { readonly [K in Op]: OpDef<K> } = {
  // ---- unary
  neg: {
    arity: 1,
    kernel: 'neg',
    dtype: 'same',
    scalar: { f32: (a) => f(-a), int: (a) => -a | 0 },
    saves: notSaved,
    vjp: ({ g }) => [g.neg()],
  },
  exp: {
    arity: 1,
    kernel: 'exp',
    dtype: 'float',
    scalar: { f32: (a) => f(Math.exp(a)) },
    saves: saved,
    vjp: ({ g, out }) => [g.mul(out)],
  },
  log: {
    arity: 1,
    kernel: 'log',
    dtype: 'float',
    scalar: { f32: (a) => f(Math.log(a)) },
    saves: saved,
    vjp: ({ g, src }) => [g.div(src(0))],
  },
  sqrt: {
    arity: 1,
    kernel: 'sqrt',
    dtype: 'float',
    scalar: { f32: (a) => f(Math.sqrt(a)) },
    saves: saved,
    vjp: ({ g, out }) => [g.div(out.mul(2))],
  },
  abs: {
    arity: 1,
    kernel: 'abs',
    dtype: 'same',
    scalar: { f32: (a) => f(Math.abs(a)), int: (a) => Math.abs(a) | 0 },
    saves: saved,
    vjp: ({ g, src }) => [g.mul(src(0).sign())],
  },
  recip: {
    arity: 1,
    kernel: 'recip',
    dtype: 'float',
    scalar: { f32: (a) => f(1 / a) },
    saves: saved,
    vjp: ({ g, out }) => [g.neg().mul(out).mul(out)],
  },
  // torch.erf; its backward is PyTorch's 2/sqrt(pi) * exp(-x^2) * g
  erf: {
    arity: 1,
    kernel: (a, bind) => erfWith(exprF32(bind), a),
    dtype: 'float',
    scalar: { f32: (a) => erfWith(SCALAR_F32, a) },
    saves: saved,
    vjp: ({ g, src }) => {
      const x = src(0);
      return [
        x
          .mul(x)
          .neg()
          .exp()
          .mul(2 / Math.sqrt(Math.PI))
          .mul(g),
      ];
    },
  },

  // ---- binary arithmetic
  add: {
    arity: 2,
    kernel: 'add',
    dtype: 'same',
    scalar: { f32: (a, b) => f(a + b), int: (a, b) => (a + b) | 0 },
    saves: notSaved,
    vjp: ({ g }) => [g, g],
  },
  sub: {
    arity: 2,
    kernel: 'sub',
    dtype: 'same',
    scalar: { f32: (a, b) => f(a - b), int: (a, b) => (a - b) | 0 },
    saves: notSaved,
    vjp: ({ g }) => [g, g.neg()],
  },
  mul: {
    arity: 2,
    kernel: 'mul',
    dtype: 'same',
    scalar: { f32: (a, b) => f(a * b), int: Math.imul },
    saves: saved,
    vjp: ({ g, src }) => [g.mul(src(1)), g.mul(src(0))],
  },
  // integer division truncates toward zero
  div: {
    arity: 2,
    kernel: 'div',
    dtype: 'float',
    scalar: { f32: (a, b) => f(a / b), int: (a, b) => Math.trunc(a / b) | 0 },
    saves: saved,
    vjp: ({ g, src }) => {
      const a = src(0),
        b = src(1);
      return [g.div(b), g.neg().mul(a).div(b.mul(b))];
    },
  },
  // NaN wins, as in torch.maximum/minimum
  max: {
    arity: 2,
    kernel: 'max',
    dtype: 'same',
    scalar: { f32: (a, b) => f(nanMax(a, b)), int: Math.max },
    saves: saved,
    vjp: (a) => minmax(a, 'gt'),
  },
  min: {
    arity: 2,
    kernel: 'min',
    dtype: 'same',
    scalar: { f32: (a, b) => f(nanMin(a, b)), int: Math.min },
    saves: saved,
    vjp: (a) => minmax(a, 'lt'),
  },
  pow: {
    arity: 2,
    kernel: 'pow',
    dtype: 'float',
    scalar: { f32: (a, b) => f(Math.pow(a, b)), int: (a, b) => Math.pow(a, b) | 0 },
    saves: saved,
    vjp: ({ n, g, out, src, where }) => {
      const a = src(0),
        b = src(1);
      const db = n.src[1].op === 'const' ? null : g.mul(out).mul(where(a.gt(0), a.log(), 0));
      // grad * exponent * x^(exponent-1), with exponent 0 giving 0 as PyTorch does
      const da = where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1))));
      return [da, db];
    },
  },

  // ---- comparisons and logic: bool results, no gradient
  lt: { arity: 2, kernel: 'lt', dtype: 'bool', scalar: compare((a, b) => a < b), ...noGradient },
  le: { arity: 2, kernel: 'le', dtype: 'bool', scalar: compare((a, b) => a <= b), ...noGradient },
  gt: { arity: 2, kernel: 'gt', dtype: 'bool', scalar: compare((a, b) => a > b), ...noGradient },
  ge: { arity: 2, kernel: 'ge', dtype: 'bool', scalar: compare((a, b) => a >= b), ...noGradient },
  eq: { arity: 2, kernel: 'eq', dtype: 'bool', scalar: compare((a, b) => a === b), ...noGradient },
  ne: { arity: 2, kernel: 'ne', dtype: 'bool', scalar: compare((a, b) => a !== b), ...noGradient },
  and: { arity: 2, kernel: 'and', dtype: 'bool', scalar: compare((a, b) => a !== 0 && b !== 0), ...noGradient },
  or: { arity: 2, kernel: 'or', dtype: 'bool', scalar: compare((a, b) => a !== 0 || b !== 0), ...noGradient },

  // ---- the rest of the elementwise family
  cast: { arity: 1, saves: notSaved, vjp: ({ n, g }) => [n.src[0].dtype === 'float32' ? g.to('float32') : null] },
  where: {
    arity: 3,
    saves: saved,
    vjp: ({ g, src, where }) => {
      const c = src(0);
      return [null, where(c, g, 0), where(c, 0, g)];
    },
  },
  // fma(a, b, c) = a*b + c: PyTorch's add(self, other, alpha) gives other the gradient g * alpha
  fma: {
    arity: 3,
    scalar: { f32: fmaf32 },
    vjp: ({ g, src }) => [g.mul(src(1)), g.mul(src(0)), g],
    // a's gradient is g * b, b's is g * a; add(x, y, alpha) multiplies by a constant
    saves: ({ src: [a, b] }, needsGrad) => (needsGrad(a) && !isConstant(b)) || (needsGrad(b) && !isConstant(a)),
  },
  // a draw (rand/randn) is constant in its sources (the key and offset scalars): no gradient
  random: { arity: 8, saves: saved, vjp: ({ n }) => n.src.map(() => null) },

  // a collective: each rank's gradient flows back through its own input (torch.distributed's
  // all_reduce is not differentiated either; DistributedDataParallel reduces gradients, not values)
  allreduce: { arity: 1, saves: notSaved },

  // ---- reductions: reduced axes keep size 1
  sum: { arity: 1, saves: notSaved, vjp: ({ n, g }) => [g.expand(n.src[0].shape as number[])] },
  rmax: {
    arity: 1,
    saves: saved,
    vjp: ({ n, g, out, src }) => {
      // amax's backward: the gradient is shared evenly among the elements equal to the max
      const x = src(0);
      const mask = x.eq(out.expand(x.shape)).float();
      return [mask.div(mask.sum(n.arg.axes, true)).mul(g.expand(x.shape))];
    },
  },

  // ---- views: index maps over their source
  reshape: { arity: 1, saves: notSaved, vjp: ({ n, g }) => [g.reshape(n.src[0].shape as number[])] },
  permute: {
    arity: 1,
    saves: notSaved,
    vjp: ({ n, g }) => {
      const inv: number[] = [];
      n.arg.order.forEach((d, i) => {
        inv[d] = i;
      });
      return [g.permute(inv)];
    },
  },
  expand: { arity: 1, saves: notSaved, vjp: ({ n, g }) => [sumTo(g, n.src[0].shape)] },
  slice: {
    arity: 1,
    saves: notSaved,
    vjp: ({ n, g }) => {
      // scatter g back into zeros: a strided dim interleaves zeros (pad a new axis, merge it), then
      // every dim is cut/padded into place
      const xs = n.src[0].shape,
        { starts, steps } = n.arg;
      let r = g;
      steps.forEach((s, d) => {
        if (s === 1) return;
        const sh = r.shape,
          len = sh[d];
        r = r.unsqueeze(d + 1).pad([...sh, 1].map((_, i) => (i === d + 1 ? [0, s - 1] : [0, 0]) as [number, number]));
        sh[d] = len * s;
        r = r.reshape(sh).slice(d, 0, Math.min(len * s, xs[d] - starts[d]));
      });
      return [r.pad(xs.map((size, i) => [starts[i], size - starts[i] - r.shape[i]] as [number, number]))];
    },
  },
  pad: {
    arity: 1,
    saves: notSaved,
    vjp: ({ n, g }) => [n.src[0].shape.reduce((t, d, i) => t.slice(i, n.arg.before[i], n.arg.before[i] + d), g)],
  },

  // ---- sources: leaves of the graph (gradients are delivered to them, never through them)
  input: { arity: 0, ...noGradient },
  state: { arity: 0, ...noGradient },
  const: { arity: 0, ...noGradient },
  scalar: { arity: 0, ...noGradient },
  iota: { arity: 0, ...noGradient },
  data: { arity: 0, ...noGradient },
};

/** an elementwise op's scalar function for operands of the given kind (integer: int32 or bool) */
export function scalarFn(op: ElementwiseOp, integer: boolean): (...a: number[]) => number {
  const s: Scalar<number[]> = OPS[op].scalar;
  return integer ? (s.int ?? s.f32) : s.f32;
}
