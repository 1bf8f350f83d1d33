// The WGSL target's strategy for a kernel (rendered by targets/wgsl/): a workgroup tree reduction
// where the grid alone would leave the device idle, a tiled matmul where the kernel has that
// shape, else one invocation per grid point. The matmul shape is read off the index algebra: one
// load varies with the output row and the reduce index only, the other with the column and the
// reduce index only.
import type { Expr, GpuStrategy, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren, forEachStmtExpr } from '../ir/kernel.js';
import { numel } from '../ir/graph.js';
import { LLVMPIPE_LOOP_LIMIT } from '../../runtime/webgpu/artifact.js';
import { accumulators, cascadeNest, cascadeSums } from './cascade.js';
import { varsOf } from './index-algebra.js';
import { chooseUnroll, innermostLoopNodes, loopTrips, treeUnroll } from './opt-gpu-loops.js';

export const REDUCE_WORKGROUP_SIZE = 64;
/** heuristics: worth it only when the grid alone would leave the device idle */
export const REDUCE_MAX_GRID = 2048;
export const REDUCE_MIN_EXTENT = 256;
/** tile edge of the tiled matmul: 64 invocations, within every device's limit */
export const TILE_EDGE = 8;
export const TILE_MIN_K = 16;

type Loop = Extract<Stmt, { s: 'loop' }>;
type Load = Extract<Expr, { e: 'load' }>;

export interface GpuOptions {
  /** use a workgroup tree reduction for small grids with long reduce loops (default true) */
  workgroupReduce?: boolean;
  /** stage 8x8 tiles in workgroup memory for matmul-shaped kernels (default true) */
  tile?: boolean;
}

const hasStore = (ss: readonly Stmt[]): boolean =>
  ss.some((s) => s.s === 'store' || (s.s === 'loop' && hasStore(s.body)));
const hasAcc = (ss: readonly Stmt[]): boolean => ss.some((s) => s.s === 'acc' || (s.s === 'loop' && hasAcc(s.body)));
export function accumsIn(ss: readonly Stmt[], out = new Set<string>()): Set<string> {
  for (const s of ss) {
    if (s.s === 'accum') out.add(s.name);
    else if (s.s === 'loop') accumsIn(s.body, out);
  }
  return out;
}
const isLongLoop = (s: Stmt): s is Loop =>
  s.s === 'loop' && !!s.reduce && s.extent >= REDUCE_MIN_EXTENT && !hasStore(s.body) && !hasAcc(s.body);

/**
 * the top-level statements of `k` (unexpanded) a tree reduction takes: long reduce loops and
 * cascade sums (spread over the threads by their flat term index); null when the kernel has many
 * grid points, a store before the last of them, or a bool accumulator in them
 */
function treeLoops(k: Kernel): number[] | null {
  const n = numel(k.grid);
  if (n === 0 || n > REDUCE_MAX_GRID) return null;
  const allAccs = accumulators(k.body);
  const loops = k.body.flatMap((s, i) => (s.s === 'loop' && (cascadeNest(s, allAccs) || isLongLoop(s)) ? [i] : []));
  const lastReduce = loops.length ? loops[loops.length - 1] : -1;
  if (lastReduce < 0 || !storesBeforeAllowed(k.body, lastReduce)) return null;
  const accs = new Map(k.body.slice(0, lastReduce).flatMap((s) => (s.s === 'acc' ? [[s.name, s.type] as const] : [])));
  for (const i of loops) {
    for (const a of accumsIn((k.body[i] as Loop).body)) {
      const type = accs.get(a);
      if (!type || type === 'bool') return null;
    }
  }
  return loops;
}

/**
 * whether the stores before the last reduction can run on thread 0 alone (targets/wgsl/reduce.ts): each at
 * the top level (every thread holds the same reduced values there) and to a buffer the kernel never loads
 */
