// The Tensor DSL. A Tensor wraps a graph node; ops check shapes and dtypes, insert the explicit
// broadcasts the graph IR wants (binary nodes take equal shapes), and record what autodiff needs.
// Outside a trace a tensor is concrete: its value is computed by the reference interpreter when read.
import type { ArgOf, BinaryOp, DType, Node, Op, Shape, UnaryOp } from './ir/graph.js';
import { makeNode, numel } from './ir/graph.js';
import { OPS } from './ir/ops.js';
import { KilnError, fmtShape, userSite } from './errors.js';
import { HostScalar, type ScalarLike } from './host-scalar.js';
import { currentTrace } from './trace-context.js';
import { evaluate } from '../targets/reference/graph.js';
import { TensorCell } from './state.js';
import { gatherImpl, movedimImpl } from './tensor-index.js';
import { checkMaxReduction, logSoftmaxImpl, reductionAxes } from './tensor-reduce.js';
import { matmulImpl } from './tensor-linalg.js';
import { clampImpl, sigmoidImpl, tanhImpl } from './tensor-elementwise.js';
import { checkInts, checkSliceIndex, expandedShape, narrowStart, selectIndex } from './view-args.js';
import { broadcastShapes, normDim, promote } from './tensor-shape.js';
import { gradNodes, leafTensors, withVjp } from './tensor-grad.js';

export { broadcastShapes, normDim } from './tensor-shape.js';
export { customVjp, gradNodes, leafTensors, withVjp } from './tensor-grad.js';
export type TensorLike = Tensor | ScalarLike;
/** Tensor.derive's argument for op K: none for ops that take none */
type DeriveArg<K extends Op> = ArgOf<K> extends undefined ? [] : [arg: ArgOf<K>];
export type TypedData = Float32Array | Int32Array | Uint8Array;

export class Tensor {
  protected _node: Node;
  requiresGrad: boolean;
  /** gradient of a leaf tensor after `backward()` (Parameters keep theirs in a state cell) */
  protected _grad: Tensor | null = null;

  constructor(node: Node, requiresGrad = false) {
    this._node = node;
    this.requiresGrad = requiresGrad;
    if (requiresGrad) { gradNodes.add(node); leafTensors.set(node, this); }
  }

  /** the graph node standing for this tensor's current value */
  get node(): Node {
    const t = currentTrace();
    if (t && this._node.op === 'data') {
      // a concrete tensor captured by a trace: a read-only state cell of the program
      let cell = t.constants.get(this);
      if (!cell) {
        const values = this._node.arg.values as TypedData;
        cell = new TensorCell(
          `const${t.constants.size}`,
          [...this._node.shape],
          this._node.dtype,
          values instanceof Float32Array ? values : Int32Array.from(values),
        );
        t.constants.set(this, cell);
      }
      const n = t.read(cell)!;
      if (this.requiresGrad) { gradNodes.add(n); leafTensors.set(n, this); }
      return n;
    }
    return this._node;
  }
  get shape(): number[] { return [...this.node.shape]; }
  get dtype(): DType { return this.node.dtype; }
  get ndim(): number { return this.node.shape.length; }
  numel(): number { return numel(this.node.shape); }
  size(dim?: number): number | number[] {
    return dim === undefined ? this.shape : this.shape[normDim('size', dim, this.ndim, this.shape)];
  }

  get grad(): Tensor | null { return this._grad; }
  set grad(g: Tensor | null) { this._grad = g; }

  // ---- values (outside a trace) ----
  get data(): TypedData {
    if (currentTrace() && this._node.op !== 'data') {
      throw new KilnError(
        'cannot read the value of a traced tensor inside compile(): return it from the function instead',
      );
    }
    return evaluate(this._node);
  }
  item(): number {
    if (this.numel() !== 1) throw new KilnError(`a Tensor with ${this.numel()} elements cannot be converted to Scalar`);
    return this.data[0];
  }
  tolist(): number[] { return Array.from(this.data); }

