// Lowering of graph nodes to kernel IR. A "stage" computes one materialized node over its shape
// and stores it; everything between it and other materialized nodes (elementwise ops, views,
// inlined reductions) is emitted inline. Values are memoized per (node, index) in lexical blocks
// shared by all stages of a kernel, so a value loaded or computed once at a grid point is reused
// by later stages at the same point (an Adam kernel loads each of p, g, m, v once).
// One walk (`Walk`) decides all of that; where its statements go is its `Sink`: kernel IR (the
// `Emitter` here), or their cost and the loads they read, for scheduling (analysis.ts).
import { isUnary, isView, numel, type DType, type Node, type NodeOf, type ReduceOp } from '../ir/graph.js';
import { OPS } from '../ir/ops.js';
import { exprChildren, type Expr, type KType, type Stmt } from '../ir/kernel.js';
import { addc, flatten, ixConst, ixKey, ixVar, mul, range, toExpr, unflatten, type Ix } from './index-algebra.js';
import type { Region } from './borders.js';
import { throughViews, type Bound } from './views.js';
import { sumScheme } from '../ir/accumulate.js';

/** where a materialized value (or an input/state source) lives */
export interface Home {
  buf: number;
  offset: number;
  shape: readonly number[];
  storage: 'f32' | 'i32';
  /** elements in the buffer (where known): a guarded load whose index always lies within it needs no guard */
  limit?: number;
}
type HomeOf = (n: Node) => Home | undefined;
export interface Stage {
  id: number;
  node: Node;
  home: Home;
  /** store a copy of `node` from its primary home */ copy?: boolean;
  /** compute and bind only: every reader is a later stage of this kernel at the same index */ local?: boolean;
}
/** a recorded memory read: which node, at which index of its own shape */
export interface Load {
  node: Node;
  idx: Ix[];
}

export const ktype = (d: DType): KType => (d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'bool');
/** dims of size > 1: the iteration space of a stage */
export const squeezed = (shape: readonly number[]) => shape.map((n, i) => [i, n]).filter(([, n]) => n !== 1);

/** a lexical block of the walk: the values memoized in it, seen by every block nested in it */
export interface Scope {
  memo: Map<string, Expr>;
  parent: Scope | null;
}
/** a block of kernel IR statements */
export interface Block extends Scope {
  stmts: Stmt[];
  parent: Block | null;
}
/** a bounds condition on the index (from slices and pads), with its memo key */
export type Guard = { e: Expr; key: string } | null;
/** a value wanted: node n at idx, in blk, under guard */
interface Want<B> {
  n: Node;
  idx: Ix[];
  blk: B;
  guard: Guard;
}
/** the sources a value needs, in order, and how to combine their values into it */
interface Plan<B> {
  deps: Want<B>[];
  finish: (vals: Expr[]) => Expr;
}
export const newBlock = (stmts: Stmt[], parent: Block | null = null): Block => ({ stmts, memo: new Map(), parent });

/** where the walk's statements go; `self`: the node is the stage's own (a copy reads its source) */
export interface Sink<B extends Scope> {
  /** is n read from memory rather than computed here? */
  reads(n: Node, self: boolean): boolean;
  /** binds `name` in blk to n's value at idx (as stored: `reads` said so), returning the bound variable */
  load(blk: B, name: string, n: Node, idx: Ix[], guard: Guard, self: boolean): Expr;
  let(blk: B, name: string, value: Expr): void;
  /** opens a serial loop in blk, returning its body */
  loop(blk: B, v: string, extent: number, reduce: boolean): B;
  /** declares reduction n's accumulator */
  acc(blk: B, name: string, n: NodeOf<ReduceOp>): void;
  accum(blk: B, name: string, value: Expr): void;
}
/** what a stage of the walk computes: its value, at which index, in which block */
export interface Computed<B> {
  value: Expr;
  idx: Ix[];
  blk: B;
}

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
  if (d === undefined) depths.set(e, (d = 1 + Math.max(0, ...exprChildren(e).map(exprDepth))));
  return d;
}

