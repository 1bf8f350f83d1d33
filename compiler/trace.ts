// Tracing: runs the user's function once on symbolic tensors and turns what it did into a
// GraphProgram — outputs, state assignments, and the host program for step counters.
import type { DType, GraphProgram, Node } from './ir/graph.js';
import { makeNode, toposort } from './ir/graph.js';
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { Tensor } from './tensor.js';
import { Trace, withTrace } from './trace-context.js';
import { FlagCell, type HostCell, type TensorCell } from './state.js';
import type { IndexBound } from '../runtime/index-bounds.js';

export interface InputSpec {
  shape: number[];
  dtype: 'float32' | 'int32' | 'int64' | 'bool';
  name?: string;
}

export interface TracedProgram {
  graph: GraphProgram;
  /** every tensor cell the program touches, by id */
  cells: Map<number, TensorCell>;
  /** host var index -> host cell whose value it carries on entry and exit */
  hostCells: { var: number; cell: HostCell }[];
  /** cell definedness the trace assumed on entry (guards) */
  assumed: Map<TensorCell, boolean>;
  /** cell definedness after a run (null assignments clear a gradient) */
  definedAfter: Map<TensorCell, boolean>;
  /** how the outputs were returned: a single tensor, an array, or nothing */
  resultShape: 'single' | 'array' | 'none';
  /** inputs holding indices (class targets, gather indices) and the range each run must respect */
  indexBounds: IndexBound[];
}

export const inputDType = (d: InputSpec['dtype']): DType =>
  d === 'float32' ? 'float32' : d === 'bool' ? 'bool' : 'int32';

export function trace(fn: (...args: Tensor[]) => unknown, inputs: InputSpec[]): TracedProgram {
  const t = new Trace();
  const args = inputs.map((spec, index) => {
    checkOptions(`compile: input ${index}`, spec, ['shape', 'dtype', 'name']);
    if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new KilnError(`compile: input ${index} has an invalid shape ${JSON.stringify(spec.shape)}`);
    }
    if (!['float32', 'int32', 'int64', 'bool'].includes(spec.dtype)) {
      throw new KilnError(
        `compile: input ${index} has unsupported dtype '${spec.dtype}' (float32, int32, int64 or bool)`,
      );
    }
    return Tensor.fromNode(makeNode('input', [], spec.shape, inputDType(spec.dtype), { index }));
  });
  const result = withTrace(t, () => fn(...args));
  if (result instanceof Promise)
    throw new KilnError('compile: the traced function must be synchronous (it returned a Promise)');
  const outs = result === undefined ? [] : Array.isArray(result) ? result : [result];
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor))
      throw new KilnError(`compile: the traced function must return Tensors; output ${i} is ${typeof o}`);
  });
  const outputs: Node[] = withTrace(t, () => (outs as Tensor[]).map((o) => o.node));

  const cells = new Map<number, TensorCell>();
  const updates: GraphProgram['updates'] = [];
  const definedAfter = new Map<TensorCell, boolean>();
  for (const [cell, value] of t.current) {
    cells.set(cell.id, cell);
    if (value === t.entry.get(cell)) continue;
    definedAfter.set(cell, value !== null);
    if (value && !(cell instanceof FlagCell)) updates.push({ cell: cell.id, value });
  }
  // keep only cells the program reads or writes
  const used = new Set<number>(updates.map((u) => u.cell));
  for (const n of toposort([...outputs, ...updates.map((u) => u.value)])) if (n.op === 'state') used.add(n.arg.cell);
  for (const id of [...cells.keys()]) if (!used.has(id)) cells.delete(id);

  const hostCells: TracedProgram['hostCells'] = [];
  const stmts = [...t.hostStmts];
  for (const [cell, entryVar] of t.hostEntry) {
    hostCells.push({ var: entryVar, cell });
    const last = t.hostCurrent.get(cell)!;
    if (last !== entryVar) stmts.push({ k: 'set', v: entryVar, e: { k: 'var', i: last } });
  }
  const graph: GraphProgram = {
    inputs: inputs.map((s, i) => ({ name: s.name ?? `input${i}`, shape: [...s.shape], dtype: inputDType(s.dtype) })),
    cells: [...cells.values()].map((c) => ({ id: c.id, name: c.name, shape: [...c.shape], dtype: c.dtype })),
    host: { vars: t.hostVars, stmts, scalarCount: t.scalarCount },
    outputs,
    updates,
  };
  return {
    graph,
    cells,
    hostCells,
    assumed: t.assumed,
    definedAfter,
    indexBounds: t.indexBounds,
    resultShape: result === undefined ? 'none' : Array.isArray(result) ? 'array' : 'single',
  };
}
