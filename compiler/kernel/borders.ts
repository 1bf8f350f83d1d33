// Border splitting: a kernel whose loads are guarded by pads (a convolution's zero padding, a pooling
// window's edge, a concatenation's pieces) tests the guard and selects at every grid point, which also
// keeps the CPU from vectorizing the loads, though the test only ever fails near the edges. The kernel is
// lowered again as a few boxes of its grid: the interior, where the emitter sees from the index ranges that
// every such guard holds and leaves it out (compiler/kernel/emit.ts guardOf), and the frame around it,
// which keeps its guards. The boxes write disjoint parts of the same outputs from the same inputs.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren, forEachStmtExpr } from '../ir/kernel.js';
import { gcd, ixOfExpr } from './index-algebra.js';

/**
 * a box of a kernel's grid: grid var g_j takes extent[j] values from origin[j], step[j] apart (step > 1: a
 * residue class, where a guard tests a parity: a strided window's transpose reads a tap every second row)
 */
export interface Region {
  origin: number[];
  extent: number[];
  step: number[];
}

/** residue classes are split only for moduli this small (each class is one more kernel) */
const MAX_MODULUS = 4;

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
  const moduli = guardModuli(k);
  if (inner.every((r) => r === null) && moduli.every((m) => m === 1)) return null;
  // the frame, dim by dim: the slabs before and after the interior along one dim (full along the dims not
  // yet cut), then the same within the interior slab along the next dim; the interior box last
  const out: Region[] = [];
  const origin = k.grid.map(() => 0),
    extent = [...k.grid],
    step = k.grid.map(() => 1);
  inner.forEach((r, j) => {
    if (!r) return;
    const [a, b] = r;
    if (a > 0) out.push({ origin: [...origin], extent: extent.map((e, i) => (i === j ? a : e)), step });
    if (b < k.grid[j]) {
      out.push({
        origin: origin.map((o, i) => (i === j ? b : o)),
        extent: extent.map((e, i) => (i === j ? k.grid[j] - b : e)),
        step,
      });
    }
    origin[j] = a;
    extent[j] = b - a;
  });
  // the interior, split into the residue classes of the dims whose guards test g_j mod m
  let boxes: Region[] = [{ origin, extent, step }];
  moduli.forEach((m, j) => {
    if (m === 1) return;
    boxes = boxes.flatMap((b) =>
      Array.from({ length: m }, (_, r) => ({
        origin: b.origin.map((o, i) => (i === j ? o + r : o)),
        extent: b.extent.map((e, i) => (i === j ? Math.ceil((e - r) / m) : e)),
        step: b.step.map((t, i) => (i === j ? m : t)),
      })).filter((c) => c.extent[j] > 0),
    );
  });
  return [...out, ...boxes];
}

/** per grid dim, the modulus m of the guards that test (g_j + c) mod m (1: none, or too large to split) */
function guardModuli(k: Kernel): number[] {
  const moduli = k.grid.map(() => 1);
  const gridVar = (e: Expr): number | null => {
    // g_j itself, or g_j + c, or max(g_j + c, 0) (a pad's window): the one grid var inside
    if (e.e === 'var') return /^g\d+$/.test(e.name) ? Number(e.name.slice(1)) : null;
    if (e.e !== 'binary' || !['add', 'sub', 'max'].includes(e.fn)) return null;
    const [a, b] = [e.a.e === 'const' ? null : gridVar(e.a), e.b.e === 'const' ? null : gridVar(e.b)];
    return e.a.e === 'const' ? b : e.b.e === 'const' ? a : null;
  };
  const visit = (e: Expr): void => {
    if (e.e === 'binary' && (e.fn === 'ge' || e.fn === 'lt') && e.a.e === 'binary' && e.a.fn === 'mod') {
      const { a, b } = e.a;
      const j = b.e === 'const' && b.value <= MAX_MODULUS ? gridVar(a) : null;
      if (j !== null && b.e === 'const' && k.grid[j] >= 2 * b.value) moduli[j] = lcm(moduli[j], b.value);
    }
    exprChildren(e).forEach(visit);
  };
  forEachStmtExpr(k.body, visit);
  return moduli.map((m) => (m <= MAX_MODULUS ? m : 1));
}

const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

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
  forEachStmtExpr(k.body, visit);
  return flips;
}