  // ---- construction helpers ----
  static fromNode(node: Node): Tensor {
    return new Tensor(node);
  }
  /**
   * @internal a new tensor computed by `op` from `src`: the one way ops make nodes (it records
   * whether the result depends on something requiring grad); free functions (where, fma) use it too
   */
  static derive<K extends Op>(op: K, src: Tensor[], shape: Shape, dtype: DType, ...[arg]: DeriveArg<K>): Tensor {
    const nodes = src.map((s) => s.node);
    const node = makeNode<Op>(op, nodes, shape, dtype, arg, userSite());
    const t = new Tensor(node);
    if (!noGradDepth && nodes.some((n) => gradNodes.has(n))) {
      gradNodes.add(node);
      t.requiresGrad = true;
    }
    return t;
  }
  protected lift(x: TensorLike): Tensor {
    if (x instanceof Tensor) return x;
    if (x instanceof HostScalar) {
      const t = currentTrace();
      if (!t) return full([], evalConst(x), this.dtype === 'bool' ? 'float32' : this.dtype);
      const n = t.scalarNode(x);
      return new Tensor(n);
    }
    const dtype =
      this.dtype === 'float32' || !Number.isInteger(x) ? 'float32' : this.dtype === 'bool' ? 'int32' : this.dtype;
    return new Tensor(makeNode('const', [], [], dtype, { value: dtype === 'float32' ? Math.fround(x) : x }));
  }

