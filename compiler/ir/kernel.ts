// The kernel IR: what the scheduler produces and every target renders.
// A kernel is a loop nest: a parallel grid (each point independent: a GPU invocation, or an
// iteration a CPU thread may take) around a body of statements that may hold serial loops and
// reductions into accumulators. Every memory access is `buffer[index]`, where index is an integer
// expression over loop variables: one algebra for every view (see compiler/kernel/index-algebra.ts), which
// each access also carries in its linear normal form (`ix`), so passes read strides and ranges
// off the algebra rather than parsing the expression back.
import type { KernelInfo, LaunchGuard, Manifest } from '../../runtime/manifest.js';
export type { LaunchGuard, BufferDecl, Placement, CellPlacement, Manifest } from '../../runtime/manifest.js';

export type KType = 'f32' | 'i32' | 'bool';
/** how an f32 sum groups its terms (compiler/ir/accumulate.ts) */
export type SumScheme = 'chain' | 'cascade';

export type UnaryFn = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'recip' | 'not';
export type BinaryFn =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'max'
  | 'min'
  | 'pow'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | 'and'
  | 'or'
  | 'idiv'
  | 'mod'; // integer division and remainder of non-negative integers (index math)

/**
 * An index in linear normal form `c + sum(coef * atom)` (compiler/kernel/index-algebra.ts builds and
 * simplifies it): an atom is a loop variable with its extent, `floor(e / d)`, `e mod d`, or a window: `e`
 * itself, used only where 0 <= e < ext holds (the index inside a pad, whose guard selects those points).
 */
export type Atom =
  | { k: 'var'; name: string; ext: number }
  | { k: 'div'; a: Ix; d: number }
  | { k: 'mod'; a: Ix; d: number }
  | { k: 'win'; a: Ix; ext: number };
export interface Term {
  atom: Atom;
  coef: number;
  key: string;
}
export interface Ix {
  c: number;
  terms: readonly Term[];
}

/**
 * A memory access's `ix` is its index as the algebra: present exactly when the index is plain
 * index math over loop variables (let bindings resolved), absent where it is not (a bounds-guarded
 * index, a select tree over segments). A rewrite of an index rewrites its ix by the same
 * substitution, or drops it: an ix never disagrees with its index.
 */
export type Expr =
  | { e: 'const'; type: KType; value: number }
  | { e: 'var'; type: KType; name: string } // a loop variable (i32), a let binding or an accumulator
  | { e: 'load'; type: KType; buf: number; index: Expr; ix?: Ix }
  | { e: 'scalar'; type: 'f32'; slot: number } // the host program's float32 result `slot` for this step
  | { e: 'unary'; type: KType; fn: UnaryFn; a: Expr }
  | { e: 'binary'; type: KType; fn: BinaryFn; a: Expr; b: Expr }
  | { e: 'where'; type: KType; cond: Expr; a: Expr; b: Expr }
  | { e: 'cast'; type: KType; a: Expr }
  | { e: 'fma'; type: 'f32'; a: Expr; b: Expr; c: Expr } // a*b + c rounded once (llvm.fma, WGSL fma)
  /**
   * Philox4x32-10 of counter (index, draw, offset) under the key, as targets/reference/philox.ts
   * defines it; `pieces` are 8 f32 expressions holding the 16-bit halves of the key and offset
   */
  | { e: 'random'; type: 'f32'; dist: 'uniform' | 'normal'; draw: number; index: Expr; pieces: Expr[] };

/**
 * The direct sub-expressions of `e`, in a fixed order (index, operands, condition first).
 * Traversals that treat every kind of node alike go through this (or mapExpr), so that a new
 * kind of Expr is one case here rather than one in every pass and renderer.
 */
export function exprChildren(e: Expr): Expr[] {
  switch (e.e) {
    case 'load':
      return [e.index];
    case 'unary':
    case 'cast':
      return [e.a];
    case 'binary':
      return [e.a, e.b];
    case 'where':
      return [e.cond, e.a, e.b];
    case 'fma':
      return [e.a, e.b, e.c];
    case 'random':
      return [e.index, ...e.pieces];
    default:
      return [];
  }
}

/** whether `e` reads a variable (a loop or grid variable, a let, an accumulator) whose name passes `named` */
/** calls `f` on every expression the statements hold (a store's index and value, a let or accum's value), loops too */
export function forEachStmtExpr(body: readonly Stmt[], f: (e: Expr) => void): void {
  for (const s of body) {
    if (s.s === 'loop') forEachStmtExpr(s.body, f);
    else if (s.s === 'store') (f(s.index), f(s.value));
    else if (s.s === 'let' || s.s === 'accum') f(s.value);
  }
}

export const readsVar = (e: Expr, named: (name: string) => boolean): boolean =>
  (e.e === 'var' && named(e.name)) || exprChildren(e).some((x) => readsVar(x, named));

/**
 * `e` with each direct sub-expression replaced by f(child). A load's ix follows its index through
 * `ix` (f's substitution, as index algebra; undefined: the index is no longer plain index math);
 * without it the ix is dropped.
 */
export function mapExpr(e: Expr, f: (x: Expr) => Expr, ix?: (x: Ix) => Ix | undefined): Expr {
  switch (e.e) {
    case 'load': {
      const { ix: old, ...load } = e,
        index = f(e.index),
        moved = old && ix?.(old);
      return moved ? { ...load, index, ix: moved } : { ...load, index };
    }
    case 'unary':
    case 'cast':
      return { ...e, a: f(e.a) };
    case 'binary':
      return { ...e, a: f(e.a), b: f(e.b) };
    case 'where':
      return { ...e, cond: f(e.cond), a: f(e.a), b: f(e.b) };
    case 'fma':
      return { ...e, a: f(e.a), b: f(e.b), c: f(e.c) };
    case 'random':
      return { ...e, index: f(e.index), pieces: e.pieces.map(f) };
    default:
      return e;
  }
}

