// Lowering of graph nodes to kernel IR. A "stage" computes one materialized node over its shape
// and stores it; everything between it and other materialized nodes (elementwise ops, views,
// inlined reductions) is emitted inline. Values are memoized per (node, index) in lexical blocks
// shared by all stages of a kernel, so a value loaded or computed once at a grid point is reused
// by later stages at the same point (an Adam kernel loads each of p, g, m, v once).
import type { DType, Node, NodeOf, ReduceOp } from '../ir/graph.js';
import { isUnary, isView } from '../ir/graph.js';
import { OPS } from '../ir/ops.js';
import type { Expr, KType, Stmt } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';
import type { Ix } from './index.js';
import { flatten, ixConst, ixKey, ixVar, toExpr, unflatten } from './index.js';
import { throughViews, type Bound } from './views.js';
import { numel } from '../ir/graph.js';
import { sumScheme } from '../ir/accumulate.js';

/** where a materialized value (or an input/state source) lives */
export interface Home { buf: number; offset: number; shape: readonly number[]; storage: 'f32' | 'i32' }
export interface Stage {
  id: number; node: Node; home: Home;
  /** store a copy of `node` from its primary home */ copy?: boolean;
  /** compute and bind only: every reader is a later stage of this kernel at the same index */ local?: boolean;
}
/** a recorded memory read: which node, at which index of its own shape */
export interface Load { node: Node; idx: Ix[] }

export const ktype = (d: DType): KType => (d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'bool');
/** dims of size > 1: the iteration space of a stage */
export const squeezed = (shape: readonly number[]) => shape.map((n, i) => [i, n]).filter(([, n]) => n !== 1);

export interface Block { stmts: Stmt[]; memo: Map<string, Expr>; parent: Block | null }
/** a bounds condition on the index (from slices and pads), with its memo key */
type Guard = { e: Expr; key: string } | null;
/** a value wanted: node n at idx, in blk, under guard */
interface Want { n: Node; idx: Ix[]; blk: Block; guard: Guard }
/** the sources a value needs, in order, and how to combine their values into it */
interface Plan { deps: Want[]; finish: (vals: Expr[]) => Expr }
export const newBlock = (stmts: Stmt[], parent: Block | null = null): Block => ({ stmts, memo: new Map(), parent });

const c = (type: KType, value: number): Expr => ({ e: 'const', type, value });
const andE = (a: Expr | null, b: Expr): Expr => (a ? { e: 'binary', type: 'bool', fn: 'and', a, b } : b);

/**
 * Deeper values are bound to a `let`, so no expression tree nests more than this whatever the
 * graph's depth (a 2,000-op elementwise chain is a sequence of lets): every pass and renderer
 * over expressions may recurse, and WGSL parsers and the v8 serializer have depth limits too.
 */
export const MAX_EXPR_DEPTH = 32;
const depths = new WeakMap<Expr, number>();
/** nesting depth of `e` (memoized: emitted values are built bottom-up) */
export function exprDepth(e: Expr): number {
  let d = depths.get(e);
  if (d === undefined) depths.set(e, d = 1 + Math.max(0, ...exprChildren(e).map(exprDepth)));
  return d;
}

export class Emitter {
  readonly ops: string[] = [];
  readonly loads: Load[] = [];
  private n = 0;
  private self: Node | null = null;
  /** sourceOf: where an input/state node lives, for a stage copying it (its own home is scratch) */
  constructor(private homeOf: (n: Node) => Home | undefined, private uses: (n: Node) => number, private sourceOf?: (n: Node) => Home | undefined, private prefix = '') {}

  fresh(p: string) { return `${p}${this.prefix}${this.n++}`; }

  /**
   * lowers one stage into `top`: the first k iteration dims are grid vars, the next ones the
   * serial loops `shared` already opened around `top` (stages sharing a loop), the rest its own
   */
  stage(st: Stage, k: number, top: Block, flat = false, shared: readonly string[] = []): void {
    const dims = squeezed(st.node.shape);
    let idx: Ix[] = st.node.shape.map(() => ixConst(0));
    let blk = top;
    // flat: one grid variable over all elements (multi-tensor kernels concatenate these)
    if (flat) idx = unflatten(ixVar('g0', numel(st.node.shape)), st.node.shape);
    else dims.forEach(([p, n], j) => {
      if (j < k) { idx[p] = ixVar(`g${j}`, n); return; }
      if (j < k + shared.length) { idx[p] = ixVar(shared[j - k], n); return; }
      const v = this.fresh('i');
      const body: Stmt[] = [];
      blk.stmts.push({ s: 'loop', var: v, extent: n, body });
      blk = newBlock(body, blk);
      idx[p] = ixVar(v, n);
    });
    this.self = st.copy ? null : st.node;
    let value = this.emit(st.node, idx, blk, null);
    this.self = null;
    if (st.local) return;
    if (st.node.dtype === 'bool') value = { e: 'cast', type: 'i32', a: value };
    const ix = flatten(idx, st.home.shape, st.home.offset);
    blk.stmts.push({ s: 'store', buf: st.home.buf, index: toExpr(ix), ix, value });
  }

