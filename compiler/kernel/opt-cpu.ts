// The LLVM target's strategy for a kernel (rendered by targets/llvm/kernel.ts), chosen for LLVM's
// vectorizers, which only see innermost loops and straight-line code and may not reorder float
// reductions without fast-math flags we cannot set:
//  - plain: no serial loops; the innermost grid loop is the innermost loop and `opt` vectorizes it.
//  - tile:  the innermost grid dim is rendered W lanes at a time (our own outer-loop vectorization;
//           small bodies also take R rows of the next dim, register-blocking a matmul):
//           each statement is emitted once per lane, so a reduce loop over k carries W independent
//           accumulators that SLP packs into vector registers (matmul: broadcast a, vector b).
//  - unroll: reduce loops are unrolled by U with U partial accumulators (sum over a unit-stride axis).
//  - block: a dot product per point whose operands are both contiguous along the reduce axis (x·Wᵀ):
//           the reduce loop in explicit vectors along that axis (targets/llvm/vreduce.ts), and the
//           last two grid dims blocked (shapeFor: by the target CPU's registers), so each vector
//           load feeds several accumulators.
// The choice reads strides off the index algebra: which loop variable walks memory contiguously.
import type { CpuStrategy, Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren, readsVar } from '../ir/kernel.js';
import { strideOf, type Ix } from './index-algebra.js';

export const TILE_LANES = 16;
export const UNROLL = 8;
/** largest block of the block strategy (the size budget below assumes at most this many points) */
export const BLOCK_ROWS = 4;
export const BLOCK_COLS = 4;
/**
 * lanes of the block strategy's partial sums, on every CPU: lane u sums the terms ≡ u mod 8, so a
 * program gives the same bits whatever `cpu` it is built for (on 128-bit vectors LLVM splits each
 * <8 x float> into two registers; shapeFor counts them)
 */
export const BLOCK_LANES = 8;

/** register blocking for one CPU (targets/llvm/cpu.ts): how many accumulators the vector registers hold */
export interface Shape {
  /** rows a 'tile' kernel takes at once (TILE_LANES lanes each) */
  tileRows: number;
  /** grid points of a 'block' kernel taken at once: rows (dim n-2) × cols (dim n-1) */
  blockRows: number;
  blockCols: number;
}

/**
 * Block sizes that keep the innermost loop in registers. A BR×BC block holds BR·BC accumulators
 * plus the BR row operands and a streamed column operand, each BLOCK_LANES floats = ⌈256/bits⌉
 * registers; a tile of R rows holds R·TILE_LANES accumulator floats, a TILE_LANES-float operand
 * and a broadcast. Measured on the MLP 784-256-10 step's kernels (numbers in targets/llvm/README.md):
 * AVX-512 (32 × 512): 4×4 blocks, 8-row tiles; AVX/AVX2 (16 × 256): 2×4 and 4 rows (3×3 is as
 * fast, 4×4 and 8 rows spill); SSE (16 × 128, an xmm pair per partial-sum vector): 2×2 and 2 rows;
 * NEON (32 × 128, not measured): 2×4 and 4 rows, the AVX2 register budget.
 */
export function shapeFor(cpu: { vectorBits: number; vectorRegs: number }): Shape {
  if (cpu.vectorRegs >= 32 && cpu.vectorBits >= 256) return { tileRows: 8, blockRows: 4, blockCols: 4 };
  if (cpu.vectorRegs >= 32) return { tileRows: 4, blockRows: 2, blockCols: 4 };
  if (cpu.vectorBits >= 256) return { tileRows: 4, blockRows: 2, blockCols: 4 };
  return { tileRows: 2, blockRows: 2, blockCols: 2 };
}

/** body size budget for the straight-line code of one blocked/tiled iteration */
export const BLOCK_BUDGET = 8192;

/** expression nodes in a body (a code-size measure for unrolling decisions) */
export function bodySize(body: readonly Stmt[]): number {
  const e = (x: Expr): number => exprChildren(x).reduce((n, y) => n + e(y), 1);
  return body.reduce(
    (n, s) =>
      n +
      1 +
      (s.s === 'loop'
        ? bodySize(s.body)
        : s.s === 'let' || s.s === 'accum'
          ? e(s.value)
          : s.s === 'store'
            ? e(s.index) + e(s.value)
            : 0),
    0,
  );
}

type Loop = Extract<Stmt, { s: 'loop' }>;