function storesBeforeAllowed(body: readonly Stmt[], lastReduce: number): boolean {
  const before = body.slice(0, lastReduce);
  if (before.some((s) => s.s === 'loop' && hasStore(s.body))) return false;
  const stored = new Set(before.flatMap((s) => (s.s === 'store' ? [s.buf] : [])));
  if (!stored.size) return true;
  const loads: Load[] = [];
  forEachStmtExpr(body, (e) => loadsOf(e, loads));
  return !loads.some((l) => stored.has(l.buf));
}

function vars(e: Expr, out = new Set<string>()): Set<string> {
  if (e.e === 'var') out.add(e.name);
  for (const x of exprChildren(e)) vars(x, out);
  return out;
}
export function loadsOf(e: Expr, out: Load[] = []): Load[] {
  if (e.e === 'load') out.push(e);
  else for (const x of exprChildren(e)) loadsOf(x, out);
  return out;
}
const storesOrLoops = (ss: readonly Stmt[]) => ss.some((s) => s.s === 'store' || s.s === 'loop');

/**
 * `k` (cascade sums expanded) as a matmul over grid [..batch, M, N]: a reduce loop over k
 * accumulating f(A, B), A indexed by (row, k) and B by (k, col), both plain index math
 */
function matmul(k: Kernel): GpuStrategy | null {
  const d = k.grid.length;
  if (d < 2) return null;
  const gi = `g${d - 2}`,
    gj = `g${d - 1}`,
    batch = k.grid.slice(0, -2).map((_, i) => `g${i}`);
  const li = k.body.findIndex((s) => s.s === 'loop');
  if (li < 0) return null;
  const loop = k.body[li] as Loop;
  const pre = k.body.slice(0, li);
  // before the loop every thread runs, in range or not: no stores there (after it, only in-range threads)
  if (!loop.reduce || loop.extent < TILE_MIN_K || loop.body.length !== 1 || storesOrLoops(pre)) return null;
  const acc = loop.body[0];
  if (acc.s !== 'accum' || pre.every((s) => !(s.s === 'acc' && s.name === acc.name && s.fn === 'add'))) return null;
  const ls = loadsOf(acc.value);
  if (ls.length !== 2 || ls.some((l) => l.type === 'bool')) return null;
  // the variables a load's index varies with, when it is plain index math over these loops
  const over = (l: Load, row: string) =>
    !!l.ix && [...varsOf(l.ix)].every((x) => x === row || x === loop.var || batch.includes(x));
  const ab = over(ls[0], gi) && over(ls[1], gj) ? [0, 1] : over(ls[1], gi) && over(ls[0], gj) ? [1, 0] : null;
  if (!ab || [...vars(acc.value)].some((x) => ![gi, gj, loop.var, ...batch].includes(x))) return null;
  const M = k.grid[d - 2],
    N = k.grid[d - 1],
    T = TILE_EDGE;
  const tiles = k.grid.slice(0, -2).reduce((x, y) => x * y, 1) * Math.ceil(M / T) * Math.ceil(N / T);
  // else serial, unrolled: fewer loop trips than llvmpipe allows
  if (tiles === 0 || M * N < T * T || tileTrips(loop.extent) > LLVMPIPE_LOOP_LIMIT) return null;
  return { kind: 'tile', edge: T, loop: li, a: ab[0], b: ab[1] };
}

/** loop back-edges of a tiled matmul invocation over a reduce loop of `extent` */
export const tileTrips = (extent: number) => Math.ceil(extent / TILE_EDGE) * (TILE_EDGE + 1);

/** the strategy for `k` (unexpanded: the tree reduction spreads a cascade sum over its threads) */
export function chooseGpu(k: Kernel, opts: GpuOptions = {}): GpuStrategy {
  const tree = opts.workgroupReduce !== false ? treeLoops(k) : null;
  const wg = REDUCE_WORKGROUP_SIZE;
  if (tree) return { kind: 'tree', workgroupSize: wg, loops: tree, ...treeUnroll(k, tree, wg) };
  const expanded = cascadeSums(k);
  return (
    (opts.tile !== false ? matmul(expanded) : null) ?? {
      kind: 'serial',
      ...chooseUnroll((u) => loopTrips(expanded.body, u), innermostLoopNodes(expanded.body)),
    }
  );
}