  /** `e` bound to a fresh `let` in `blk` (also a value an op's expansion uses more than once) */
  private let(blk: Block, e: Expr): Expr {
    const name = this.fresh('v');
    blk.stmts.push({ s: 'let', name, value: e });
    return { e: 'var', type: e.type, name };
  }

  /** `e` bound to a `let` and memoized under `key` */
  private bind(blk: Block, key: string, e: Expr): Expr {
    const v = this.let(blk, e);
    blk.memo.set(key, v);
    return v;
  }

  /**
   * The value of `n` at `idx`, emitted into `blk`. An explicit stack of frames, not recursion: a
   * chain of thousands of ops between two stored values is one walk. Frames run their sources
   * in order, each to completion, so statements, memo hits and `ops` come out in depth-first order.
   */
  emit(n: Node, idx: Ix[], blk: Block, guard: Guard): Expr {
    const first = this.plan({ n, idx, blk, guard });
    if ('done' in first) return first.done;
    const stack: (Plan & { vals: Expr[] })[] = [{ ...first, vals: [] }];
    for (;;) {
      const top = stack[stack.length - 1];
      if (top.vals.length < top.deps.length) {
        const p = this.plan(top.deps[top.vals.length]);
        if ('done' in p) top.vals.push(p.done); else stack.push({ ...p, vals: [] });
        continue;
      }
      stack.pop();
      const v = top.finish(top.vals);
      if (!stack.length) return v;
      stack[stack.length - 1].vals.push(v);
    }
  }