/** the index algebra of every load inside a serial loop (null: not plain index math) */
function loadsInLoops(k: Kernel): (Ix | null)[] {
  const out: (Ix | null)[] = [];
  const walk = (body: readonly Stmt[], inLoop: boolean): void => {
    const visit = (e: Expr): void => {
      if (e.e === 'load' && inLoop) out.push(e.ix ?? null);
      exprChildren(e).forEach(visit);
    };
    for (const s of body) {
      if (s.s === 'let' || s.s === 'accum') visit(s.value);
      else if (s.s === 'store') {
        visit(s.index);
        visit(s.value);
      } else if (s.s === 'loop') walk(s.body, true);
    }
  };
  walk(k.body, false);
  return out;
}

const unitStride = (ix: Ix | null, v: string) => ix !== null && strideOf(ix, v) === 1;

/** the reduce loops the unroll strategy unrolls: long enough, with no loop inside */
function unrolledLoops(body: readonly Stmt[], out: string[] = []): string[] {
  for (const s of body) {
    if (s.s !== 'loop') continue;
    if (s.reduce && s.extent >= 2 * UNROLL && !s.body.some((x) => x.s === 'loop')) out.push(s.var);
    else unrolledLoops(s.body, out);
  }
  return out;
}

/** the strategy for `k`, whose cascade sums are expanded (it is what the LLVM target renders) */
export function chooseCpu(k: Kernel): CpuStrategy {
  if (!k.body.some((s) => s.s === 'loop')) return { kind: 'plain' };
  const loads = loadsInLoops(k);
  const g = k.grid,
    last = `g${g.length - 1}`;
  // tiling pays when some load in the loops is contiguous across the innermost grid dim; row
  // blocking only where the unrolled body stays small
  if (g.length > 0 && g[g.length - 1] >= TILE_LANES && loads.some((ix) => unitStride(ix, last))) {
    const fit = Math.floor(BLOCK_BUDGET / (bodySize(k.body) * TILE_LANES));
    const maxRows = g.length >= 2 ? Math.min(g[g.length - 2], fit) : 1;
    return { kind: 'tile', lanes: TILE_LANES, maxRows };
  }
  // a dot product per point (one reduce loop, every load in it contiguous along it): vector loads
  // along the reduce axis, and the two grid dims blocked so each load feeds several accumulators
  const red = k.body.filter((s): s is Loop => s.s === 'loop');
  if (
    g.length >= 2 &&
    red.length === 1 &&
    vectorReduce(k.body, red[0]) &&
    loads.every((ix) => unitStride(ix, red[0].var))
  )
    return { kind: 'block', lanes: BLOCK_LANES, loop: red[0].var };
  return { kind: 'unroll', factor: UNROLL, loops: unrolledLoops(k.body) };
}

/** how many points of each grid dim one iteration of `s` takes on a CPU of register blocking `shape` */
export function cpuWidths(s: CpuStrategy, grid: readonly number[], shape: Shape): number[] {
  const widths = grid.map(() => 1),
    d = grid.length;
  if (s.kind === 'tile') {
    widths[d - 1] = s.lanes;
    if (shape.tileRows > 1 && shape.tileRows <= s.maxRows) widths[d - 2] = shape.tileRows;
  } else if (s.kind === 'block') {
    widths[d - 2] = shape.blockRows;
    widths[d - 1] = shape.blockCols;
  }
  return widths;
}

/**
 * Can `loop` be emitted as vectors along its own axis (vreduce.ts)? A reduce loop of plain f32
 * arithmetic: lets and sums into f32 accumulators declared outside it, loads whose index uses no
 * value of the loop body, add/sub/mul (no FMA contraction: each op rounds as in the interpreter).
 */
function vectorReduce(body: readonly Stmt[], loop: Loop): boolean {
  if (!loop.reduce || loop.extent < BLOCK_LANES || bodySize(loop.body) * BLOCK_ROWS * BLOCK_COLS > BLOCK_BUDGET / 8) {
    return false;
  }
  const accs = new Set(body.flatMap((s) => (s.s === 'acc' && s.type === 'f32' && s.fn === 'add' ? [s.name] : [])));
  const lets = new Set<string>();
  const vec = (e: Expr): boolean => {
    if (e.type !== 'f32') return false;
    if (e.e === 'load') return !readsVar(e.index, (n) => lets.has(n) || accs.has(n));
    if (e.e === 'var') return lets.has(e.name);
    return e.e === 'binary' && (e.fn === 'add' || e.fn === 'sub' || e.fn === 'mul') && vec(e.a) && vec(e.b);
  };
  return (
    loop.body.length > 0 &&
    loop.body.every((s) => {
      if (s.s === 'let') {
        const ok = vec(s.value);
        lets.add(s.name);
        return ok;
      }
      return s.s === 'accum' && accs.has(s.name) && vec(s.value);
    })
  );
}