  // ---- views ----
  reshape(...shape: (number | number[])[]): Tensor {
    const want = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    checkInts('reshape', 'shape', want);
    const n = this.numel();
    const infer = want.indexOf(-1);
    const known = want.reduce((a, b) => (b === -1 ? a : a * b), 1);
    const out = want.map((d) => (d === -1 ? n / known : d));
    if (
      (infer >= 0 && want.lastIndexOf(-1) !== infer) ||
      numel(out) !== n ||
      out.some((d) => !Number.isInteger(d) || d < 0)
    ) {
      throw new KilnError(
        `reshape: shape '${fmtShape(want)}' is invalid for input of size ${n} (shape ${fmtShape(this.shape)})`,
      );
    }
    if (out.join() === this.shape.join()) return this;
    return Tensor.derive('reshape', [this], out, this.dtype, { shape: out });
  }
  view(...shape: (number | number[])[]): Tensor { return this.reshape(...shape); }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normDim('flatten', startDim, this.ndim, this.shape),
      e = normDim('flatten', endDim, this.ndim, this.shape);
    const shape = this.shape;
    return this.reshape([...shape.slice(0, s), numel(shape.slice(s, e + 1)), ...shape.slice(e + 1)]);
  }
  unsqueeze(dim: number): Tensor {
    const d = normDim('unsqueeze', dim, this.ndim + 1, this.shape);
    const s = this.shape; s.splice(d, 0, 1);
    return this.reshape(s);
  }
  squeeze(dim?: number): Tensor {
    const s = this.shape;
    if (dim === undefined) return this.reshape(s.filter((x) => x !== 1));
    const d = normDim('squeeze', dim, this.ndim, this.shape);
    if (s[d] !== 1) return this;
    s.splice(d, 1);
    return this.reshape(s);
  }
  permute(...order: (number | number[])[]): Tensor {
    const o = ((Array.isArray(order[0]) ? order[0] : order) as number[]).map((d) =>
      normDim('permute', d, this.ndim, this.shape),
    );
    if (o.length !== this.ndim || new Set(o).size !== o.length) {
      throw new KilnError(
        `permute: number of dims don't match in permute: order ${fmtShape(o)} ` +
          `for a tensor of shape ${fmtShape(this.shape)}`,
      );
    }
    if (o.every((d, i) => d === i)) return this;
    return Tensor.derive('permute', [this], o.map((d) => this.shape[d]), this.dtype, { order: o });
  }
  transpose(dim0: number, dim1: number): Tensor {
    const a = normDim('transpose', dim0, this.ndim, this.shape), b = normDim('transpose', dim1, this.ndim, this.shape);
    const o = this.shape.map((_, i) => i);
    [o[a], o[b]] = [o[b], o[a]];
    return this.permute(o);
  }
  get T(): Tensor { return this.permute(this.shape.map((_, i) => this.ndim - 1 - i)); }
  t(): Tensor {
    if (this.ndim > 2) throw new KilnError(`t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? this : this.transpose(0, 1);
  }
  expand(...shape: (number | number[])[]): Tensor {
    const src = this.shape;
    const out = expandedShape(src, Array.isArray(shape[0]) ? shape[0] : shape);
    const lead = out.length - src.length;
    if (out.join() === src.join()) return this;
    const aligned = lead > 0 ? this.reshape([...Array(lead).fill(1), ...src]) : this;
    return Tensor.derive('expand', [aligned], out, this.dtype, { shape: out });
  }
  broadcastTo(shape: number[]): Tensor { return this.expand(shape); }
  /** `x.slice(dim, start, end, step)`: PyTorch's `x[..., start:end:step, ...]` along one dim */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    const d = normDim('slice', dim, this.ndim, this.shape);
    const n = this.shape[d];
    [start, end, step].forEach(checkSliceIndex);
    if (step === 0) throw new KilnError('slice step cannot be zero');
    if (!(step > 0)) {
      throw new KilnError(
        `slice: slice step must be positive, got ${step} for a tensor of shape ${fmtShape(this.shape)}`,
      );
    }
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
    const s = clamp(start), e = Math.max(clamp(end ?? n), s);
    const len = Math.ceil((e - s) / step);
    if (s === 0 && len === n && step === 1) return this;
    const shape = this.shape; shape[d] = len;
    const starts = shape.map((_, i) => (i === d ? s : 0)), steps = shape.map((_, i) => (i === d ? step : 1));
    return Tensor.derive('slice', [this], shape, this.dtype, { starts, steps });
  }
  narrow(dim: number, start: number, length: number): Tensor {
    if (this.ndim === 0) throw new KilnError('narrow() cannot be applied to a 0-dim tensor.');
    const d = normDim('narrow', dim, this.ndim, this.shape);
    const s = narrowStart(this.shape[d], start, length);
    return this.slice(d, s, s + length);
  }
  select(dim: number, index: number): Tensor {
    if (this.ndim === 0) throw new KilnError('select() cannot be applied to a 0-dim tensor.');
    const d = normDim('select', dim, this.ndim, this.shape);
    const i = selectIndex(this.shape, d, index);
    return this.slice(d, i, i + 1).squeeze(d);
  }
  /** zero padding: `pads[i] = [before, after]` for each dim */
  pad(pads: [number, number][]): Tensor {
    if (pads.length !== this.ndim || pads.flat().some((p) => !(p >= 0) || !Number.isInteger(p))) {
      throw new KilnError(
        `pad: expected ${this.ndim} non-negative (before, after) pairs ` +
          `for a tensor of shape ${fmtShape(this.shape)}, got ${JSON.stringify(pads)}`,
      );
    }
    if (pads.every(([a, b]) => a === 0 && b === 0)) return this;
    const shape = this.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
    return Tensor.derive('pad', [this], shape, this.dtype, { before: pads.map((p) => p[0]) });
  }

  // ---- elementwise ----
  protected unary(op: UnaryOp): Tensor {
    if (op === 'neg' && this.dtype === 'bool') {
      throw new KilnError(
        `neg: Negation, the \`-\` operator, on a bool tensor is not supported (bool${fmtShape(this.shape)}). ` +
          'If you are trying to invert a mask, use logicalNot() instead.',
      );
    }
    const x = this.dtype !== 'float32' && OPS[op].dtype === 'float' ? this.float() : this;
    return Tensor.derive(op, [x], x.shape, x.dtype);
  }
  neg() { return this.unary('neg'); }
  exp() { return this.unary('exp'); }
  log() { return this.unary('log'); }
  sqrt() { return this.unary('sqrt'); }
  abs() { return this.unary('abs'); }
  reciprocal() { return this.unary('recip'); }
  erf() { return this.unary('erf'); }
  /** where(x <= 0, 0, x): NaN stays NaN (as PyTorch's), and the gradient at 0 is 0 (threshold_backward) */
  relu() { return where(this.le(0), 0, this); }
  /** PyTorch's `x.where(condition, y)`: where(condition, x, y) */
  where(condition: Tensor, other: TensorLike): Tensor { return where(condition, this, other); }
  sigmoid() { return sigmoidImpl(this); }
  tanh() { return tanhImpl(this); }
  square() { return this.mul(this); }
  sign() { return where(this.gt(0), 1, where(this.lt(0), -1, 0)).to(this.dtype); }

  protected binary(op: BinaryOp, other: TensorLike): Tensor {
    const o = this.lift(other);
    let a: Tensor = this, b = o;
    const common = promote(a.dtype, b.dtype);
    if (op === 'sub' && common === 'bool') {
      throw new KilnError(
        'sub: Subtraction, the `-` operator, with two bool tensors is not supported ' +
          `(shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}). Use logicalXor() or logicalNot() instead.`,
      );
    }
    const rule = OPS[op].dtype;
    const t = rule === 'float' && common !== 'float32' ? 'float32' : common;
    if (a.dtype !== t) a = a.to(t);
    if (b.dtype !== t) b = b.to(t);
    const shape = broadcastShapes(op, a.shape, b.shape);
    return Tensor.derive(op, [a.expand(shape), b.expand(shape)], shape, rule === 'bool' ? 'bool' : t);
  }
  /**
   * `self + alpha * other`. PyTorch's CPU kernel is a fused multiply-add, fma(other, alpha, self)
   * (ATen ufunc::add: vec::fmadd), one rounding; sub is add with -alpha. Integer dtypes multiply.
   */
  add(o: TensorLike, alpha?: ScalarLike) {
    if (alpha === undefined) return this.binary('add', o);
    const t = this.lift(o);
    return promote(this.dtype, t.dtype) === 'float32'
      ? fused(t, this.lift(alpha), this)
      : this.binary('add', t.mul(alpha));
  }
  sub(o: TensorLike, alpha?: ScalarLike) {
    if (alpha === undefined) return this.binary('sub', o);
    const t = this.lift(o);
    if (promote(this.dtype, t.dtype) !== 'float32') return this.binary('sub', t.mul(alpha));
    return fused(t, this.lift(alpha instanceof HostScalar ? alpha.neg() : -alpha), this);
  }
  mul(o: TensorLike) { return this.binary('mul', o); }
  div(o: TensorLike) { return this.binary('div', o); }
  /** `x ** exponent` */
  pow(exponent: TensorLike) { return this.binary('pow', exponent); }
  maximum(o: TensorLike) { return this.binary('max', o); }
  minimum(o: TensorLike) { return this.binary('min', o); }
  clamp(min?: ScalarLike, max?: ScalarLike): Tensor { return clampImpl(this, min, max); }
  lt(o: TensorLike) { return this.binary('lt', o); }
  le(o: TensorLike) { return this.binary('le', o); }
  gt(o: TensorLike) { return this.binary('gt', o); }
  ge(o: TensorLike) { return this.binary('ge', o); }
  eq(o: TensorLike) { return this.binary('eq', o); }
  ne(o: TensorLike) { return this.binary('ne', o); }
  logicalAnd(o: Tensor) { return this.to('bool').binary('and', o.to('bool')); }
  logicalOr(o: Tensor) { return this.to('bool').binary('or', o.to('bool')); }
  logicalNot() { return this.eq(0); }
  // addcmul/addcdiv/lerp as PyTorch 1.13's CPU kernels compute them (AVX2 build, measured against
  // torch bit for bit): addcmul's `self + value * t1 * t2` is fma(value * t1, t2, self) (the
  // compiler contracts the last multiply into the add); addcdiv's `self + value * t1 / t2` has no
  // multiply to fuse: three roundings.
  addcmul(t1: TensorLike, t2: TensorLike, value: ScalarLike = 1) {
    const vt1 = this.lift(value).mul(t1), b = this.lift(t2);
    return promote(promote(this.dtype, vt1.dtype), b.dtype) === 'float32' ? fused(vt1, b, this) : this.add(vt1.mul(b));
  }
  addcdiv(t1: TensorLike, t2: TensorLike, value: ScalarLike = 1) { return this.add(this.lift(value).mul(t1).div(t2)); }
  /**
   * PyTorch's lerp: weight < 0.5 ? self + weight * (end - self) : end - (end - self) * (1 - weight),
   * each one fma (float32 weight and 1 - weight); a host-scalar weight picks per step with where.
   */
  lerp(end: TensorLike, weight: ScalarLike): Tensor {
    const x: Tensor = this.dtype === 'float32' ? this : this.float();
    const e = x.lift(end).float(), d = e.sub(x);
    if (typeof weight === 'number') {
      const w = Math.fround(weight);
      return w < 0.5 ? fused(x.lift(w), d, x) : fused(d.neg(), x.lift(Math.fround(1 - w)), e);
    }
    const w = x.lift(weight);
    return where(w.lt(0.5), fused(w, d, x), fused(d.neg(), x.lift(1).sub(w), e));
  }

  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    return Tensor.derive('cast', [this], this.shape, dtype, { to: dtype });
  }
  float() { return this.to('float32'); }
  int() { return this.to('int32'); }
  bool() { return this.to('bool'); }
  /** the same value cut from autodiff (an identity view the simplifier removes) */
  detach(): Tensor {
    return new Tensor(makeNode('reshape', [this.node], this.shape, this.dtype, { shape: this.shape }));
  }
  /** a copy that stays in the graph: the gradient flows back through it, as PyTorch's clone */
  clone(): Tensor { return Tensor.derive('reshape', [this], this.shape, this.dtype, { shape: this.shape }); }

  // ---- reductions ----
  protected reduce(op: 'sum' | 'rmax', name: string, dim?: number | number[], keepdim = false): Tensor {
    const dims = reductionAxes(name, dim, this.shape);
    const x = op === 'sum' && this.dtype === 'bool' ? this.to('int32') : this;
    if (op === 'rmax') checkMaxReduction(name, dim, this.shape);
    const kept = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
    const r = dims.length === 0 ? x : Tensor.derive(op, [x], kept, x.dtype, { axes: [...dims].sort((a, b) => a - b) });
    return keepdim ? r : r.reshape(x.shape.filter((_, i) => !dims.includes(i)));
  }
  sum(dim?: number | number[], keepdim = false) { return this.reduce('sum', 'sum', dim, keepdim); }
  mean(dim?: number | number[], keepdim = false) {
    if (this.dtype !== 'float32') {
      throw new KilnError(
        'mean(): could not infer output dtype. Input dtype must be a floating point dtype. ' +
          `Got: ${this.dtype}${fmtShape(this.shape)} (use .float() first)`,
      );
    }
    const dims = reductionAxes('mean', dim, this.shape);
    const count = dims.reduce((a, d) => a * this.shape[d], 1);
    return this.float().sum(dims, keepdim).div(count);
  }
  /** values of the maximum over `dim` (PyTorch's `amax`; `max()` with no dim is the global max) */
  amax(dim?: number | number[], keepdim = false) { return this.reduce('rmax', 'amax', dim, keepdim); }
  max(dim?: number, keepdim = false): Tensor { return this.maxValues('max', dim, keepdim); }
  protected maxValues(name: string, dim?: number, keepdim = false): Tensor {
    const values = this.reduce('rmax', name, dim, keepdim);
    if (dim === undefined || this.ndim === 0 || !values.requiresGrad) return values;
    // PyTorch's max(dim) backward sends the gradient to the index it returns (the first maximum);
    // amax and the global max() share it among ties
    const d = normDim(name, dim, this.ndim, this.shape), x = this;
    return withVjp(values, [x], (g) => {
      const idx = arange(x.shape[d]).reshape(x.shape.map((s, i) => (i === d ? s : 1)));
      const first = idx.expand(x.shape).eq(x.detach().argmax(d, true).expand(x.shape));
      return [where(first, (keepdim ? g : g.unsqueeze(d)).expand(x.shape), 0)];
    });
  }
  amin(dim?: number | number[], keepdim = false) { return this.neg().reduce('rmax', 'amin', dim, keepdim).neg(); }
  min(dim?: number, keepdim = false) { return this.neg().maxValues('min', dim, keepdim).neg(); }
  argmax(dim: number, keepdim = false): Tensor {
    const d = normDim('argmax', dim, this.ndim, this.shape);
    checkMaxReduction('argmax', dim, this.shape);
    if (this.ndim === 0) return full([], 0, 'int32'); // one element: index 0
    const m = this.amax(d, true);
    const idx = arange(this.shape[d]).reshape(this.shape.map((s, i) => (i === d ? s : 1)));
    // first index reaching the max, as PyTorch returns
    const cand = where(this.eq(m), idx.expand(this.shape), this.shape[d]);
    return cand.neg().amax(d, keepdim).neg();
  }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor { return matmulImpl(this, other); }
  mm(other: Tensor) { return this.matmul(other); }

  // ---- softmax family ----
  logSoftmax(dim: number): Tensor { return logSoftmaxImpl(this, dim); }
  softmax(dim: number): Tensor { return this.logSoftmax(dim).exp(); }

  // ---- indexing (tensor-index.ts: composites of iota, eq, where and sum; no new IR op) ----
  /** PyTorch's `gather`: out[i][j] = x[i][index[i][j]] along `dim` */
  gather(dim: number, index: Tensor): Tensor { return gatherImpl(this, dim, index); }
  movedim(source: number, destination: number): Tensor { return movedimImpl(this, source, destination); }

  // ---- autodiff ----
  /** `backward()`, `backward(gradient)`, `backward({ retainGraph })` or `backward(gradient, { retainGraph })` */
  backward(...args: BackwardArgs): void { backwardHook(this, ...args); }

  toString(): string { return `Tensor(${this.dtype}${fmtShape(this.shape)})`; }
}

