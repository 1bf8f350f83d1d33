// The Tensor class: a graph node with PyTorch's view, cast and value methods, plus what autodiff
// records about tensors as ops make them. It imports none of the method-group modules (the
// arithmetic, reductions, indexing, ... that tensor.ts loads): they build on this class and
// attach their methods to it with `addMethods`, so this module never depends on them.
// Outside a trace a tensor is concrete: its value is computed by the reference interpreter when read.
import type { ArgOf, DType, Node, Op, Shape } from './ir/graph.js';
import { makeNode, numel } from './ir/graph.js';
import { KilnError, fmtShape, userSite } from './errors.js';
import type { ScalarLike } from './host-scalar.js';
import { currentTrace } from './trace-context.js';
import { evaluate } from '../targets/reference/graph.js';
import { TensorCell } from './state.js';
import { checkInts, checkSliceIndex, expandedShape, inferSize, narrowStart, selectIndex } from './view-args.js';
import { normDim } from './tensor-shape.js';

export type TensorLike = Tensor | ScalarLike;
/** Tensor.derive's argument for op K: none for ops that take none */
type DeriveArg<K extends Op> = ArgOf<K> extends undefined ? [] : [arg: ArgOf<K>];
export type TypedData = Float32Array | Int32Array | Uint8Array;
/** what `tolist()` gives: a number (or boolean) for a 0-d tensor, arrays of them nested one per dim */
export type NestedList = number | boolean | NestedList[];

/** nodes whose value depends on something that requires grad */
export const gradNodes = new WeakSet<Node>();
/** leaf nodes -> the tensor whose `.grad` receives their gradient */
export const leafTensors = new WeakMap<Node, Tensor>();

let noGradDepth = 0;
/** runs `fn` without recording gradients (PyTorch's `torch.no_grad()`) */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    return fn();
  } finally {
    noGradDepth--;
  }
}

export class Tensor {
  protected _node: Node;
  requiresGrad: boolean;
  /** gradient of a leaf tensor after `backward()` (Parameters keep theirs in a state cell) */
  protected _grad: Tensor | null = null;

