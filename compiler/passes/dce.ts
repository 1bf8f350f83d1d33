// Dead-code elimination. Nodes unreachable from the outputs and updates are already gone (every
// pass walks from the roots); what remains is dropping updates that write a cell's own entry
// value back (`c <- c`, left behind when an optimizer skips a parameter), updates of cells with
// no elements (they write nothing) and cells nobody uses.
import type { GraphProgram } from '../ir/graph.js';
import { numel, toposort } from '../ir/graph.js';

export function dce(p: GraphProgram): GraphProgram {
  const empty = new Set(p.cells.filter((c) => numel(c.shape) === 0).map((c) => c.id));
  const updates = p.updates.filter(
    (u) => !empty.has(u.cell) && !(u.value.op === 'state' && u.value.arg.cell === u.cell),
  );
  const live = new Set<number>(updates.map((u) => u.cell));
  for (const n of toposort([...p.outputs, ...updates.map((u) => u.value)])) if (n.op === 'state') live.add(n.arg.cell);
  return { ...p, updates, cells: p.cells.filter((c) => live.has(c.id)) };
}
