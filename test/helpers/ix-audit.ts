// Checks a scheduled kernel's index algebra against its indices: every access's ix must be what
// its index expression parses back to (lets resolved, the loops' own extents), and an access
// whose index is not plain index math must carry none.
import type { Expr, Ix, Kernel, Stmt } from '../../compiler/ir/kernel.js';
import { exprChildren } from '../../compiler/ir/kernel.js';
import { ixKey, ixOfExpr, toExpr } from '../../compiler/kernel/index-algebra.js';

const hasWindow = (ix: Ix): boolean =>
  ix.terms.some((t) => t.atom.k === 'win' || (t.atom.k !== 'var' && hasWindow(t.atom.a)));

export interface IxAudit {
  mismatches: string[];
  accesses: number;
  withIx: number;
}

export function auditIx(k: Kernel): IxAudit {
  const extents = new Map<string, number>(k.grid.map((e, i) => [`g${i}`, e]));
  const out: IxAudit = { mismatches: [], accesses: 0, withIx: 0 };
  const check = (index: Expr, ix: Ix | undefined, scope: Map<string, Expr>) => {
    if (ix && hasWindow(ix)) {
      // a pad's window renders as max(a, 0), which is no index algebra: the index must be exactly its rendering
      out.accesses++;
      out.withIx++;
      if (JSON.stringify(index) !== JSON.stringify(toExpr(ix))) out.mismatches.push(`${k.name}: window ${ixKey(ix)}`);
      return;
    }
    const back = ixOfExpr(index, { extent: (n) => extents.get(n), value: (n) => scope.get(n) });
    const a = ix ? ixKey(ix) : 'none',
      b = back ? ixKey(back) : 'none';
    out.accesses++;
    if (ix) out.withIx++;
    if (a !== b) out.mismatches.push(`${k.name}: ix ${a}, index ${b}`);
  };
  const walk = (body: readonly Stmt[], lets: Map<string, Expr>): void => {
    const scope = new Map(lets);
    const visit = (e: Expr): void => {
      if (e.e === 'load') check(e.index, e.ix, scope);
      exprChildren(e).forEach(visit);
    };
    for (const s of body) {
      if (s.s === 'let') {
        visit(s.value);
        scope.set(s.name, s.value);
      } else if (s.s === 'store') {
        check(s.index, s.ix, scope);
        visit(s.value);
      } else if (s.s === 'accum') visit(s.value);
      else if (s.s === 'loop') {
        extents.set(s.var, s.extent);
        walk(s.body, scope);
      }
    }
  };
  walk(k.body, new Map());
  return out;
}