  constructor(node: Node, requiresGrad = false) {
    this._node = node;
    this.requiresGrad = requiresGrad;
    if (requiresGrad) {
      gradNodes.add(node);
      leafTensors.set(node, this);
    }
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
      if (this.requiresGrad) {
        gradNodes.add(n);
        leafTensors.set(n, this);
      }
      return n;
    }
    return this._node;
  }
  get shape(): number[] {
    return [...this.node.shape];
  }
  get dtype(): DType {
    return this.node.dtype;
  }
  get ndim(): number {
    return this.node.shape.length;
  }
  numel(): number {
    return numel(this.node.shape);
  }
  size(dim?: number): number | number[] {
    return dim === undefined ? this.shape : this.shape[normDim('size', dim, this.ndim, this.shape)];
  }

  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    this._grad = g;
  }

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
  /**
   * PyTorch's `tolist()`: nested arrays as deep as the tensor (a 0-d tensor gives its number,
   * 2-d gives number[][]); bool tensors give booleans, as Python's True/False
   */
  tolist(): NestedList {
    const data = this.data,
      shape = this.shape,
      bool = this.dtype === 'bool';
    const at = (dim: number, offset: number, stride: number): NestedList => {
      if (dim === shape.length) return bool ? data[offset] !== 0 : data[offset];
      const inner = stride / Math.max(1, shape[dim]);
      return Array.from({ length: shape[dim] }, (_, i) => at(dim + 1, offset + i * inner, inner));
    };
    return at(0, 0, numel(shape));
  }

  /**
   * @internal the value replaced in place by `values` of the same dtype and count, outside a trace (an eager
   * collective: distributed.allReduce). The tensor becomes data, cut from the ops that made it, as
   * torch.distributed's in-place collectives are not recorded by autograd; a leaf keeps requiring grad.
   */
  /** @internal an in-place op inside a trace (distributed.allReduce): this tensor's value is now `node` */
  replaceNode(node: Node): void {
    const required = gradNodes.has(this._node);
    this._node = node;
    if (required) gradNodes.add(node);
  }

  replaceValue(values: TypedData): void {
    const old = this._node;
    const leaf = leafTensors.get(old) === this;
    this._node = makeNode('data', [], old.shape, old.dtype, { values });
    if (leaf) {
      gradNodes.add(this._node);
      leafTensors.set(this._node, this);
    } else this.requiresGrad = false;
  }

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

  // ---- views ----
  reshape(...shape: (number | number[])[]): Tensor {
    const want = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    checkInts('reshape', 'shape', want);
    const n = this.numel();
    const out = inferSize(want, n);
    if (!out) {
      throw new KilnError(
        `reshape: shape '${fmtShape(want)}' is invalid for input of size ${n} (shape ${fmtShape(this.shape)})`,
      );
    }
    if (out.join() === this.shape.join()) return this;
    return Tensor.derive('reshape', [this], out, this.dtype, { shape: out });
  }
  view(...shape: (number | number[])[]): Tensor {
    return this.reshape(...shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normDim('flatten', startDim, this.ndim, this.shape),
      e = normDim('flatten', endDim, this.ndim, this.shape);
    const shape = this.shape;
    return this.reshape([...shape.slice(0, s), numel(shape.slice(s, e + 1)), ...shape.slice(e + 1)]);
  }
  unsqueeze(dim: number): Tensor {
    const d = normDim('unsqueeze', dim, this.ndim + 1, this.shape);
    const s = this.shape;
    s.splice(d, 0, 1);
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
    return Tensor.derive(
      'permute',
      [this],
      o.map((d) => this.shape[d]),
      this.dtype,
      { order: o },
    );
  }
  transpose(dim0: number, dim1: number): Tensor {
    const a = normDim('transpose', dim0, this.ndim, this.shape),
      b = normDim('transpose', dim1, this.ndim, this.shape);
    const o = this.shape.map((_, i) => i);
    [o[a], o[b]] = [o[b], o[a]];
    return this.permute(o);
  }
  get T(): Tensor {
    return this.permute(this.shape.map((_, i) => this.ndim - 1 - i));
  }
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
  broadcastTo(shape: number[]): Tensor {
    return this.expand(shape);
  }
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
    const s = clamp(start),
      e = Math.max(clamp(end ?? n), s);
    const len = Math.ceil((e - s) / step);
    if (s === 0 && len === n && step === 1) return this;
    const shape = this.shape;
    shape[d] = len;
    const starts = shape.map((_, i) => (i === d ? s : 0)),
      steps = shape.map((_, i) => (i === d ? step : 1));
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

  // ---- casts and copies ----
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    return Tensor.derive('cast', [this], this.shape, dtype, { to: dtype });
  }
  float() {
    return this.to('float32');
  }
  int() {
    return this.to('int32');
  }
  bool() {
    return this.to('bool');
  }
  /** the same value cut from autodiff (an identity view the simplifier removes) */
  detach(): Tensor {
    return new Tensor(makeNode('reshape', [this.node], this.shape, this.dtype, { shape: this.shape }));
  }
  /** a copy that stays in the graph: the gradient flows back through it, as PyTorch's clone */
  clone(): Tensor {
    return Tensor.derive('reshape', [this], this.shape, this.dtype, { shape: this.shape });
  }

  toString(): string {
    return `Tensor(${this.dtype}${fmtShape(this.shape)})`;
  }
}

/**
 * Installs a method group (an object of methods taking `this: Tensor`) on Tensor.prototype as a
 * class body would: non-enumerable. The group's module declares the same methods on the Tensor
 * interface (`declare module './tensor-class.js'`), so they type-check like the class's own.
 */
export function addMethods(methods: object): void {
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(methods))) {
    Object.defineProperty(Tensor.prototype, name, { ...desc, enumerable: false });
  }
}
