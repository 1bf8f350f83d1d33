// Tensor factories and `where`, the free functions of the DSL. They use only the Tensor class's
// own methods (views and casts), so the method groups can build on them. Concrete tensors are
// `data` nodes; constants are 0-d `const` nodes expanded.
import type { DType } from './ir/graph.js';
import { makeNode, numel } from './ir/graph.js';
import { KilnError, fmtShape } from './errors.js';
import { HostScalar } from './host-scalar.js';
import { Generator, randn as randnValues, randintValues, randperm as randpermValues, uniform } from './random.js';
import { tracedRandom } from './random-traced.js';
import { currentTrace } from './trace-context.js';
import { Tensor, type TensorLike } from './tensor-class.js';
import { broadcastShapes, promote } from './tensor-shape.js';
import { checkInt, checkSize } from './view-args.js';
import { checkOptions } from './options.js';

export function tensor(
  values: ArrayLike<number> | number[][] | number,
  opts: { shape?: number[]; dtype?: DType; requiresGrad?: boolean } = {},
): Tensor {
  // typed arrays skip the nested-array flattening (data loaders build one per batch)
  const flat: ArrayLike<number> =
    typeof values === 'number'
      ? [values]
      : ArrayBuffer.isView(values)
        ? (values as ArrayLike<number>)
        : ((Array.from(values as ArrayLike<number>) as any[]).flat(Infinity as 1) as number[]);
  checkOptions('tensor', opts, ['shape', 'dtype', 'requiresGrad']);
  const shape = opts.shape ?? inferShape(values);
  checkSize('tensor', shape);
  const dtype = opts.dtype ?? (values instanceof Int32Array ? 'int32' : 'float32');
  if (numel(shape) !== flat.length)
    throw new KilnError(`tensor: ${flat.length} values do not fill shape ${fmtShape(shape)}`);
  const data =
    dtype === 'float32'
      ? Float32Array.from(flat)
      : dtype === 'int32'
        ? Int32Array.from(flat)
        : Uint8Array.from(flat, (v) => (v ? 1 : 0));
  return new Tensor(makeNode('data', [], shape, dtype, { values: data }), opts.requiresGrad ?? false);
}
function inferShape(v: unknown): number[] {
  if (typeof v === 'number') return [];
  if (ArrayBuffer.isView(v)) return [(v as Float32Array).length];
  const arr = v as unknown[];
  return arr.length && Array.isArray(arr[0]) ? [arr.length, ...inferShape(arr[0])] : [arr.length];
}
export function full(shape: number[], value: number, dtype: DType = 'float32', op = 'full'): Tensor {
  checkSize(op, shape);
  return new Tensor(
    makeNode('const', [], [], dtype, { value: dtype === 'float32' ? Math.fround(value) : value }),
  ).expand(shape);
}
/**
 * PyTorch's `torch.randn` / `torch.rand`, seeded by manualSeed. Outside a trace: PyTorch's CPU
 * generator's numbers (random.ts). Inside compile(): fresh numbers every run (random-traced.ts).
 */
export function randn(shape: number[]): Tensor {
  checkSize('randn', shape);
  const t = currentTrace();
  return t ? Tensor.fromNode(tracedRandom(t, shape, 'normal')) : tensor(randnValues(numel(shape)), { shape });
}
export function rand(shape: number[]): Tensor {
  checkSize('rand', shape);
  const t = currentTrace();
  return t ? Tensor.fromNode(tracedRandom(t, shape, 'uniform')) : tensor(uniform(numel(shape), 0, 1), { shape });
}
function eagerOnly(op: string): void {
  if (currentTrace()) throw new KilnError(`${op} is not supported inside a compiled function: draw it outside`);
}
/**
 * torch.randint(low, high, size): int32 values in [low, high) from PyTorch's CPU generator, the same
 * numbers as torch's int64 ones (random() % range)
 */
export function randint(low: number, high: number, shape: number[], opts: { generator?: Generator } = {}): Tensor {
  eagerOnly('randint');
  checkSize('randint', shape);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < -(2 ** 31) || high > 2 ** 31) {
    throw new KilnError(`randint: low and high must be int32 integers, got ${low} and ${high}`);
  }
  if (high <= low) {
    throw new KilnError(`random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  }
  const v = randintValues(numel(shape), low, high, opts.generator);
  return tensor(Int32Array.from(v, Number), { shape, dtype: 'int32' });
}
/** torch.randperm(n): a permutation of 0..n-1 from PyTorch's CPU generator (int32) */
export function randperm(n: number, opts: { generator?: Generator } = {}): Tensor {
  eagerOnly('randperm');
  if (!Number.isInteger(n) || n < 0) throw new KilnError(`n must be non-negative, got${n}`);
  return tensor(randpermValues(n, opts.generator), { shape: [n], dtype: 'int32' });
}
export const zeros = (shape: number[], dtype: DType = 'float32') => full(shape, 0, dtype, 'zeros');
export const ones = (shape: number[], dtype: DType = 'float32') => full(shape, 1, dtype, 'ones');
export const zerosLike = (t: Tensor) => zeros(t.shape, t.dtype);
export const onesLike = (t: Tensor) => ones(t.shape, t.dtype);
export function arange(n: number): Tensor {
  checkInt('arange', 'end', n, 1);
  if (n < 0) throw new KilnError(`upper bound and larger bound inconsistent with step sign (arange(${n}))`);
  return new Tensor(makeNode('iota', [], [n], 'int32', { axis: 0 }));
}
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') {
    throw new KilnError(
      'where: expected condition to be a boolean tensor, but got a tensor with dtype ' +
        `${cond.dtype}${fmtShape(cond.shape)}`,
    );
  }
  const c = cond;
  const other = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
  const lift = (x: TensorLike): Tensor => {
    if (x instanceof Tensor) return x;
    if (x instanceof HostScalar) return full([], evalConst(x));
    const dtype = other && other.dtype !== 'float32' && Number.isInteger(x) ? other.dtype : 'float32';
    return full([], x, dtype);
  };
  const ta = lift(a),
    tb = lift(b);
  const t = promote(ta.dtype, tb.dtype);
  const shape = broadcastShapes('where', broadcastShapes('where', c.shape, ta.shape), tb.shape);
  return Tensor.derive('where', [c.expand(shape), ta.to(t).expand(shape), tb.to(t).expand(shape)], shape, t);
}
export function evalConst(s: HostScalar): number {
  const c = s.constant;
  if (c === undefined)
    throw new KilnError('a host scalar that depends on optimizer state can only be used inside compile()');
  return c;
}