/** fma(a, b, c) = a*b + c with one rounding, in float32, broadcasting all three */
function fused(a: Tensor, b: Tensor, c: Tensor): Tensor {
  const [x, y, z] = [a, b, c].map((t) => t.to('float32'));
  const shape = broadcastShapes('add', broadcastShapes('add', z.shape, x.shape), y.shape);
  return Tensor.derive('fma', [x.expand(shape), y.expand(shape), z.expand(shape)], shape, 'float32');
}

// ---- free functions: tensor-create.ts (factories, where) ----
export {
  tensor, full, zeros, ones, zerosLike, onesLike, randn, rand, arange, where, evalConst,
} from './tensor-create.js';
import { full, arange, where, evalConst } from './tensor-create.js';

let noGradDepth = 0;
/** runs `fn` without recording gradients (PyTorch's `torch.no_grad()`) */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try { return fn(); } finally { noGradDepth--; }
}

// set by autodiff.ts / state.ts to break import cycles
type BackwardArgs = [gradient?: Tensor | { retainGraph?: boolean } | null, options?: { retainGraph?: boolean }];
let backwardHook: (t: Tensor, ...args: BackwardArgs) => void = () => { throw new Error('autodiff not loaded'); };
export function setBackward(fn: typeof backwardHook) { backwardHook = fn; }
