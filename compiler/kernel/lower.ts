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
import { addc, isConst, isVarIx, ixConst, ixVar, type Ix } from './index-algebra.js';
import type { SStage } from './stages.js';
import type { Region } from './borders.js';
import { argOf, numel } from '../ir/graph.js';
import { exprKey, stmtsKey } from './structure.js';

export type HomeFn = (n: Node) => Home | undefined;
export type StoreHomeFn = (st: SStage) => Home;

export const meta = (ops: string[], reason?: string) => ({ ops, flops: 0, bytesRead: 0, bytesWritten: 0, reason });

export function lowerFused(
  name: string,
  stages: SStage[],
  grid: number[],
  homeOf: HomeFn,
  storeHomeOf: StoreHomeFn,
  uses: (n: Node) => number,
  reason?: string,
  sourceOf?: HomeFn,
  region?: Region,
): Kernel {
  const em = new Emitter(homeOf, uses, sourceOf);
  const body: Stmt[] = [];
  const top = newBlock(body);
  for (const run of serialRuns(stages, grid.length)) {
    let blk = top;
    const vars = run.dims.map((n) => {
      const v = em.fresh('i'),
        inner: Stmt[] = [];
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
        region,
      );
    }
  }
  const g = region ? region.extent : grid;
  return { name, grid: g.length ? g : [1], body, meta: meta(em.ops, reason) };
}

/**
 * Consecutive stages of a kernel share their serial loops beyond the grid (one loop over a
 * batch-1 layer's features computes its pre-activation, mask and output, loading each value
 * once) when every value one reads from another stage of the run is at the same loop point:
 * the same test as joining a grid (schedule.ts rule 3), one level down.
 */
function serialRuns(stages: SStage[], k: number): { dims: number[]; stages: SStage[] }[] {
  const rest = (s: SStage) =>
    squeezed(s.node.shape)
      .slice(k)
      .map(([, n]) => n);
  const runs: { dims: number[]; stages: SStage[] }[] = [];
  for (const s of stages) {
    const run = runs[runs.length - 1],
      mine = rest(s);
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
  for (const t of stages)
    for (const l of t.loads) {
      const from =
        stages.find((u) => u !== t && !u.copy && u.node === l.node) ??
        (l.node.op === 'state'
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
export interface FlatPart {
  n: number;
  body: Stmt[];
  /** per access: what it adds to g0, or for a broadcast load (`absolute`) the element it reads */
  offsets: number[];
  absolute: boolean[];
  slots: number[];
  key: string;
  ops: string[];
}

/** an access's index and its linear form (none: not plain index math) */
interface Access {
  index: Expr;
  ix?: Ix;
}
/**
 * Rewrites a flat cluster's body through its memory accesses and host scalars, in body order
 * (depth first, a store's value before its index): the part's shape is this one walk, which
 * lowerFlat uses to read the offsets and slots, and concatFlat to put every segment's in place.
 */
interface AccessRewrite {
  access: (a: Access, kind: 'load' | 'store') => Access;
  scalar: (e: Extract<Expr, { e: 'scalar' }>) => Expr;
}

function rewriteAccesses(body: readonly Stmt[], rw: AccessRewrite): Stmt[] {
  const ex = (e: Expr): Expr => {
    if (e.e === 'load') {
      const { ix: _, ...load } = e;
      return { ...load, ...rw.access(e, 'load') };
    }
    if (e.e === 'scalar') return rw.scalar(e);
    return mapExpr(e, ex);
  };
  return body.map((s): Stmt => {
    if (s.s === 'let') return { ...s, value: ex(s.value) };
    if (s.s === 'store') {
      const { ix: _, ...store } = s,
        value = ex(s.value);
      return { ...store, value, ...rw.access(s, 'store') };
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

/**
 * How a flat part of n elements reaches memory at `ix`: 'rel', g0 plus a constant (flatOffset); 'abs', a load of
 * one fixed element every point reads (a one-element value broadcast: gradient clipping's coefficient), which
 * concatenation leaves in place; null: neither. A one-element part's constant indices are all 'rel' (g0 is 0).
 */
export function flatAccess(ix: Ix | undefined, n: number, kind: 'load' | 'store'): 'rel' | 'abs' | null {
  if (flatOffset(ix, n) !== null) return 'rel';
  return kind === 'load' && ix && isConst(ix) ? 'abs' : null;
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
  const offsets: number[] = [],
    absolute: boolean[] = [],
    slots: number[] = [];
  const n = numel(stages[0].node.shape);
  let ok = true;
  rewriteAccesses(body, {
    access: (a, kind) => {
      const how = flatAccess(a.ix, n, kind);
      if (how === null) ok = false;
      else (offsets.push(how === 'rel' ? flatOffset(a.ix, n)! : a.ix!.c), absolute.push(how === 'abs'));
      return a;
    },
    scalar: (e) => {
      slots.push(e.slot);
      return e;
    },
  });
  if (!ok) return null;
  return { n, body, offsets, absolute, slots, key: stmtsKey(body, { accesses: true }), ops: em.ops };
}

export const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
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
  return [
    { ...fast, when: { equal: roles, is: true } },
    { ...general, when: { equal: roles, is: false } },
  ];
}

function concatFlatWith(name: string, parts: FlatPart[], reason: string, shared: boolean): Kernel {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) {
    starts.push(total);
    total += p.n;
  }
  let access = 0,
    scalar = 0;
  const body = rewriteAccesses(parts[0].body, {
    access: (): Access => {
      const k = access++;
      // a one-element part reads the same element either way (its g0 - start is 0): it follows the others
      const abs = parts.map((p) => p.absolute[k]);
      const broadcast = parts.some((p, i) => abs[i] && p.n > 1);
      if (broadcast) {
        const at = parts.map((p) => p.offsets[k]);
        const same = at.every((a) => a === at[0]);
        if (same && parts.every((p, i) => abs[i] || p.n === 1)) return { index: i32(at[0]), ix: ixConst(at[0]) };
        // parts that disagree (one broadcasts a scalar where another reads its own element): per segment
        const rel = (i: number): Expr => ({ e: 'binary', type: 'i32', fn: 'add', a: g0, b: i32(at[i] - starts[i]) });
        return {
          index: select(
            starts,
            parts.map((p, i) => (abs[i] || p.n === 1 ? i32(at[i]) : rel(i))),
          ),
        };
      }
      const add = parts.map((p, i) => p.offsets[k] - starts[i]);
      if (add.every((a) => a === add[0])) {
        const ix = addc(ixVar('g0', total), add[0]);
        return { index: add[0] === 0 ? g0 : { e: 'binary', type: 'i32', fn: 'add', a: g0, b: i32(add[0]) }, ix };
      }
      return { index: { e: 'binary', type: 'i32', fn: 'add', a: g0, b: select(starts, add.map(i32)) } };
    },
    scalar: () => {
      const r = scalar++;
      return shared
        ? { e: 'scalar', type: 'f32', slot: parts[0].slots[r] }
        : select(
            starts,
            parts.map((p) => ({ e: 'scalar', type: 'f32', slot: p.slots[r] }) as Expr),
          );
    },
  });
  return { name, grid: [total], body, meta: meta(parts[0].ops, reason) };
}
