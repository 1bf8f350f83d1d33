// Kernel construction from planned stage groups.
//   fused:  stages sharing a grid prefix; beyond it, runs of stages share serial loops (serialRuns).
//   multi:  multi-tensor apply. Each cluster (e.g. one parameter's Adam update: m', v', p') is
//           lowered over one flat grid variable; clusters with the same structure differ only in
//           buffer offsets and host-scalar slots, so they are concatenated into one grid over all
//           their elements. Where an offset (or slot) differs between segments in a way the flat
//           index cannot absorb, a balanced tree of `where(g0 < start, ..)` picks the segment's
//           value: always correct, and free when the memory plan lined the roles up.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren, mapExpr } from '../ir/kernel.js';
import type { Node } from '../ir/graph.js';
import { Emitter, newBlock, squeezed, type Home } from './emit.js';
import { addc, isConst, isVarIx, ixVar, substIx, varsOf, type Ix } from './index-algebra.js';
import type { SStage } from './stages.js';
import { argOf, numel } from '../ir/graph.js';
import { exprKey, stmtsKey } from './structure.js';

export type HomeFn = (n: Node) => Home | undefined;
export type StoreHomeFn = (st: SStage) => Home;

const meta = (ops: string[], reason?: string) => ({ ops, flops: 0, bytesRead: 0, bytesWritten: 0, reason });

export function lowerFused(
  name: string,
  stages: SStage[],
  grid: number[],
  homeOf: HomeFn,
  storeHomeOf: StoreHomeFn,
  uses: (n: Node) => number,
  reason?: string,
  sourceOf?: HomeFn,
): Kernel {
  const em = new Emitter(homeOf, uses, sourceOf);
  const body: Stmt[] = [];
  const top = newBlock(body);
  for (const run of serialRuns(stages, grid.length)) {
    let blk = top;
    const vars = run.dims.map((n) => {
      const v = em.fresh('i'), inner: Stmt[] = [];
      blk.stmts.push({ s: 'loop', var: v, extent: n, body: inner });
      blk = newBlock(inner, blk);
      return v;
    });
    for (const st of run.stages) {
      em.stage(
        { id: st.id, node: st.node, home: storeHomeOf(st), copy: st.copy, local: st.local },
        grid.length,
        blk,
        false,
        vars,
      );
    }
  }
  return { name, grid: grid.length ? grid : [1], body, meta: meta(em.ops, reason) };
}

/**
 * Consecutive stages of a kernel share their serial loops beyond the grid (one loop over a
 * batch-1 layer's features computes its pre-activation, mask and output, loading each value
 * once) when every value one reads from another stage of the run is at the same loop point:
 * the same test as joining a grid (schedule.ts rule 3), one level down.
 */
function serialRuns(stages: SStage[], k: number): { dims: number[]; stages: SStage[] }[] {
  const rest = (s: SStage) => squeezed(s.node.shape).slice(k).map(([, n]) => n);
  const runs: { dims: number[]; stages: SStage[] }[] = [];
  for (const s of stages) {
    const run = runs[runs.length - 1], mine = rest(s);
    let d = 0;
    if (run) while (d < run.dims.length && d < mine.length && run.dims[d] === mine[d]) d++;
    if (run && d > 0 && pointwise([...run.stages, s], k, d)) {
      run.dims = run.dims.slice(0, d);
      run.stages.push(s);
      continue;
    }
    runs.push({ dims: mine, stages: [s] });
  }
  return runs;
}

/**
 * reads between the stages (of values or of cells' entry values one of them writes) stay at their
 * own point of dims k..k+d-1
 */
function pointwise(stages: SStage[], k: number, d: number): boolean {
  for (const t of stages) for (const l of t.loads) {
    const from = stages.find((u) => u !== t && !u.copy && u.node === l.node)
      ?? (l.node.op === 'state'
        ? stages.find((u) => u !== t && u.dest.kind === 'cell' && u.dest.cell === argOf(l.node, 'state').cell)
        : undefined);
    if (!from) continue;
    const sq = squeezed(l.node.shape);
    if (sq.length < k + d) return false;
    for (let j = k; j < k + d; j++) if (!isVarIx(l.idx[sq[j][0]], `g${j}`)) return false;
  }
  return true;
}

/**
 * A cluster lowered over a flat index: its body, and for each memory access in body order (a
 * store after the loads of its value) the constant its index adds to g0, and for each host scalar
 * its slot. Clusters with one `key` differ only in those, so they concatenate (concatFlat).
 */
export interface FlatPart { n: number; body: Stmt[]; offsets: number[]; slots: number[]; key: string; ops: string[] }

