// Common-subexpression elimination by hash-consing: two nodes with the same op, dtype, shape,
// argument and (already unified) sources are one node. `data` nodes are only equal to themselves
// (comparing their contents is not worth it).
import type { GraphProgram, Node } from '../ir/graph.js';
import { rewriteProgram } from './rewrite.js';

export function nodeKey(n: Node): string {
  const arg = n.op === 'data' ? `#${n.id}` : JSON.stringify(n.arg ?? null);
  return `${n.op}|${n.dtype}|${n.shape.join(',')}|${arg}|${n.src.map((s) => s.id).join(',')}`;
}

export function cse(p: GraphProgram): GraphProgram {
  const table = new Map<string, Node>();
  return rewriteProgram(p, (n) => {
    const k = nodeKey(n);
    const hit = table.get(k);
    if (hit) return hit;
    table.set(k, n);
    return n;
  });
}