/** the walk over a kernel's stages: what every value is, where it is memoized, which loads it reads */
export class Walk<B extends Scope> {
  readonly ops: string[] = [];
  readonly loads: Load[] = [];
  private n = 0;
  private self: Node | null = null;
  constructor(
    private sink: Sink<B>,
    private uses: (n: Node) => number,
    private prefix = '',
  ) {}

  fresh(p: string) {
    return `${p}${this.prefix}${this.n++}`;
  }

  /**
   * walks one stage from `top` to its value, which the caller stores: the first k iteration dims
   * are grid vars, the next ones the serial loops `shared` already opened around `top` (stages
   * sharing a loop), the rest its own
   */
  compute(
    st: Pick<Stage, 'node' | 'copy'>,
    k: number,
    top: B,
    flat = false,
    shared: readonly string[] = [],
    region?: Region,
  ): Computed<B> {
    const dims = squeezed(st.node.shape);
    let idx: Ix[] = st.node.shape.map(() => ixConst(0));
    let blk = top;
    // flat: one grid variable over all elements (multi-tensor kernels concatenate these)
    if (flat) idx = unflatten(ixVar('g0', numel(st.node.shape)), st.node.shape);
    else
      dims.forEach(([p, n], j) => {
        if (j < k) {
          // in a box of the grid (compiler/kernel/borders.ts), g_j counts from the box's origin
          idx[p] = region
            ? addc(mul(ixVar(`g${j}`, region.extent[j]), region.step[j]), region.origin[j])
            : ixVar(`g${j}`, n);
          return;
        }
        if (j < k + shared.length) {
          idx[p] = ixVar(shared[j - k], n);
          return;
        }
        const v = this.fresh('i');
        blk = this.sink.loop(blk, v, n, false);
        idx[p] = ixVar(v, n);
      });
    this.self = st.copy ? null : st.node;
    const value = this.emit(st.node, idx, blk, null);
    this.self = null;
    return { value, idx, blk };
  }

  /** `e` bound to a fresh `let` in `blk` (also a value an op's expansion uses more than once) */
  private let(blk: B, e: Expr): Expr {
    const name = this.fresh('v');
    this.sink.let(blk, name, e);
    return { e: 'var', type: e.type, name };
  }

  /** `e` bound to a `let` and memoized under `key` */
  private bind(blk: B, key: string, e: Expr): Expr {
    const v = this.let(blk, e);
    blk.memo.set(key, v);
    return v;
  }

  /**
   * The value of `n` at `idx`, emitted into `blk`. An explicit stack of frames, not recursion: a
   * chain of thousands of ops between two stored values is one walk. Frames run their sources
   * in order, each to completion, so statements, memo hits and `ops` come out in depth-first order.
   */
  emit(n: Node, idx: Ix[], blk: B, guard: Guard): Expr {
    const first = this.plan({ n, idx, blk, guard });
    if ('done' in first) return first.done;
    const stack: (Plan<B> & { vals: Expr[] })[] = [{ ...first, vals: [] }];
    for (;;) {
      const top = stack[stack.length - 1];
      if (top.vals.length < top.deps.length) {
        const p = this.plan(top.deps[top.vals.length]);
        if ('done' in p) top.vals.push(p.done);
        else stack.push({ ...p, vals: [] });
        continue;
      }
      stack.pop();
      const v = top.finish(top.vals);
      if (!stack.length) return v;
      stack[stack.length - 1].vals.push(v);
    }
  }