/** an access's index and its linear form (none: not plain index math) */
interface Access { index: Expr; ix?: Ix }
/**
 * Rewrites a flat cluster's body through its memory accesses and host scalars, in body order
 * (depth first, a store's value before its index): the part's shape is this one walk, which
 * lowerFlat uses to read the offsets and slots, and concatFlat to put every segment's in place.
 */
interface AccessRewrite { access: (a: Access) => Access; scalar: (e: Extract<Expr, { e: 'scalar' }>) => Expr }

function rewriteAccesses(body: readonly Stmt[], rw: AccessRewrite): Stmt[] {
  const ex = (e: Expr): Expr => {
    if (e.e === 'load') {
      const { ix: _, ...load } = e;
      return { ...load, ...rw.access(e) };
    }
    if (e.e === 'scalar') return rw.scalar(e);
    return mapExpr(e, ex);
  };
  return body.map((s): Stmt => {
    if (s.s === 'let') return { ...s, value: ex(s.value) };
    if (s.s === 'store') {
      const { ix: _, ...store } = s, value = ex(s.value);
      return { ...store, value, ...rw.access(s) };
    }
    return s;
  });
}

/** a flat elementwise body: lets and stores only, no random draws */
function isFlat(body: readonly Stmt[]): boolean {
  const noRandom = (e: Expr): boolean => e.e !== 'random' && exprChildren(e).every(noRandom);
  return body.every((s) => (s.s === 'let' || s.s === 'store') && noRandom(s.value));
}

/** what an access index of a flat part of n elements adds to g0; null: it is not g0 plus a constant */
export function flatOffset(ix: Ix | undefined, n: number): number | null {
  if (!ix) return null;
  if (n === 1) return isConst(ix) ? ix.c : null; // a one-element part: g0 is 0, every index is its constant
  return isVarIx({ c: 0, terms: ix.terms }, 'g0') ? ix.c : null;
}

export function lowerFlat(
  stages: SStage[],
  homeOf: HomeFn,
  storeHomeOf: StoreHomeFn,
  uses: (n: Node) => number,
): FlatPart | null {
  const em = new Emitter(homeOf, uses);
  const body: Stmt[] = [];
  const top = newBlock(body);
  for (const st of stages) {
    em.stage({ id: st.id, node: st.node, home: storeHomeOf(st), copy: st.copy, local: st.local }, 1, top, true);
  }
  // loops or reductions are not a flat elementwise cluster; a random value depends on its index
  // within its own draw, which concatenation would shift
  if (!isFlat(body)) return null;
  const offsets: number[] = [], slots: number[] = [];
  const n = numel(stages[0].node.shape);
  let ok = true;
  rewriteAccesses(body, {
    access: (a) => { const o = flatOffset(a.ix, n); if (o === null) ok = false; else offsets.push(o); return a; },
    scalar: (e) => { slots.push(e.slot); return e; },
  });
  if (!ok) return null;
  return { n, body, offsets, slots, key: stmtsKey(body, { accesses: true }), ops: em.ops };
}

const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
const g0: Expr = { e: 'var', type: 'i32', name: 'g0' };

/** picks vals[i] for the segment holding g0 (starts[i] <= g0 < starts[i+1]) */
function select(starts: number[], vals: Expr[], lo = 0, hi = vals.length - 1): Expr {
  if (lo === hi) return vals[lo];
  const first = exprKey(vals[lo]);
  if (vals.slice(lo + 1, hi + 1).every((v) => exprKey(v) === first)) return vals[lo];
  const mid = (lo + hi + 1) >> 1;
  return {
    e: 'where',
    type: vals[lo].type,
    cond: { e: 'binary', type: 'bool', fn: 'lt', a: g0, b: i32(starts[mid]) },
    a: select(starts, vals, lo, mid - 1),
    b: select(starts, vals, mid, hi),
  };
}

/**
 * The multi-tensor kernel over the parts' concatenation. Where a host-scalar role's slots differ
 * between segments (per-parameter step counters: Adam's bias corrections), a select tree over g0
 * picks each segment's slot, which costs (measured on native, Adam over 1e6 elements in 10
 * parameters: ~30 vs ~70-100 GB/s). So that case returns a guarded PAIR, back to back: `fast`
 * reads segment 0's slots everywhere and runs when every role's slots hold the same float32 this
 * step (the common case: all counters equal); `general` (the tree) runs otherwise. Exactly one of
 * the two runs each step (runtime/manifest.ts guardHolds).
 */
