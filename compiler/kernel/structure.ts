// Structural identity of kernel IR: a key that two expressions (or statement lists) share exactly
// when they are the same tree, used to group and deduplicate by structure (multi-tensor clusters,
// equal lets of concatenated siblings, equal arms of a select tree). Built from the IR's own
// fields, so it does not depend on the order in which an object's properties were written, and
// numbers keep their identity (-0, NaN and the infinities are distinct values, not JSON's null).
import type { Expr, Stmt } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';

/**
 * What a key leaves out: with `accesses`, every load's and store's index and every host scalar's
 * slot (a multi-tensor cluster's segments differ only there; the positions stay in the key)
 */
export interface KeyOptions {
  accesses?: boolean;
}

const num = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

export function exprKey(e: Expr, opts: KeyOptions = {}): string {
  const kids = (xs: Expr[]) => xs.map((x) => exprKey(x, opts)).join(',');
  switch (e.e) {
    case 'const':
      return `${e.type}:${num(e.value)}`;
    case 'var':
      return `${e.type}$${e.name}`;
    case 'scalar':
      return opts.accesses ? 'scalar[]' : `scalar[${e.slot}]`;
    case 'load':
      return `load:${e.type}[${e.buf}](${opts.accesses ? '' : exprKey(e.index, opts)})`;
    case 'unary':
    case 'binary':
      return `${e.fn}:${e.type}(${kids(exprChildren(e))})`;
    case 'random':
      return `random:${e.dist}:${e.draw}(${kids(exprChildren(e))})`;
    default:
      return `${e.e}:${e.type}(${kids(exprChildren(e))})`;
  }
}

export function stmtsKey(ss: readonly Stmt[], opts: KeyOptions = {}): string {
  return ss
    .map((s) => {
      switch (s.s) {
        case 'let':
          return `let ${s.name}=${exprKey(s.value, opts)}`;
        case 'store': {
          const index = opts.accesses ? '' : exprKey(s.index, opts);
          return `store[${s.buf}](${index})=${exprKey(s.value, opts)}`;
        }
        case 'loop':
          return `loop ${s.var}<${s.extent}${s.reduce ? ' reduce' : ''}{${stmtsKey(s.body, opts)}}`;
        case 'acc':
          return `acc ${s.name}:${s.type}:${s.fn}:${num(s.init)}:${s.scheme ?? ''}`;
        case 'accum':
          return `accum ${s.name}+=${exprKey(s.value, opts)}`;
      }
    })
    .join(';');
}
