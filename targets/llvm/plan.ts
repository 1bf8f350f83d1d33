// How a kernel is shaped for LLVM's vectorizers (which only see innermost loops and straight-line
// code, and may not reorder float reductions without fast-math flags we cannot set):
//  - plain: no serial loops; the innermost grid loop is the innermost loop and `opt` vectorizes it.
//  - tile:  the innermost grid dim is rendered W lanes at a time (our own outer-loop vectorization;
//           small bodies also take R rows of the next dim, register-blocking a matmul):
//           each statement is emitted once per lane, so a reduce loop over k carries W independent
//           accumulators that SLP packs into vector registers (matmul: broadcast a, vector b).
//  - unroll: reduce loops are unrolled by U with U partial accumulators (sum over a unit-stride axis).
//  - block: a dot product per point whose operands are both contiguous along the reduce axis (x·Wᵀ):
//           the reduce loop in explicit vectors along that axis (vreduce.ts), and the last two grid
//           dims blocked (shapeFor: by the target CPU's registers), so each vector load feeds
//           several accumulators.
// The choice looks at strides: which loop variable walks memory contiguously.
import type { Expr, Kernel, Stmt } from '../../compiler/ir/kernel.js';
import { exprChildren } from '../../compiler/ir/kernel.js';

export type Strategy = 'plain' | 'tile' | 'unroll' | 'block';
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

/** register blocking for one CPU (cpu.ts): how many accumulators the vector registers hold */
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
 * and a broadcast. Measured on the MLP 784-256-10 step's kernels (numbers in the README):
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
export function bodySize(body: Stmt[]): number {
  const e = (x: Expr): number => exprChildren(x).reduce((n, y) => n + e(y), 1);
  return body.reduce((n, s) => n + 1 + (s.s === 'loop' ? bodySize(s.body)
    : s.s === 'let' || s.s === 'accum' ? e(s.value) : s.s === 'store' ? e(s.index) + e(s.value) : 0), 0);
}

interface Load { index: Expr; lets: Map<string, Expr> }

/** every load inside a serial loop, with the let bindings visible to it */
function loadsInLoops(body: Stmt[], lets: Map<string, Expr>, inLoop: boolean, out: Load[]): void {
  const scope = new Map(lets);
  const visit = (e: Expr): void => {
    if (e.e === 'load' && inLoop) out.push({ index: e.index, lets: scope });
    exprChildren(e).forEach(visit);
  };
  for (const s of body) {
    if (s.s === 'let') { visit(s.value); scope.set(s.name, s.value); }
    else if (s.s === 'store') { visit(s.index); visit(s.value); }
    else if (s.s === 'accum') visit(s.value);
    else if (s.s === 'loop') loadsInLoops(s.body, scope, true, out);
  }
}

/** integer value of an index expression at a sample point; undefined if not plain index math */
function evalIndex(e: Expr, at: Map<string, number>, lets: Map<string, Expr>): number | undefined {
  switch (e.e) {
    case 'const': return e.value;
    case 'var': {
      if (at.has(e.name)) return at.get(e.name);
      const l = lets.get(e.name);
      return l ? evalIndex(l, at, lets) : undefined;
    }
    case 'binary': {
      const a = evalIndex(e.a, at, lets), b = evalIndex(e.b, at, lets);
      if (a === undefined || b === undefined) return undefined;
      switch (e.fn) {
        case 'add': return a + b;
        case 'sub': return a - b;
        case 'mul': return a * b;
        case 'idiv': return b === 0 ? undefined : Math.floor(a / b);
        case 'mod': return b === 0 ? undefined : a % b;
        default: return undefined;
      }
    }
    default: return undefined;
  }
}

/** does `index` step by exactly 1 when `v` steps by 1 (at a few sample points)? */
function unitStride(ld: Load, v: string, extents: Map<string, number>): boolean {
  const names = [...extents.keys()];
  for (let t = 0; t < 4; t++) {
    const at = new Map(names.map((n, i) => [n, Math.floor(((t * 7919 + i * 104729) % 9973) / 9973 * extents.get(n)!)]));
    const ev = at.get(v)!;
    if (ev + 1 >= extents.get(v)!) at.set(v, Math.max(0, extents.get(v)! - 2));
    const a = evalIndex(ld.index, at, ld.lets);
    at.set(v, at.get(v)! + 1);
    const b = evalIndex(ld.index, at, ld.lets);
    if (a === undefined || b === undefined || b - a !== 1) return false;
  }
  return true;
}

function loopExtents(body: Stmt[], out: Map<string, number>): void {
  for (const s of body) if (s.s === 'loop') { out.set(s.var, s.extent); loopExtents(s.body, out); }
}

export function chooseStrategy(k: Kernel): Strategy {
  if (!k.body.some((s) => s.s === 'loop')) return 'plain';
  const loads: Load[] = [];
  loadsInLoops(k.body, new Map(), false, loads);
  const extents = new Map<string, number>(k.grid.map((e, i) => [`g${i}`, Math.max(e, 2)]));
  loopExtents(k.body, extents);
  const last = `g${k.grid.length - 1}`;
  // tiling pays when some load in the loops is contiguous across the innermost grid dim
  if (k.grid.length > 0 && k.grid[k.grid.length - 1] >= TILE_LANES
    && loads.some((ld) => unitStride(ld, last, extents))) return 'tile';
  // a dot product per point (one reduce loop, every load in it contiguous along it): vector loads
  // along the reduce axis, and the two grid dims blocked so each load feeds several accumulators
  const red = k.body.filter((s): s is Extract<Stmt, { s: 'loop' }> => s.s === 'loop');
  if (k.grid.length >= 2 && red.length === 1 && vectorReduce(k.body, red[0])
    && loads.every((ld) => unitStride(ld, red[0].var, extents))) return 'block';
  return 'unroll';
}

/**
 * Can `loop` be emitted as vectors along its own axis (vreduce.ts)? A reduce loop of plain f32
 * arithmetic: lets and sums into f32 accumulators declared outside it, loads whose index uses no
 * value of the loop body, add/sub/mul (no FMA contraction: each op rounds as in the interpreter).
 */
export function vectorReduce(body: Stmt[], loop: Extract<Stmt, { s: 'loop' }>): boolean {
  if (!loop.reduce || loop.extent < BLOCK_LANES || bodySize(loop.body) * BLOCK_ROWS * BLOCK_COLS > BLOCK_BUDGET / 8) {
    return false;
  }
  const accs = new Set(body.flatMap((s) => (s.s === 'acc' && s.type === 'f32' && s.fn === 'add' ? [s.name] : [])));
  const lets = new Set<string>();
  const uses = (e: Expr, names: Set<string>): boolean =>
    (e.e === 'var' && names.has(e.name)) || exprChildren(e).some((x) => uses(x, names));
  const vec = (e: Expr): boolean => {
    if (e.type !== 'f32') return false;
    if (e.e === 'load') return !uses(e.index, lets) && !uses(e.index, accs);
    if (e.e === 'var') return lets.has(e.name);
    return e.e === 'binary' && (e.fn === 'add' || e.fn === 'sub' || e.fn === 'mul') && vec(e.a) && vec(e.b);
  };
  return loop.body.length > 0 && loop.body.every((s) => {
    if (s.s === 'let') { const ok = vec(s.value); lets.add(s.name); return ok; }
    return s.s === 'accum' && accs.has(s.name) && vec(s.value);
  });
}
