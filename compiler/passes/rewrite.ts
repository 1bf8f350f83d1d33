// Bottom-up rewriting of immutable graphs: every node is rebuilt over its rewritten sources
// (only when one changed), then offered to `f`, which returns a replacement or the node itself.
import type { GraphProgram, Node } from '../ir/graph.js';
import { makeNode, programRoots, toposort } from '../ir/graph.js';

export function rewriteProgram(p: GraphProgram, f: (n: Node) => Node): GraphProgram {
  const map = new Map<number, Node>();
  for (const n of toposort(programRoots(p))) {
    const src = n.src.map((s) => map.get(s.id)!);
    const same = src.every((s, i) => s === n.src[i]);
    const m = same ? n : makeNode(n.op, src, n.shape, n.dtype, n.arg, n.site);
    map.set(n.id, f(m));
  }
  return {
    ...p,
    outputs: p.outputs.map((o) => map.get(o.id)!),
    updates: p.updates.map((u) => ({ cell: u.cell, value: map.get(u.value.id)! })),
  };
}

export const countNodes = (p: GraphProgram) => toposort(programRoots(p)).length;
