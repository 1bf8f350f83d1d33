// What a compiled program tells its runtime: the memories, where every input, output and state
// cell lives, the host program, and the kernels to launch in order. Plain JSON: an AOT bundle
// ships it beside the target code, and the runtime never needs the compiler to read it.
import type { HostProgram } from './host.js';

export type StorageDType = 'f32' | 'i32';
export type ValueDType = 'float32' | 'int32' | 'bool'; // bool is stored as i32 0/1

/**
 * state:   parameters, gradients, optimizer state; one arena per dtype per device, shared by every
 *          program loaded on that device (cells keep their offsets; the arena only grows)
 * scratch: the program's temporaries, placed by the memory plan
 * input/output: one buffer per traced input / returned value
 * scalars: the host program's float32 results for this step
 */
export interface BufferDecl {
  name: string;
  kind: 'state' | 'scratch' | 'input' | 'output' | 'scalars';
  dtype: StorageDType;
  /** length in elements this program needs (a state arena may be larger at run time) */
  size: number;
}

/** Where a value lives: buffer index + element offset + logical shape and dtype. */
export interface Placement {
  buf: number;
  offset: number;
  shape: number[];
  dtype: ValueDType;
}
export interface CellPlacement extends Placement {
  cell: number;
  name: string;
}

/**
 * A launch guard: the kernel runs only when, in this step's scalars, every group's slots hold the
 * same float32 (bit for bit) — or, with `is: false`, only when some group's slots differ. The
 * multi-tensor update comes as such a pair (compiler/kernel/lower.ts concatFlat): exactly one of
 * the two runs each step.
 */
export interface LaunchGuard {
  equal: number[][];
  is: boolean;
}

const f32bits = new Float32Array(1),
  u32bits = new Uint32Array(f32bits.buffer);
const bitsOf = (v: number): number => {
  f32bits[0] = v;
  return u32bits[0];
};

/** whether a kernel guarded by `w` (or unguarded) runs with these scalars */
export function guardHolds(w: LaunchGuard | undefined, scalars: ArrayLike<number>): boolean {
  if (!w) return true;
  let same = true;
  for (const g of w.equal) {
    const b0 = bitsOf(scalars[g[0]]);
    for (let i = 1; i < g.length && same; i++) same = bitsOf(scalars[g[i]]) === b0;
    if (!same) break;
  }
  return same === w.is;
}

export interface KernelInfo {
  name: string;
  /** launch guard (see LaunchGuard); absent: runs every step */
  when?: LaunchGuard;
  grid: number[];
  ops: string[];
  flops: number;
  bytesRead: number;
  bytesWritten: number;
  reason?: string;
}

/**
 * A collective between kernels (DistributedDataParallel): `length` elements of buffer `buf` from `offset`,
 * reduced in place across the process group's ranks (runtime/distributed/group.ts). It starts before
 * kernel `start` is launched (once the last kernel writing it has run) and completes before kernel
 * `wait` (the first that reads it; `kernels.length`: at the end of the run); the kernels in between
 * neither read nor write it, so the reduction may overlap them. Ranks start collectives in one order.
 */
export interface Collective {
  op: 'sum' | 'avg';
  buf: number;
  offset: number;
  length: number;
  start: number;
  wait: number;
  /** the values reduced, for inspection: their cells' or nodes' names */
  names: string[];
}

export interface Manifest {
  format: 1;
  buffers: BufferDecl[];
  host: HostProgram;
  inputs: Placement[];
  outputs: Placement[];
  cells: CellPlacement[];
  kernels: KernelInfo[];
  /** absent: none (a program that runs the same in any process group) */
  collectives?: Collective[];
  peakBytes: number;
}

/** elements of a shape (1 for a scalar) */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const storageOf = (d: ValueDType): StorageDType => (d === 'float32' ? 'f32' : 'i32');