export type Stmt =
  | { s: 'let'; name: string; value: Expr }
  | { s: 'store'; buf: number; index: Expr; ix?: Ix; value: Expr }
  /** serial loop; `reduce` marks a loop whose only effect is accumulating (renderers may reorder it) */
  | { s: 'loop'; var: string; extent: number; body: Stmt[]; reduce?: boolean }
  /**
   * declares an accumulator. Sums accumulate in `type`, never wider (f32 for float sums); how their
   * terms are grouped is `scheme` (compiler/ir/accumulate.ts): 'chain' (the default) adds them one
   * by one in loop order, 'cascade' in blocks of a few terms whose sums are added level by level
   * (every consumer expands it the same way: compiler/kernel/cascade.ts)
   */
  | { s: 'acc'; name: string; type: KType; fn: 'add' | 'max'; init: number; scheme?: SumScheme }
  | { s: 'accum'; name: string; value: Expr }; // name = name (fn) value

export interface KernelMeta {
  /** the graph ops fused into this kernel, in order, e.g. ["mul", "sum", "add", "max"] */
  ops: string[];
  flops: number;
  bytesRead: number;
  bytesWritten: number;
  /** why this kernel ends where it does (for `kiln inspect`) */
  reason?: string;
}

/**
 * How the LLVM target shapes a kernel for LLVM's vectorizers (targets/llvm/kernel.ts renders it;
 * compiler/kernel/opt-cpu.ts chooses it). Register-block sizes depend on the CPU built for, so
 * they are bounds here, resolved against the CPU's registers by opt-cpu.ts's cpuWidths.
 */
export type CpuStrategy =
  /** no serial loops: the innermost grid loop is the innermost loop, and `opt` vectorizes it */
  | { kind: 'plain' }
  /** the last grid dim `lanes` points at a time, and rows of the dim before it (at most `maxRows`) */
  | { kind: 'tile'; lanes: number; maxRows: number }
  /** the reduce loops `loops` unrolled by `factor`, each with `factor` partial accumulators */
  | { kind: 'unroll'; factor: number; loops: string[] }
  /** the reduce loop `loop` as <lanes x float> vectors, the last two grid dims blocked */
  | { kind: 'block'; lanes: number; loop: string };

/**
 * How the WGSL target runs a kernel (compiler/kernel/opt-gpu.ts chooses, targets/wgsl renders).
 * Serial loops are rendered with long innermost loops unrolled `unroll` times; `loopTrips` is the
 * worst-case loop back-edges of one invocation so rendered (llvmpipe's budget: opt-gpu-loops.ts).
 */
export type GpuStrategy =
  /** one invocation per grid point, reductions as serial loops */
  | { kind: 'serial'; unroll: number; loopTrips: number }
  /** one workgroup of `workgroupSize` per grid point; the body statements `loops` are tree reductions */
  | { kind: 'tree'; workgroupSize: number; loops: number[]; unroll: number; loopTrips: number }
  /**
   * tiled matmul: `edge`×`edge` output tiles, the reduce loop body[`loop`] staged through
   * workgroup memory; `a` and `b` are the positions of the A and B loads in its accumulated value
   */
  | { kind: 'tile'; edge: number; loop: number; a: number; b: number };

/**
 * Each target's way of running a kernel, chosen once from the kernel's index strides and loop
 * shapes (compiler/kernel/opt.ts) and only rendered by the targets. Loop names and positions are
 * those of the kernel with its cascade sums expanded (cascadeSums), which is what both render,
 * except a tree reduction's: it spreads the unexpanded cascade over its threads itself.
 */
export interface KernelStrategy {
  cpu: CpuStrategy;
  gpu: GpuStrategy;
}

export interface Kernel {
  name: string;
  /** extents of the parallel loop variables, named g0, g1, ... (outermost first) */
  grid: number[];
  body: Stmt[];
  meta: KernelMeta;
  /** launch guard: the runtime skips the kernel unless guardHolds(when, scalars) (runtime/manifest.ts) */
  when?: LaunchGuard;
  /** set by the scheduler (compiler/kernel/opt.ts); a kernel built without it is planned when rendered */
  strategy?: KernelStrategy;
}

/** A scheduled program: the manifest's memories and placements, plus the kernels as IR. */
export interface KernelProgram extends Omit<Manifest, 'kernels' | 'format'> {
  kernels: Kernel[];
}

/** a kernel as the runtime's manifest lists it: its name, launch and measures, not its body */
export function kernelInfo(k: Kernel): KernelInfo {
  const { ops, flops, bytesRead, bytesWritten, reason } = k.meta;
  return {
    name: k.name,
    grid: [...k.grid],
    ops: [...ops],
    flops,
    bytesRead,
    bytesWritten,
    ...(reason ? { reason } : {}),
    ...(k.when ? { when: k.when } : {}),
  };
}

/**
 * What every target ships for its runtime: the manifest's fields picked one by one, so that what the
 * scheduler adds to a program for inspection (its graph, whose nodes JSON would expand as a tree) stays out
 */
export function manifestOf(p: KernelProgram): Manifest {
  const { buffers, host, inputs, outputs, cells, peakBytes, collectives } = p;
  const kernels = p.kernels.map(kernelInfo);
  return {
    format: 1,
    buffers,
    host,
    inputs,
    outputs,
    cells,
    peakBytes,
    kernels,
    ...(collectives ? { collectives } : {}),
  };
}
