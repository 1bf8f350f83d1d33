// Helpers for the LLVM target tests and benchmark: tiny kernel-IR builders, program wrappers, and
// the Adam and matmul programs. (The oracle is targets/reference/kernels.ts.)
import type { BufferDecl, Expr, Kernel, KernelProgram, KType, Stmt } from '../compiler/ir/kernel.js';
import type { Placement } from '../runtime/manifest.js';
import type { HostArray } from '../runtime/device.js';
import { compileNative, type NativeOptions } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { allocMemories, runKernelProgram } from '../targets/reference/kernels.js';

export const v = (name: string, type: KType = 'i32'): Expr => ({ e: 'var', type, name });
export const c = (value: number, type: KType = 'f32'): Expr => ({ e: 'const', type, value });
export const ci = (value: number): Expr => c(value, 'i32');
export const ld = (buf: number, index: Expr, type: KType = 'f32'): Expr => ({ e: 'load', type, buf, index });
export const sc = (slot: number): Expr => ({ e: 'scalar', type: 'f32', slot });
type B = Extract<Expr, { e: 'binary' }>['fn'];
const CMP = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);
export const bin = (fn: B, a: Expr, b: Expr): Expr => ({ e: 'binary', type: CMP.has(fn) ? 'bool' : a.type, fn, a, b });
export const add = (a: Expr, b: Expr) => bin('add', a, b);
export const mul = (a: Expr, b: Expr) => bin('mul', a, b);
export const sub = (a: Expr, b: Expr) => bin('sub', a, b);
export const div = (a: Expr, b: Expr) => bin('div', a, b);
export const un = (fn: Extract<Expr, { e: 'unary' }>['fn'], a: Expr): Expr => ({
  e: 'unary',
  type: fn === 'not' ? 'bool' : a.type,
  fn,
  a,
});
export const where = (cond: Expr, a: Expr, b: Expr): Expr => ({ e: 'where', type: a.type, cond, a, b });
export const cast = (a: Expr, type: KType): Expr => ({ e: 'cast', type, a });
export const store = (buf: number, index: Expr, value: Expr): Stmt => ({ s: 'store', buf, index, value });
export const loop = (name: string, extent: number, body: Stmt[], reduce = false): Stmt => ({
  s: 'loop',
  var: name,
  extent,
  body,
  reduce,
});

export function kernel(name: string, grid: number[], body: Stmt[], flops = 0): Kernel {
  return { name, grid, body, meta: { ops: [name], flops, bytesRead: 0, bytesWritten: 0 } };
}

export function program(
  buffers: BufferDecl[],
  kernels: Kernel[],
  io: { inputs?: Placement[]; outputs?: Placement[]; scalars?: number } = {},
): KernelProgram {
  return {
    buffers,
    kernels,
    inputs: io.inputs ?? [],
    outputs: io.outputs ?? [],
    cells: [],
    peakBytes: 0,
    host: { vars: [], stmts: [], scalarCount: io.scalars ?? 0 },
  };
}

export function randn(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2);
}

/** max relative error, |a-b| / max(|b|, floor) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  }
  return a.length === b.length ? m : Infinity;
}

/**
 * A fused Adam update over a flat f32 state arena holding p, g, m, v at the given offsets, with
 * host scalars [b1, 1-b1, b2, 1-b2, step_size, sqrt(bias_correction2), eps] in buffer 1.
 */
export function adamProgram(n: number, off = { p: 0, g: n, m: 2 * n, v: 3 * n }): KernelProgram {
  const i = v('g0'),
    at = (o: number) => add(i, ci(o));
  const size = Math.max(off.p, off.g, off.m, off.v) + n;
  const k = kernel(
    'adam',
    [n],
    [
      { s: 'let', name: 'g', value: ld(0, at(off.g)) },
      { s: 'let', name: 'm', value: add(mul(sc(0), ld(0, at(off.m))), mul(sc(1), v('g', 'f32'))) },
      { s: 'let', name: 'v', value: add(mul(sc(2), ld(0, at(off.v))), mul(mul(sc(3), v('g', 'f32')), v('g', 'f32'))) },
      store(0, at(off.m), v('m', 'f32')),
      store(0, at(off.v), v('v', 'f32')),
      store(
        0,
        at(off.p),
        sub(ld(0, at(off.p)), div(mul(sc(4), v('m', 'f32')), add(div(un('sqrt', v('v', 'f32')), sc(5)), sc(6)))),
      ),
    ],
    15 * n,
  );
  k.meta.bytesRead = 16 * n;
  k.meta.bytesWritten = 12 * n;
  return program(
    [
      { name: 'state', kind: 'state', dtype: 'f32', size },
      { name: 'scalars', kind: 'scalars', dtype: 'f32', size: 7 },
    ],
    [k],
    { scalars: 7 },
  );
}

/** Adam's host scalars for step t (float64, then rounded to float32 like the host program) */
export function adamScalars(t: number, lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8): Float32Array {
  const bc1 = 1 - b1 ** t,
    bc2 = 1 - b2 ** t;
  return Float32Array.from([b1, 1 - b1, b2, 1 - b2, lr / bc1, Math.sqrt(bc2), eps]);
}

/** C[M,N] = A[M,K] @ B[K,N] as one kernel: grid [M, N], reduce loop over K */
export function matmul(M: number, N: number, K: number): KernelProgram {
  const k = kernel(
    'matmul',
    [M, N],
    [
      { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
      loop(
        'k',
        K,
        [
          {
            s: 'accum',
            name: 's',
            value: mul(ld(0, add(mul(v('g0'), ci(K)), v('k'))), ld(1, add(mul(v('k'), ci(N)), v('g1')))),
          },
        ],
        true,
      ),
      store(2, add(mul(v('g0'), ci(N)), v('g1')), v('s', 'f32')),
    ],
    2 * M * N * K,
  );
  const f32 = (name: string, kind: 'input' | 'output', size: number) => ({ name, kind, dtype: 'f32' as const, size });
  return program([f32('a', 'input', M * K), f32('b', 'input', K * N), f32('c', 'output', M * N)], [k], {
    inputs: [
      { buf: 0, offset: 0, shape: [M, K], dtype: 'float32' },
      { buf: 1, offset: 0, shape: [K, N], dtype: 'float32' },
    ],
    outputs: [{ buf: 2, offset: 0, shape: [M, N], dtype: 'float32' }],
  });
}

export const buf = (
  name: string,
  kind: BufferDecl['kind'],
  size: number,
  dtype: 'f32' | 'i32' = 'f32',
): BufferDecl => ({ name, kind, dtype, size });
export const io = (b: number, shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32') => ({
  buf: b,
  offset: 0,
  shape,
  dtype,
});

/** runs `p` natively (inputs → outputs through the device) and through the kernel interpreter */
export async function runBoth(p: KernelProgram, inputs: HostArray[], opts: NativeOptions = {}) {
  const exe = await createNativeDevice().load(compileNative(p, opts));
  const native = await exe.run(inputs, new Float32Array(0));
  const bufs = allocMemories(p);
  p.inputs.forEach((pl, i) => bufs[pl.buf].set(inputs[i], pl.offset));
  runKernelProgram(p, bufs);
  const oracle = p.outputs.map((pl) => bufs[pl.buf].slice(pl.offset, pl.offset + pl.shape.reduce((a, b) => a * b, 1)));
  return { native, oracle };
}
