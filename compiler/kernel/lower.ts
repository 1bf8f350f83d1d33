// Kernel construction from planned stage groups.
//   fused:  stages sharing a grid prefix; beyond it, runs of stages share serial loops (serialRuns).
//   multi:  multi-tensor apply. Each cluster (e.g. one parameter's Adam update: m', v', p') is
//           lowered over one flat grid variable; clusters with the same structure differ only in
//           buffer offsets and host-scalar slots, so they are concatenated into one grid over all
//           their elements. Where an offset (or slot) differs between segments in a way the flat
//           index cannot absorb, a balanced tree of `where(g0 < start, ..)` picks the segment's
//           value: always correct, and free when the memory plan lined the roles up.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { mapExpr } from '../ir/kernel.js';
import type { Node } from '../ir/graph.js';
import { Emitter, newBlock, squeezed, type Home } from './emit.js';
import { isVarIx } from './index.js';
import type { SStage } from './stages.js';

export type HomeFn = (n: Node) => Home | undefined;
export type TargetFn = (st: SStage) => Home;

const meta = (ops: string[], reason?: string) => ({ ops, flops: 0, bytesRead: 0, bytesWritten: 0, reason });

export function lowerFused(name: string, stages: SStage[], grid: number[], homeOf: HomeFn, targetOf: TargetFn, uses: (n: Node) => number, reason?: string, sourceOf?: HomeFn): Kernel {
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
    for (const st of run.stages) em.stage({ id: st.id, node: st.node, home: targetOf(st), copy: st.copy, local: st.local }, grid.length, blk, false, vars);
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
    if (run && d > 0 && pointwise([...run.stages, s], k, d)) { run.dims = run.dims.slice(0, d); run.stages.push(s); continue; }
    runs.push({ dims: mine, stages: [s] });
  }
  return runs;
}

/** reads between the stages (of values or of cells' entry values one of them writes) stay at their own point of dims k..k+d-1 */
function pointwise(stages: SStage[], k: number, d: number): boolean {
  for (const t of stages) for (const l of t.loads) {
    const from = stages.find((u) => u !== t && !u.copy && u.node === l.node)
      ?? (l.node.op === 'state' ? stages.find((u) => u !== t && u.target.kind === 'cell' && u.target.cell === l.node.arg.cell) : undefined);
    if (!from) continue;
    const sq = squeezed(l.node.shape);
    if (sq.length < k + d) return false;
    for (let j = k; j < k + d; j++) if (!isVarIx(l.idx[sq[j][0]], `g${j}`)) return false;
  }
  return true;
}

/** a cluster lowered over a flat index, with its offsets and scalar slots pulled out */
export interface FlatPart { n: number; body: Stmt[]; offsets: number[]; slots: number[]; sig: string; ops: string[] }

export function lowerFlat(stages: SStage[], homeOf: HomeFn, targetOf: TargetFn, uses: (n: Node) => number): FlatPart | null {
  const em = new Emitter(homeOf, uses);
  const body: Stmt[] = [];
  const top = newBlock(body);
  for (const st of stages) em.stage({ id: st.id, node: st.node, home: targetOf(st), copy: st.copy, local: st.local }, 1, top, true);
  const offsets: number[] = [], slots: number[] = [];
  const n = stages[0].node.shape.reduce((a, b) => a * b, 1);
  let ok = true;
  const offsetOf = (e: Expr): number | null => {
    if (e.e === 'var' && e.name === 'g0') return 0;
    if (e.e === 'const' && n === 1) return e.value; // a one-element part: g0 is its start
    if (e.e === 'binary' && e.fn === 'add' && e.a.e === 'var' && e.a.name === 'g0' && e.b.e === 'const') return e.b.value;
    return null;
  };
  const ex = (e: Expr): Expr => {
    switch (e.e) {
      case 'load': {
        const o = offsetOf(e.index);
        if (o === null) { ok = false; return e; }
        offsets.push(o);
        return { ...e, index: { e: 'var', type: 'i32', name: `@${offsets.length - 1}` } };
      }
      case 'scalar': slots.push(e.slot); return { ...e, slot: -slots.length };
      default: return mapExpr(e, ex);
    }
  };
  const st = (s: Stmt): Stmt => {
    switch (s.s) {
      case 'let': return { ...s, value: ex(s.value) };
      case 'store': {
        const value = ex(s.value), o = offsetOf(s.index);
        if (o === null) { ok = false; return s; }
        offsets.push(o);
        return { ...s, value, index: { e: 'var', type: 'i32', name: `@${offsets.length - 1}` } };
      }
      default: ok = false; return s; // loops or reductions: not a flat elementwise cluster
    }
  };
  const abstract = body.map(st);
  if (!ok) return null;
  return { n, body: abstract, offsets, slots, sig: JSON.stringify(abstract), ops: em.ops };
}

const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
const g0: Expr = { e: 'var', type: 'i32', name: 'g0' };

/** picks vals[i] for the segment holding g0 (starts[i] <= g0 < starts[i+1]) */
function select(starts: number[], vals: Expr[], lo = 0, hi = vals.length - 1): Expr {
  if (lo === hi) return vals[lo];
  const same = vals.slice(lo, hi + 1).every((v) => JSON.stringify(v) === JSON.stringify(vals[lo]));
  if (same) return vals[lo];
  const mid = (lo + hi + 1) >> 1;
  return { e: 'where', type: vals[lo].type, cond: { e: 'binary', type: 'bool', fn: 'lt', a: g0, b: i32(starts[mid]) }, a: select(starts, vals, lo, mid - 1), b: select(starts, vals, mid, hi) };
}

export function concatFlat(name: string, parts: FlatPart[], reason: string): Kernel {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) { starts.push(total); total += p.n; }
  const index = (k: number): Expr => {
    const add = parts.map((p, i) => p.offsets[k] - starts[i]);
    const sel = add.every((a) => a === add[0]) ? i32(add[0]) : select(starts, add.map(i32));
    return sel.e === 'const' && sel.value === 0 ? g0 : { e: 'binary', type: 'i32', fn: 'add', a: g0, b: sel };
  };
  const ex = (e: Expr): Expr => {
    switch (e.e) {
      case 'load': return { ...e, index: e.index.e === 'var' && e.index.name.startsWith('@') ? index(+e.index.name.slice(1)) : e.index };
      case 'scalar': return e.slot < 0 ? select(starts, parts.map((p) => ({ e: 'scalar', type: 'f32', slot: p.slots[-e.slot - 1] }) as Expr)) : e;
      default: return mapExpr(e, ex);
    }
  };
  const body = parts[0].body.map((s): Stmt => {
    if (s.s === 'let') return { ...s, value: ex(s.value) };
    if (s.s === 'store') return { ...s, value: ex(s.value), index: index(+(s.index as { name: string }).name.slice(1)) };
    return s;
  });
  return { name, grid: [total], body, meta: meta(parts[0].ops, reason) };
}
