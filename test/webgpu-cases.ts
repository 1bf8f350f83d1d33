// Hand-built KernelPrograms for the WebGPU tests, a tiny IR builder, and the oracle: the
// kernel-IR interpreter (targets/reference/kernels.ts) run over the same inputs.
import type { BinaryFn, Expr, Kernel, KernelProgram, KType, Stmt, UnaryFn } from '../compiler/ir/kernel.js';
import type { HostProgram } from '../runtime/host.js';
import type { BufferDecl, Placement, ValueDType } from '../runtime/manifest.js';
import { allocMemories, runKernelProgram, type Memory } from '../targets/reference/kernels.js';

// ---- IR builder ----
export const c = (value: number, type: KType = 'f32'): Expr => ({ e: 'const', type, value });
export const v = (name: string, type: KType = 'i32'): Expr => ({ e: 'var', type, name });
export const ld = (buf: number, index: Expr, type: KType = 'f32'): Expr => ({ e: 'load', type, buf, index });
export const sc = (slot: number): Expr => ({ e: 'scalar', type: 'f32', slot });
const CMP = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);
export const bin = (fn: BinaryFn, a: Expr, b: Expr, type?: KType): Expr => ({
  e: 'binary',
  fn,
  a,
  b,
  type: type ?? (CMP.has(fn) ? 'bool' : a.type),
});
export const un = (fn: UnaryFn, a: Expr): Expr => ({ e: 'unary', fn, a, type: a.type });
export const where = (cond: Expr, a: Expr, b: Expr): Expr => ({ e: 'where', cond, a, b, type: a.type });
export const cast = (a: Expr, type: KType): Expr => ({ e: 'cast', a, type });
export const st = (buf: number, index: Expr, value: Expr): Stmt => ({ s: 'store', buf, index, value });
export const loop = (name: string, extent: number, body: Stmt[], reduce = false): Stmt => ({
  s: 'loop',
  var: name,
  extent,
  body,
  reduce,
});
export const acc = (name: string, fn: 'add' | 'max', init: number, type: KType = 'f32'): Stmt => ({
  s: 'acc',
  name,
  type,
  fn,
  init,
});
export const accum = (name: string, value: Expr): Stmt => ({ s: 'accum', name, value });
export const let_ = (name: string, value: Expr): Stmt => ({ s: 'let', name, value });
export const g = (i: number) => v(`g${i}`);
export const kernel = (name: string, grid: number[], body: Stmt[]): Kernel => ({
  name,
  grid,
  body,
  meta: { ops: [name], flops: 0, bytesRead: 0, bytesWritten: 0 },
});

const noHost: HostProgram = { vars: [], stmts: [], scalarCount: 0 };
export const place = (buf: number, shape: number[], dtype: ValueDType = 'float32', offset = 0): Placement => ({
  buf,
  offset,
  shape,
  dtype,
});

export function program(
  buffers: BufferDecl[],
  kernels: Kernel[],
  inputs: Placement[],
  outputs: Placement[],
  host = noHost,
): KernelProgram {
  return { buffers, host, inputs, outputs, cells: [], peakBytes: 0, kernels };
}
export const buf = (
  name: string,
  kind: BufferDecl['kind'],
  size: number,
  dtype: 'f32' | 'i32' = 'f32',
): BufferDecl => ({ name, kind, size, dtype });

// ---- data ----
/** deterministic pseudo-random floats in [lo, hi) */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + (hi - lo) * (s / 4294967296);
  }
  return out;
}

// ---- oracle ----
/** runs the interpreter: inputs and state (per dtype arena) in, outputs and final state out */
export function oracle(
  p: KernelProgram,
  inputs: readonly (Float32Array | Int32Array)[],
  scalars = new Float32Array(0),
  state: Partial<Record<'f32' | 'i32', Memory>> = {},
) {
  const mem = allocMemories(p);
  p.buffers.forEach((b, i) => {
    if (b.kind === 'state' && state[b.dtype]) mem[i].set(state[b.dtype]!.subarray(0, b.size));
  });
  const si = p.buffers.findIndex((b) => b.kind === 'scalars');
  if (si >= 0) mem[si].set(scalars.subarray(0, p.buffers[si].size));
  p.inputs.forEach((pl, i) => mem[pl.buf].set(inputs[i], pl.offset));
  runKernelProgram(p, mem, scalars);
  const outputs = p.outputs.map((pl) => mem[pl.buf].slice(pl.offset, pl.offset + pl.shape.reduce((a, b) => a * b, 1)));
  const stateOut: Partial<Record<'f32' | 'i32', Memory>> = {};
  p.buffers.forEach((b, i) => {
    if (b.kind === 'state') stateOut[b.dtype] = mem[i];
  });
  return { outputs, state: stateOut };
}

/** first mismatch beyond |a - e| <= rel*|e| + abs (NaN matches NaN, infinities must be equal) */
export function mismatch(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel = 1e-5,
  abs = 1e-6,
): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i],
      e = expected[i];
    if (Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= rel * Math.abs(e) + abs) continue;
    return `at [${i}]: got ${a}, expected ${e}`;
  }
  return null;
}
