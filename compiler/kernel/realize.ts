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
//      L >= 2; also store when it holds a reduction or reaches a user through a broadcast;
//   6. an all-reduced value is stored: the collective reduces it in memory between kernels.
import type { GraphProgram, Node } from '../ir/graph.js';
import { isReduce, isSource, isView, programRoots, toposort } from '../ir/graph.js';

const BROADCAST = new Set(['expand', 'pad']);

export interface Realization {
  order: Node[]; // every reachable node, sources first
  users: Map<number, Node[]>;
  stored: Set<number>; // node ids that are materialized
  reason: Map<number, string>; // why (for `kiln inspect`)
}

export function realize(p: GraphProgram): Realization {
  const roots = programRoots(p);
  const order = toposort(roots);
  const users = new Map<number, Node[]>();
  for (const n of order)
    for (const s of n.src) {
      const u = users.get(s.id) ?? [];
      if (!u.includes(n)) u.push(n);
      users.set(s.id, u);
    }
  const stored = new Set<number>();
  const reason = new Map<number, string>();
  const store = (n: Node, why: string) => {
    stored.add(n.id);
    reason.set(n.id, why);
  };
  for (const r of roots) if (!isSource(r.op)) store(r, 'root');
  // a collective reduces memory in place between kernels: its value is stored where it is computed
  for (const n of order) if (n.op === 'allreduce' && !stored.has(n.id)) store(n, 'all-reduced across ranks');

  const leaf = (s: Node) => stored.has(s.id) || s.op === 'input' || s.op === 'state';
  /** how many stored values are first reached going up from n (exact, for `reason`) */
  const storedAbove = (n: Node): number => {
    const hits = new Set<number>();
    const seen = new Set<number>();
    for (const todo = [n]; todo.length;) {
      // an explicit stack: graphs may be thousands of nodes deep
      for (const u of users.get(todo.pop()!.id) ?? []) {
        if (stored.has(u.id)) {
          hits.add(u.id);
          continue;
        }
        if (!seen.has(u.id)) {
          seen.add(u.id);
          todo.push(u);
        }
      }
    }
    return hits.size;
  };
  /** how many buffers n reads: leaves first reached going down from n (exact, for `reason`) */
  const leavesBelow = (n: Node): number => {
    const leaves = new Set<number>();
    const seen = new Set<number>();
    for (const todo = [n]; todo.length;) {
      for (const s of todo.pop()!.src) {
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        if (leaf(s)) leaves.add(s.id);
        else todo.push(s);
      }
    }
    return leaves.size;
  };

  // Walk users-first so that a decision about a value sees its users' decisions. A decision asks
  // what lies above a node (the stored values first reached going up, and whether a path crosses a
  // broadcast) and below it (the leaves first reached going down, and whether an inlined
  // reduction lies on the way). Each is a node's neighbours' summaries combined, so a sweep is
  // linear in the graph (a walk per node was quadratic in a deep network):
  //   above: every user comes later in `order`, so it is decided and summarized in this sweep;
  //   below: a node's sources are decided only later in this sweep, so what lies below any
  //          undecided node is as at the start of the sweep, summarized then, sources first.
  // The decisions only ask for none, one or several stored values or leaves, so a summary keeps
  // at most two (the reasons' exact counts walk the graph, once per value stored for them).
  const index = new Map(order.map((n, i) => [n.id, i]));
  const aboveHits: number[][] = order.map(() => []),
    aboveBroadcast = order.map(() => false);
  const belowLeaves: number[][] = order.map(() => []),
    belowReduces = order.map(() => false);
  const atMostTwo = (into: number[], id: number) => {
    if (into.length < 2 && !into.includes(id)) into.push(id);
  };
  for (let changed = true; changed;) {
    changed = false;
    order.forEach((n, i) => {
      const leaves: number[] = [];
      let reduces = false;
      for (const s of n.src) {
        if (leaf(s)) {
          atMostTwo(leaves, s.id);
          continue;
        }
        const j = index.get(s.id)!;
        if (isReduce(s.op) || belowReduces[j]) reduces = true;
        for (const id of belowLeaves[j]) atMostTwo(leaves, id);
      }
      belowLeaves[i] = leaves;
      belowReduces[i] = reduces;
    });
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i];
      const hits: number[] = [];
      let broadcast = false;
      for (const u of users.get(n.id) ?? []) {
        if (BROADCAST.has(u.op)) broadcast = true;
        if (stored.has(u.id)) {
          atMostTwo(hits, u.id);
          continue;
        }
        const j = index.get(u.id)!;
        if (aboveBroadcast[j]) broadcast = true;
        for (const id of aboveHits[j]) atMostTwo(hits, id);
      }
      aboveHits[i] = hits;
      aboveBroadcast[i] = broadcast;
      if (stored.has(n.id) || isSource(n.op) || isView(n.op)) continue;
      if (isReduce(n.op)) {
        if (broadcast || hits.length !== 1) {
          store(n, broadcast ? 'reduction read through a broadcast' : 'reduction with several consumers');
          changed = true;
        }
        continue;
      }
      if (hits.length < 2 && !broadcast) continue;
      if (belowReduces[i]) {
        store(n, 'holds a reduction and has several consumers');
        changed = true;
      } else if (hits.length >= 2 && belowLeaves[i].length >= 2) {
        store(n, `used by ${storedAbove(n)} stored values, reads ${leavesBelow(n)} buffers`);
        changed = true;
      }
    }
  }
  return { order, users, stored, reason };
}