  /** one step of emit: a finished value, or the sources to emit first and how to combine them */
  private plan({ n, idx, blk, guard }: Want<B>): { done: Expr } | Plan<B> {
    const key = `${n.id}:${idx.map(ixKey).join(',')}${guard ? `|${guard.key}` : ''}`;
    for (let b: Scope | null = blk; b; b = b.parent) {
      const hit = b.memo.get(key);
      if (hit) return { done: hit };
    }
    const t = ktype(n.dtype);
    if (this.sink.reads(n, n === this.self)) {
      this.loads.push({ node: n, idx });
      const v = this.sink.load(blk, this.fresh('v'), n, idx, guard, n === this.self);
      blk.memo.set(key, v);
      return { done: v };
    }
    const record = (e: Expr): Expr => {
      this.ops.push(n.op);
      const bound = n === this.self || this.uses(n) > 1 || e.e === 'var' || exprDepth(e) >= MAX_EXPR_DEPTH;
      return bound ? this.bind(blk, key, e) : (blk.memo.set(key, e), e);
    };
    const here = (s: Node): Want<B> => ({ n: s, idx, blk, guard });
    if (isView(n.op)) {
      const a = throughViews(n, idx, (m) => m !== n && m !== this.self && this.sink.reads(m, false));
      const g = this.guardOf(a.bounds, guard);
      const finish = ([inner]: Expr[]) =>
        g !== guard ? record({ e: 'where', type: t, cond: g!.e, a: inner, b: c(t, 0) }) : inner;
      return { deps: [{ n: a.node, idx: a.idx, blk, guard: g }], finish };
    }
    switch (n.op) {
      case 'const':
        return { done: c(t, t === 'bool' ? +!!n.arg.value : n.arg.value) };
      case 'scalar':
        return { done: { e: 'scalar', type: 'f32', slot: n.arg.slot } };
      case 'iota': {
        const i = toExpr(idx[n.arg.axis]);
        return { done: t === 'i32' ? i : { e: 'cast', type: t, a: i } };
      }
      case 'data':
        if (n.arg.values.length === 1) return { done: c(t, n.arg.values[0]) };
        throw new Error('kernel lowering: a data node must become a state cell before scheduling');
      case 'input':
      case 'state':
        throw new Error(`kernel lowering: no placement for ${n.op} ${JSON.stringify(n.arg)}`);
      case 'sum':
      case 'rmax': {
        const r = this.reduce(n, idx, blk);
        return {
          deps: [{ n: n.src[0], idx: r.idx, blk: r.inner, guard }],
          finish: ([v]) => {
            this.sink.accum(r.inner, r.name, v);
            return record({ e: 'var', type: t, name: r.name });
          },
        };
      }
      case 'where':
        return { deps: n.src.map(here), finish: ([cond, a, b]) => record({ e: 'where', type: t, cond, a, b }) };
      case 'cast':
        return { deps: n.src.map(here), finish: ([a]) => record({ e: 'cast', type: t, a }) };
      case 'allreduce': // the kernel stores the local value; the collective runs after it
        return { deps: n.src.map(here), finish: ([a]) => record(a) };
      case 'fma':
        return { deps: n.src.map(here), finish: ([a, b, x]) => record({ e: 'fma', type: 'f32', a, b, c: x }) };
      case 'random': {
        // a pure function of the element's position in the draw's own shape: views of it (an
        // expand) read the same element, and recomputing it in another kernel gives the same value
        const { dist, draw } = n.arg,
          index = toExpr(flatten(idx, n.shape, 0));
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
    const before = e;
    for (const b of bounds) {
      const x = toExpr(b.ix),
        [lo, hi] = range(b.ix);
      // a side its range already decides is left out (a pad after the first row is never below it)
      if (lo < b.lo) e = andE(e, { e: 'binary', type: 'bool', fn: 'ge', a: x, b: c('i32', b.lo) });
      if (hi >= b.hi) e = andE(e, { e: 'binary', type: 'bool', fn: 'lt', a: x, b: c('i32', b.hi) });
    }
    if (e === before) return outer; // every side decided: these bounds hold wherever the outer guard does
    return { e: e!, key: `${outer?.key ?? ''}&${bounds.map((b) => `${ixKey(b.ix)}<${b.hi}`).join('&')}` };
  }

  /** an inlined reduction: an accumulator and a serial loop nest over the reduced axes, for its source */
  private reduce(n: NodeOf<ReduceOp>, idx: Ix[], blk: B): { name: string; inner: B; idx: Ix[] } {
    const name = this.fresh('acc');
    const src = n.src[0],
      sidx = [...idx];
    this.sink.acc(blk, name, n);
    let inner = blk;
    for (const a of n.arg.axes) {
      if (src.shape[a] === 1) {
        sidx[a] = ixConst(0);
        continue;
      }
      const v = this.fresh('r');
      inner = this.sink.loop(inner, v, src.shape[a], true);
      sidx[a] = ixVar(v, src.shape[a]);
    }
    return { name, inner, idx: sidx };
  }
}

/** the walk building kernel IR: loads from the homes of stored values, stages stored to theirs */
export class Emitter extends Walk<Block> {
  /** sourceOf: where an input/state node lives, for a stage copying it (its own home is scratch) */
  constructor(homeOf: HomeOf, uses: (n: Node) => number, sourceOf?: HomeOf, prefix = '') {
    super(new CodeSink(homeOf, sourceOf), uses, prefix);
  }

  /**
   * lowers one stage into `top`: the first k iteration dims are grid vars, the next ones the
   * serial loops `shared` already opened around `top` (stages sharing a loop), the rest its own
   */
  stage(st: Stage, k: number, top: Block, flat = false, shared: readonly string[] = [], region?: Region): void {
    const { value, idx, blk } = this.compute(st, k, top, flat, shared, region);
    if (st.local) return;
    const stored: Expr = st.node.dtype === 'bool' ? { e: 'cast', type: 'i32', a: value } : value;
    const ix = flatten(idx, st.home.shape, st.home.offset);
    blk.stmts.push({ s: 'store', buf: st.home.buf, index: toExpr(ix), ix, value: stored });
  }
}

class CodeSink implements Sink<Block> {
  constructor(
    private homeOf: HomeOf,
    private sourceOf?: HomeOf,
  ) {}

  private home(n: Node, self: boolean): Home | undefined {
    if (!self) return this.homeOf(n);
    return n.op === 'input' || n.op === 'state' ? this.sourceOf?.(n) : undefined;
  }

  reads(n: Node, self: boolean): boolean {
    return !!this.home(n, self);
  }

  load(blk: Block, name: string, n: Node, idx: Ix[], guard: Guard, self: boolean): Expr {
    const home = this.home(n, self)!;
    const ix = flatten(idx, home.shape, home.offset),
      index = toExpr(ix);
    // a guarded index (0 out of bounds, no ix) keeps the load in its buffer; the view that made the guard selects
    // the value (Walk.plan), so an index inside the buffer everywhere is loaded as it is (a vector, not a gather)
    const [lo, hi] = range(ix, true);
    const inside = home.limit !== undefined && lo >= 0 && hi < home.limit;
    const guarded =
      guard && !inside ? ({ e: 'where', type: 'i32', cond: guard.e, a: index, b: c('i32', 0) } as const) : null;
    let e: Expr = guarded
      ? { e: 'load', type: home.storage, buf: home.buf, index: guarded }
      : { e: 'load', type: home.storage, buf: home.buf, index, ix };
    if (n.dtype === 'bool') e = { e: 'cast', type: 'bool', a: e };
    this.let(blk, name, e);
    return { e: 'var', type: e.type, name };
  }

  let(blk: Block, name: string, value: Expr): void {
    blk.stmts.push({ s: 'let', name, value });
  }

  loop(blk: Block, v: string, extent: number, reduce: boolean): Block {
    const body: Stmt[] = [];
    blk.stmts.push(reduce ? { s: 'loop', var: v, extent, body, reduce } : { s: 'loop', var: v, extent, body });
    return newBlock(body, blk);
  }

  acc(blk: Block, name: string, n: NodeOf<ReduceOp>): void {
    const t = ktype(n.dtype),
      terms = n.arg.axes.reduce((m, a) => m * n.src[0].shape[a], 1);
    blk.stmts.push({
      s: 'acc',
      name,
      type: t,
      fn: n.op === 'sum' ? 'add' : 'max',
      init: n.op === 'sum' ? 0 : t === 'f32' ? -Infinity : -2147483648,
      ...(n.op === 'sum' && t === 'f32' && sumScheme(terms) === 'cascade' ? { scheme: 'cascade' as const } : {}),
    });
  }

  accum(blk: Block, name: string, value: Expr): void {
    blk.stmts.push({ s: 'accum', name, value });
  }
}
