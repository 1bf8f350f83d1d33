// Which graph values are materialized in memory. Everything else is recomputed inline by the
// kernels that use it. The rules, in order:
//   1. roots (outputs, state updates) are stored: the runtime reads them;
//   2. sources (inputs, state, consts, scalars, iota) are never copied: kernels read them in place;
//   3. views are never stored on their own: they are index maps (compiler/kernel/views.ts);
//   4. a reduction fuses into its consumer (producers into its loop, elementwise consumers into
//      its output: matmul + bias + activation is one loop nest) when every path from it reaches
//      the same stored value without a broadcast (expand/pad): then each result is computed
//      exactly once. Otherwise it is stored, since a broadcast consumer would recompute it;
//   5. an elementwise value used by several stored values is stored once or recomputed, whichever
//      moves fewer bytes: storing costs a write plus one read per user, recomputing costs its
//      leaf reads per user. With L leaf reads and U users, store when 1 + U < U * L, i.e. when
//      L >= 2; also store when it holds a reduction or reaches a user through a broadcast.
import type { GraphProgram, Node } from '../ir/graph.js';
import { isReduce, isSource, isView, programRoots, toposort } from '../ir/graph.js';

const BROADCAST = new Set(['expand', 'pad']);

export interface Realization {
  order: Node[];                       // every reachable node, sources first
  users: Map<number, Node[]>;
  stored: Set<number>;                 // node ids that are materialized
  reason: Map<number, string>;         // why (for `kiln inspect`)
}

export function realize(p: GraphProgram): Realization {
  const roots = programRoots(p);
  const order = toposort(roots);
  const users = new Map<number, Node[]>();
  for (const n of order) for (const s of n.src) {
    const u = users.get(s.id) ?? [];
    if (!u.includes(n)) u.push(n);
    users.set(s.id, u);
  }
  const stored = new Set<number>();
  const reason = new Map<number, string>();
  const store = (n: Node, why: string) => { stored.add(n.id); reason.set(n.id, why); };
  for (const r of roots) if (!isSource(r.op)) store(r, 'root');

  /** the stored values first reached going up from n, and whether a path crossed a broadcast */
  const above = (n: Node): { hits: Set<number>; broadcast: boolean } => {
    const hits = new Set<number>();
    let broadcast = false;
    const seen = new Set<number>();
    for (const todo = [n]; todo.length;) { // an explicit stack: graphs may be thousands of nodes deep
      for (const u of users.get(todo.pop()!.id) ?? []) {
        if (BROADCAST.has(u.op)) broadcast = true;
        if (stored.has(u.id)) { hits.add(u.id); continue; }
        if (!seen.has(u.id)) { seen.add(u.id); todo.push(u); }
      }
    }
    return { hits, broadcast };
  };
  /** leaf reads and inlined reductions below n, stopping at stored values */
  const below = (n: Node) => {
    const leaves = new Set<number>();
    let reduces = 0;
    const seen = new Set<number>();
    for (const todo = [n]; todo.length;) {
      for (const s of todo.pop()!.src) {
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        if (stored.has(s.id) || s.op === 'input' || s.op === 'state') { leaves.add(s.id); continue; }
        if (isReduce(s.op)) reduces++;
        todo.push(s);
      }
    }
    return { leaves: leaves.size, reduces: reduces + (isReduce(n.op) ? 1 : 0) };
  };

  // Walk users-first so that a decision about a value sees its users' decisions.
  for (let changed = true; changed;) {
    changed = false;
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i];
      if (stored.has(n.id) || isSource(n.op) || isView(n.op)) continue;
      const { hits, broadcast } = above(n);
      if (isReduce(n.op)) {
        if (broadcast || hits.size !== 1) {
          store(n, broadcast ? 'reduction read through a broadcast' : 'reduction with several consumers');
          changed = true;
        }
        continue;
      }
      if (hits.size < 2 && !broadcast) continue;
      const b = below(n);
      if (b.reduces > 0 && (hits.size >= 2 || broadcast)) {
        store(n, 'holds a reduction and has several consumers');
        changed = true;
      } else if (hits.size >= 2 && b.leaves >= 2) {
        store(n, `used by ${hits.size} stored values, reads ${b.leaves} buffers`);
        changed = true;
      }
    }
  }
  return { order, users, stored, reason };
}