  /** one step of emit: a finished value, or the sources to emit first and how to combine them */
  private plan({ n, idx, blk, guard }: Want): { done: Expr } | Plan {
    const key = `${n.id}:${idx.map(ixKey).join(',')}${guard ? `|${guard.key}` : ''}`;
    for (let b: Block | null = blk; b; b = b.parent) { const hit = b.memo.get(key); if (hit) return { done: hit }; }
    const t = ktype(n.dtype);
    const home = n !== this.self ? this.homeOf(n)
      : n.op === 'input' || n.op === 'state' ? this.sourceOf?.(n) : undefined;
    if (home) {
      this.loads.push({ node: n, idx });
      const ix = flatten(idx, home.shape, home.offset), index = toExpr(ix);
      // a guarded index (0 out of bounds) is not plain index math: it carries no ix
      const guarded: Expr | null = guard && { e: 'where', type: 'i32', cond: guard.e, a: index, b: c('i32', 0) };
      let e: Expr = guarded
        ? { e: 'load', type: home.storage, buf: home.buf, index: guarded }
        : { e: 'load', type: home.storage, buf: home.buf, index, ix };
      if (t === 'bool') e = { e: 'cast', type: 'bool', a: e };
      return { done: this.bind(blk, key, e) };
    }
    const record = (e: Expr): Expr => {
      this.ops.push(n.op);
      const bound = n === this.self || this.uses(n) > 1 || e.e === 'var' || exprDepth(e) >= MAX_EXPR_DEPTH;
      return bound ? this.bind(blk, key, e) : (blk.memo.set(key, e), e);
    };
    const here = (s: Node): Want => ({ n: s, idx, blk, guard });
    if (isView(n.op)) {
      const a = throughViews(n, idx, (m) => m !== n && m !== this.self && !!this.homeOf(m));
      const g = this.guardOf(a.bounds, guard);
      const finish = ([inner]: Expr[]) =>
        (a.bounds.length ? record({ e: 'where', type: t, cond: g!.e, a: inner, b: c(t, 0) }) : inner);
      return { deps: [{ n: a.node, idx: a.idx, blk, guard: g }], finish };
    }
    switch (n.op) {
      case 'const': return { done: c(t, t === 'bool' ? +!!n.arg.value : n.arg.value) };
      case 'scalar': return { done: { e: 'scalar', type: 'f32', slot: n.arg.slot } };
      case 'iota': {
        const i = toExpr(idx[n.arg.axis]);
        return { done: t === 'i32' ? i : { e: 'cast', type: t, a: i } };
      }
      case 'data':
        if (n.arg.values.length === 1) return { done: c(t, n.arg.values[0]) };
        throw new Error('kernel lowering: a data node must become a state cell before scheduling');
      case 'input': case 'state':
        throw new Error(`kernel lowering: no placement for ${n.op} ${JSON.stringify(n.arg)}`);
      case 'sum': case 'rmax': {
        const r = this.reduce(n, idx, blk);
        return { deps: [{ n: n.src[0], idx: r.idx, blk: r.inner, guard }], finish: ([v]) => {
          r.inner.stmts.push({ s: 'accum', name: r.name, value: v });
          return record({ e: 'var', type: t, name: r.name });
        } };
      }
      case 'where':
        return { deps: n.src.map(here), finish: ([cond, a, b]) => record({ e: 'where', type: t, cond, a, b }) };
      case 'cast': return { deps: n.src.map(here), finish: ([a]) => record({ e: 'cast', type: t, a }) };
      case 'fma':
        return { deps: n.src.map(here), finish: ([a, b, x]) => record({ e: 'fma', type: 'f32', a, b, c: x }) };
      case 'random': {
        // a pure function of the element's position in the draw's own shape: views of it (an
        // expand) read the same element, and recomputing it in another kernel gives the same value
        const { dist, draw } = n.arg, index = toExpr(flatten(idx, n.shape, 0));
        const finish = (pieces: Expr[]) => record({ e: 'random', type: 'f32', dist, draw, index, pieces });
        return { deps: n.src.map(here), finish };
      }
      default: {
        // an elementwise op: the kernel function the catalog maps it to
        const deps = n.src.map(here);
        if (isUnary(n.op)) {
          const fn = OPS[n.op].kernel;
          if (typeof fn === 'string') return { deps, finish: ([a]) => record({ e: 'unary', type: t, fn, a }) };
          const named = (e: Expr) => (e.e === 'var' || e.e === 'const' ? e : this.let(blk, e));
          return { deps, finish: ([a]) => record(fn(a, named)) };
        }
        const fn = OPS[n.op].kernel;
        return { deps, finish: ([a, b]) => record({ e: 'binary', type: t, fn, a, b }) };
      }
    }
  }

  private guardOf(bounds: Bound[], outer: Guard): Guard {
    if (!bounds.length) return outer;
    let e = outer?.e ?? null;
    for (const b of bounds) {
      const x = toExpr(b.ix);
      e = andE(e, { e: 'binary', type: 'bool', fn: 'ge', a: x, b: c('i32', b.lo) });
      e = andE(e, { e: 'binary', type: 'bool', fn: 'lt', a: x, b: c('i32', b.hi) });
    }
    return { e: e!, key: `${outer?.key ?? ''}&${bounds.map((b) => `${ixKey(b.ix)}<${b.hi}`).join('&')}` };
  }

  /** an inlined reduction: an accumulator and a serial loop nest over the reduced axes, for its source */
  private reduce(n: NodeOf<ReduceOp>, idx: Ix[], blk: Block): { name: string; inner: Block; idx: Ix[] } {
    const t = ktype(n.dtype), name = this.fresh('acc');
    const src = n.src[0], sidx = [...idx];
    const terms = n.arg.axes.reduce((m, a) => m * src.shape[a], 1);
    blk.stmts.push({
      s: 'acc', name, type: t, fn: n.op === 'sum' ? 'add' : 'max',
      init: n.op === 'sum' ? 0 : t === 'f32' ? -Infinity : -2147483648,
      ...(n.op === 'sum' && t === 'f32' && sumScheme(terms) === 'cascade' ? { scheme: 'cascade' as const } : {}),
    });
    let inner = blk;
    for (const a of n.arg.axes) {
      if (src.shape[a] === 1) { sidx[a] = ixConst(0); continue; }
      const v = this.fresh('r'), body: Stmt[] = [];
      inner.stmts.push({ s: 'loop', var: v, extent: src.shape[a], body, reduce: true });
      inner = newBlock(body, inner);
      sidx[a] = ixVar(v, src.shape[a]);
    }
    return { name, inner, idx: sidx };
  }
}