export function concatFlat(name: string, parts: FlatPart[], reason: string): Kernel[] {
  const roles = parts[0].slots.map((_, r) => [...new Set(parts.map((p) => p.slots[r]))]).filter((g) => g.length > 1);
  const general = concatFlatWith(name, parts, reason, false);
  if (!roles.length) return [general];
  const fast = concatFlatWith(`${name}_fast`, parts, `${reason} (every per-segment host scalar equal this step)`, true);
  return [{ ...fast, when: { equal: roles, is: true } }, { ...general, when: { equal: roles, is: false } }];
}

function concatFlatWith(name: string, parts: FlatPart[], reason: string, shared: boolean): Kernel {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) { starts.push(total); total += p.n; }
  let access = 0, scalar = 0;
  const body = rewriteAccesses(parts[0].body, {
    access: (): Access => {
      const k = access++;
      const add = parts.map((p, i) => p.offsets[k] - starts[i]);
      if (add.every((a) => a === add[0])) {
        const ix = addc(ixVar('g0', total), add[0]);
        return { index: add[0] === 0 ? g0 : { e: 'binary', type: 'i32', fn: 'add', a: g0, b: i32(add[0]) }, ix };
      }
      return { index: { e: 'binary', type: 'i32', fn: 'add', a: g0, b: select(starts, add.map(i32)) } };
    },
    scalar: () => {
      const r = scalar++;
      return shared ? { e: 'scalar', type: 'f32', slot: parts[0].slots[r] }
        : select(starts, parts.map((p) => ({ e: 'scalar', type: 'f32', slot: p.slots[r] }) as Expr));
    },
  });
  return { name, grid: [total], body, meta: meta(parts[0].ops, reason) };
}

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
  if (kernels.some((kn) => kn.grid.length > k + 1
    || (kn.grid.length === k + 1 && kn.grid.slice(0, k).some((n, j) => n !== kernels[0].grid[j])))) {
    return null;
  }
  const starts: number[] = [];
  let total = 0;
  for (const e of ext) { starts.push(total); total += e; }
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
    const local: Expr = ext[j] === 1 ? i32(0)
      : j === 0 ? { e: 'where', type: 'i32', cond: lt(gk, ext[j] - 1), a: gk, b: i32(ext[j] - 1) }
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
    const follow = (ix: Ix): Ix | undefined => (kn.grid.length > k && varsOf(ix).has(`g${k}`) ? undefined
      : substIx(ix, (v) => (renamed.has(v.name) ? ixVar(rn(v.name), v.ext) : undefined)));
    const ex = (e: Expr): Expr => (e.e === 'var'
      ? (e.name === `g${k}` && kn.grid.length > k ? local : { ...e, name: rn(e.name) })
      : mapExpr(e, ex, follow));
    const st = (s: Stmt): Stmt => {
      switch (s.s) {
        case 'let': return { ...s, name: rn(s.name), value: ex(s.value) };
        case 'store': {
          const { ix, ...store } = s, moved = ix && follow(ix);
          return { ...store, index: ex(s.index), ...(moved ? { ix: moved } : {}), value: ex(s.value) };
        }
        case 'loop': return { ...s, var: rn(s.var), body: s.body.map(st) };
        case 'acc': return { ...s, name: rn(s.name) };
        case 'accum': return { ...s, name: rn(s.name), value: ex(s.value) };
      }
    };
    const body = kn.body.map(st);
    let i = 0;
    const pre: Stmt[] = [];
    while (i < body.length && body[i].s === 'acc') pre.push(body[i++]);
    const loop = body[i]?.s === 'loop' ? (body[i++] as Extract<Stmt, { s: 'loop' }>) : undefined;
    const post = body.slice(i, -1), store = body[body.length - 1];
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
      const follow = (ix: Ix) =>
        substIx(ix, (v) => (alias.has(v.name) ? ixVar(alias.get(v.name)!, v.ext) : undefined));
      const ex = (e: Expr): Expr => (e.e === 'var' && alias.has(e.name)
        ? { ...e, name: alias.get(e.name)! }
        : mapExpr(e, ex, follow));
      for (const s of p.loop!.body) {
        if (s.s === 'let') {
          const value = ex(s.value), key = exprKey(value);
          const prev = seen.get(key);
          if (prev) { alias.set(s.name, prev); continue; }
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
  return { name, grid, body, meta: meta(kernels.flatMap((kn) => kn.meta.ops), reason) };
}

/** the names a kernel body declares: lets, loop variables and accumulators (not the grid's) */
function declaredNames(ss: readonly Stmt[], out = new Set<string>()): Set<string> {
  for (const s of ss) {
    if (s.s === 'let' || s.s === 'acc') out.add(s.name);
    else if (s.s === 'loop') { out.add(s.var); declaredNames(s.body, out); }
  }
  return out;
}
