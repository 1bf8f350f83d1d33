// Concatenating sibling kernels along a grid axis (the scheduler's rule 5): kernels of one
// structure over different extents become one kernel whose grid coordinate selects the part.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { mapExpr } from '../ir/kernel.js';
import { ixVar, substIx, varsOf, type Ix } from './index-algebra.js';
import { exprKey } from './structure.js';
import { i32, meta } from './lower.js';

/**
 * Sibling kernels concatenated along grid axis k (schedule.ts rule 5): kernels sharing their
 * leading grid [0, k) and a reduce loop of the same extent, e.g. a weight gradient [out, in] and a
 * bias gradient [out] summed over the same batch, become ONE kernel of grid [.., in + 1]: every
 * point runs every part's loop body in one fused loop (identical loads are loaded once: the
 * bias gradient's reads are the weight gradient's), and stores the part its g_k falls in, picked
 * with `where(g_k < start, ..)` on the store's index and value. A part's own g_k is clamped into
 * its range, so every load stays in bounds at every point. Returns null when a part is not of the
 * form [accumulators, one reduce loop, lets, one store] or the stores go to different buffers.
 */
export function concatGrid(name: string, kernels: Kernel[], k: number, reason: string): Kernel | null {
  const ext = kernels.map((kn) => (kn.grid.length > k ? kn.grid[k] : 1));
  if (
    kernels.some(
      (kn) =>
        kn.grid.length > k + 1 ||
        (kn.grid.length === k + 1 && kn.grid.slice(0, k).some((n, j) => n !== kernels[0].grid[j])),
    )
  ) {
    return null;
  }
  const starts: number[] = [];
  let total = 0;
  for (const e of ext) {
    starts.push(total);
    total += e;
  }
  const gk: Expr = { e: 'var', type: 'i32', name: `g${k}` };
  const lt = (a: Expr, b: number): Expr => ({ e: 'binary', type: 'bool', fn: 'lt', a, b: i32(b) });
  const parts: {
    pre: Stmt[];
    loop?: Extract<Stmt, { s: 'loop' }>;
    post: Stmt[];
    store: Extract<Stmt, { s: 'store' }>;
  }[] = [];
  for (const [j, kn] of kernels.entries()) {
    // part j's names get a suffix; its g_k becomes its clamped local coordinate
    const local: Expr =
      ext[j] === 1
        ? i32(0)
        : j === 0
          ? { e: 'where', type: 'i32', cond: lt(gk, ext[j] - 1), a: gk, b: i32(ext[j] - 1) }
          : (() => {
              const off: Expr = { e: 'binary', type: 'i32', fn: 'sub', a: gk, b: i32(starts[j]) };
              return {
                e: 'where',
                type: 'i32',
                cond: lt(gk, starts[j]),
                a: i32(0),
                b: { e: 'where', type: 'i32', cond: lt(gk, starts[j] + ext[j] - 1), a: off, b: i32(ext[j] - 1) },
              };
            })();
    // part j > 0 renames every name its body declares; the grid variables are shared
    const renamed = new Map(j === 0 ? [] : [...declaredNames(kn.body)].map((d) => [d, `${d}_c${j}`]));
    const rn = (n: string) => renamed.get(n) ?? n;
    // the clamped coordinate is no index math: an access through it keeps no ix
    const follow = (ix: Ix): Ix | undefined =>
      kn.grid.length > k && varsOf(ix).has(`g${k}`)
        ? undefined
        : substIx(ix, (v) => (renamed.has(v.name) ? ixVar(rn(v.name), v.ext) : undefined));
    const ex = (e: Expr): Expr =>
      e.e === 'var'
        ? e.name === `g${k}` && kn.grid.length > k
          ? local
          : { ...e, name: rn(e.name) }
        : mapExpr(e, ex, follow);
    const st = (s: Stmt): Stmt => {
      switch (s.s) {
        case 'let':
          return { ...s, name: rn(s.name), value: ex(s.value) };
        case 'store': {
          const { ix, ...store } = s,
            moved = ix && follow(ix);
          return { ...store, index: ex(s.index), ...(moved ? { ix: moved } : {}), value: ex(s.value) };
        }
        case 'loop':
          return { ...s, var: rn(s.var), body: s.body.map(st) };
        case 'acc':
          return { ...s, name: rn(s.name) };
        case 'accum':
          return { ...s, name: rn(s.name), value: ex(s.value) };
      }
    };
    const body = kn.body.map(st);
    let i = 0;
    const pre: Stmt[] = [];
    while (i < body.length && body[i].s === 'acc') pre.push(body[i++]);
    const loop = body[i]?.s === 'loop' ? (body[i++] as Extract<Stmt, { s: 'loop' }>) : undefined;
    const post = body.slice(i, -1),
      store = body[body.length - 1];
    if (!store || store.s !== 'store' || post.some((s) => s.s !== 'let')) return null;
    if (loop && !loop.body.every((s) => s.s === 'let' || s.s === 'accum')) return null;
    parts.push({ pre, loop, post, store });
  }
  if (parts.some((p) => p.store.buf !== parts[0].store.buf)) return null;
  const body: Stmt[] = parts.flatMap((p) => p.pre);
  const l0 = parts[0].loop;
  if (l0 && parts.every((p) => p.loop && p.loop.extent === l0.extent && !!p.loop.reduce === !!l0.reduce)) {
    // one loop: part j's loop variable is part 0's, and a let equal to an earlier one is that one
    const inner: Stmt[] = [];
    const seen = new Map<string, string>();
    for (const p of parts) {
      const alias = new Map<string, string>([[p.loop!.var, l0.var]]);
      // loop variables of one extent: the ix follows the alias (let names are not in it)
      const follow = (ix: Ix) => substIx(ix, (v) => (alias.has(v.name) ? ixVar(alias.get(v.name)!, v.ext) : undefined));
      const ex = (e: Expr): Expr =>
        e.e === 'var' && alias.has(e.name) ? { ...e, name: alias.get(e.name)! } : mapExpr(e, ex, follow);
      for (const s of p.loop!.body) {
        if (s.s === 'let') {
          const value = ex(s.value),
            key = exprKey(value);
          const prev = seen.get(key);
          if (prev) {
            alias.set(s.name, prev);
            continue;
          }
          seen.set(key, s.name);
          inner.push({ ...s, value });
        } else if (s.s === 'accum') inner.push({ ...s, value: ex(s.value) });
      }
    }
    body.push({ ...l0, body: inner });
  } else for (const p of parts) if (p.loop) body.push(p.loop);
  body.push(...parts.flatMap((p) => p.post));
  const pick = (vals: Expr[], lo = 0, hi = vals.length - 1): Expr => {
    if (lo === hi) return vals[lo];
    const mid = (lo + hi + 1) >> 1;
    return {
      e: 'where',
      type: vals[lo].type,
      cond: lt(gk, starts[mid]),
      a: pick(vals, lo, mid - 1),
      b: pick(vals, mid, hi),
    };
  };
  // the index picks a part by g_k: index math only when there is one part
  const ix = parts.length === 1 ? parts[0].store.ix : undefined;
  body.push({
    s: 'store',
    buf: parts[0].store.buf,
    index: pick(parts.map((p) => p.store.index)),
    ...(ix ? { ix } : {}),
    value: pick(parts.map((p) => p.store.value)),
  });
  const grid = [...kernels.find((kn) => kn.grid.length > k)!.grid.slice(0, k), total];
  return {
    name,
    grid,
    body,
    meta: meta(
      kernels.flatMap((kn) => kn.meta.ops),
      reason,
    ),
  };
}

/** the names a kernel body declares: lets, loop variables and accumulators (not the grid's) */
function declaredNames(ss: readonly Stmt[], out = new Set<string>()): Set<string> {
  for (const s of ss) {
    if (s.s === 'let' || s.s === 'acc') out.add(s.name);
    else if (s.s === 'loop') {
      out.add(s.var);
      declaredNames(s.body, out);
    }
  }
  return out;
}
