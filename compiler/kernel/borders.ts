// Border splitting: a kernel whose loads are guarded by pads (a convolution's zero padding, a pooling
// window's edge, a concatenation's pieces) tests the guard and selects at every grid point, which also
// keeps the CPU from vectorizing the loads, though the test only ever fails near the edges. The kernel is
// lowered again as a few boxes of its grid: the interior, where the emitter sees from the index ranges that
// every such guard holds and leaves it out (compiler/kernel/emit.ts guardOf), and the frame around it,
// which keeps its guards. The boxes write disjoint parts of the same outputs from the same inputs.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';
import { ixOfExpr } from './index-algebra.js';

/** a box of a kernel's grid: grid var g_j runs over origin[j] .. origin[j] + extent[j] - 1 */
export interface Region {
  origin: number[];
  extent: number[];
}

/** a kernel is split only past this many grid points (below it one launch costs more than the guards) */
export const SPLIT_MIN_POINTS = 4096;

/**
 * The boxes to lower `k` as, or null to keep it whole: per grid dim, the longest run of points between the
 * places where one of its guards flips is the interior, when it holds at least half the dim
 */
export function borderRegions(k: Kernel): Region[] | null {
  const points = k.grid.reduce((a, b) => a * b, 1);
  if (points < SPLIT_MIN_POINTS) return null;
  const flips = guardFlips(k);
  const inner = k.grid.map((ext, j): [number, number] | null => {
    const at = [...flips[j]].filter((p) => p > 0 && p < ext).sort((a, b) => a - b);
    if (!at.length) return null;
    const cuts = [0, ...at, ext];
    let best: [number, number] = [0, 0];
    for (let i = 0; i + 1 < cuts.length; i++) {
      if (cuts[i + 1] - cuts[i] > best[1] - best[0]) best = [cuts[i], cuts[i + 1]];
    }
    return 2 * (best[1] - best[0]) >= ext ? best : null;
  });
  if (inner.every((r) => r === null)) return null;
  // the frame, dim by dim: the slabs before and after the interior along one dim (full along the dims not
  // yet cut), then the same within the interior slab along the next dim; the interior box last
  const out: Region[] = [];
  const origin = k.grid.map(() => 0),
    extent = [...k.grid];
  inner.forEach((r, j) => {
    if (!r) return;
    const [a, b] = r;
    if (a > 0) out.push({ origin: [...origin], extent: extent.map((e, i) => (i === j ? a : e)) });
    if (b < k.grid[j]) {
      out.push({
        origin: origin.map((o, i) => (i === j ? b : o)),
        extent: extent.map((e, i) => (i === j ? k.grid[j] - b : e)),
      });
    }
    origin[j] = a;
    extent[j] = b - a;
  });
  out.push({ origin, extent });
  return out;
}

/** per grid dim, the values of g_j at which a bounds test `g_j + c >= lo` or `g_j + c < hi` changes */
function guardFlips(k: Kernel): Set<number>[] {
  const flips = k.grid.map(() => new Set<number>());
  const ext = new Map(k.grid.map((e, j) => [`g${j}`, e]));
  const scope = { extent: (n: string) => ext.get(n), value: () => undefined };
  const visit = (e: Expr): void => {
    if (e.e === 'binary' && (e.fn === 'ge' || e.fn === 'lt') && e.b.e === 'const' && e.a.type === 'i32') {
      const ix = ixOfExpr(e.a, scope);
      const t = ix?.terms.length === 1 ? ix.terms[0] : null;
      if (t && t.coef === 1 && t.atom.k === 'var') flips[Number(t.atom.name.slice(1))].add(e.b.value - ix!.c);
    }
    exprChildren(e).forEach(visit);
  };
  const stmts = (ss: readonly Stmt[]): void => {
    for (const s of ss) {
      if (s.s === 'loop') stmts(s.body);
      else if (s.s === 'store') (visit(s.index), visit(s.value));
      else if ('value' in s) visit(s.value);
    }
  };
  stmts(k.body);
  return flips;
}
