// Memory traffic: the bytes a kernel moves between memory and the core if it reads each element it
// touches once and writes each once (caches hold what one kernel reuses: a matmul's row of A is read once,
// not once per column). Per buffer, the spans its loads' (and stores') indices cover, merged; summed over
// kernels, that is what a step moves between kernels: what fusion saves, and what stats() compares with
// the minimum (every input and state read once, every output and update written once).
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';
import { range } from './index-algebra.js';

export type Span = [number, number];
type Env = Map<string, Span>;

/** bytes `k` reads and writes, each element of each buffer once; `sizes[b]` bounds buffer b's spans */
export function kernelTraffic(k: Kernel, sizes: readonly number[]): { read: number; written: number } {
  const reads = new Map<number, Span[]>(),
    writes = new Map<number, Span[]>();
  forEachAccess(k, (buf, s, _node, store) => {
    const all: Span = [0, sizes[buf] - 1];
    const v = s ? [Math.max(0, s[0]), Math.min(all[1], s[1])] : all;
    const to = store ? writes : reads;
    if (v[0] <= v[1]) to.set(buf, [...(to.get(buf) ?? []), v as Span]);
  });
  const bytes = (m: Map<number, Span[]>) => [...m.values()].reduce((a, spans) => a + 4 * covered(spans), 0);
  return { read: bytes(reads), written: bytes(writes) };
}

export type Access = Extract<Expr, { e: 'load' }> | Extract<Stmt, { s: 'store' }>;

/**
 * every load and store of `k` with the span of elements its index takes (null: unknown), in program order;
 * grid and loop variables range over their extents, i32 lets over their values' spans
 */
export function forEachAccess(
  k: Kernel,
  visitAccess: (buf: number, span: Span | null, node: Access, store: boolean) => void,
): void {
  const env: Env = new Map(k.grid.map((e, j) => [`g${j}`, [0, e - 1] as Span]));
  const visit = (e: Expr): void => {
    if (e.e === 'load') visitAccess(e.buf, e.ix ? range(e.ix) : indexSpan(e.index, env), e, false);
    for (const x of exprChildren(e)) visit(x);
  };
  const stmts = (ss: readonly Stmt[]): void => {
    for (const s of ss) {
      if (s.s === 'loop') {
        env.set(s.var, [0, s.extent - 1]);
        stmts(s.body);
      } else if (s.s === 'store') {
        visitAccess(s.buf, s.ix ? range(s.ix) : indexSpan(s.index, env), s, true);
        visit(s.index);
        visit(s.value);
      } else if (s.s === 'let') {
        if (s.value.type === 'i32') {
          const v = span(s.value, env);
          if (v) env.set(s.name, v);
        }
        visit(s.value);
      } else if (s.s === 'accum') visit(s.value);
    }
  };
  stmts(k.body);
}

/** a load's index: a guarded one (`cond ? i : 0`, emit.ts) reads only where its guard holds, at i */
function indexSpan(e: Expr, env: Env): Span | null {
  if (e.e === 'where' && e.b.e === 'const' && e.b.value === 0) return span(e.a, env);
  return span(e, env);
}

/** the values an i32 expression takes, as an interval (null: unknown) */
function span(e: Expr, env: Env): Span | null {
  switch (e.e) {
    case 'const':
      return [e.value, e.value];
    case 'var':
      return env.get(e.name) ?? null;
    case 'where': {
      const [a, b] = [span(e.a, env), span(e.b, env)];
      return a && b ? [Math.min(a[0], b[0]), Math.max(a[1], b[1])] : null;
    }
    case 'binary': {
      const [a, b] = [span(e.a, env), span(e.b, env)];
      if (!a || !b) return null;
      switch (e.fn) {
        case 'add':
          return [a[0] + b[0], a[1] + b[1]];
        case 'sub':
          return [a[0] - b[1], a[1] - b[0]];
        case 'mul': {
          const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]];
          return [Math.min(...p), Math.max(...p)];
        }
        case 'max':
          return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        case 'min':
          return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
        case 'idiv':
          return b[0] === b[1] && b[0] > 0 && a[0] >= 0 ? [Math.floor(a[0] / b[0]), Math.floor(a[1] / b[0])] : null;
        case 'mod':
          return b[0] === b[1] && b[0] > 0 ? [0, Math.min(b[0] - 1, Math.max(0, a[1]))] : null;
        default:
          return null;
      }
    }
    default:
      return null;
  }
}

/** elements in the union of the spans */
function covered(spans: Span[]): number {
  const s = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0,
    [lo, hi] = s[0];
  for (const [a, b] of s.slice(1)) {
    if (a > hi + 1) {
      total += hi - lo + 1;
      [lo, hi] = [a, b];
    } else hi = Math.max(hi, b);
  }
  return total + hi - lo + 1;
}
