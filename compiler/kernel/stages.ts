// Stages: one per materialized value (plus copies when a value has several destinations), with
// their destinations, what they read, and the dependencies between them:
//   data:  a stage reading a stored value runs after the stage storing it;
//   anti:  updates read the state as on entry, so every reader of a cell's entry value runs
//          before the stage overwriting that cell. When that is impossible (the writer reads its
//          own cell at another element, e.g. W <- W^T, or a reader depends on the new value),
//          the new value goes to scratch and a copy stage writes the cell last.
import type { GraphProgram, Node } from '../ir/graph.js';
import type { Ix } from './index-algebra.js';
import { flatten, ixConst, ixVar } from './index-algebra.js';
import { squeezed, type Load } from './emit.js';
import { analyzeStage } from './analysis.js';
import type { Realization } from './realize.js';
import { sameIx } from './views.js';
import { argOf, numel } from '../ir/graph.js';

export type StoreDestination = { kind: 'cell'; cell: number } | { kind: 'output'; index: number } | { kind: 'scratch' };

export interface SStage {
  id: number;
  node: Node;
  dest: StoreDestination;
  copy: boolean;
  loads: Load[];
  ops: string[];
  deps: Set<number>; // stage ids that must run first
  identity: boolean; // every load reads the element the stage writes (pure elementwise, same size) or a scalar
  work: number; // flops + 4-byte words moved over the stage's whole iteration space
  local?: boolean; // set by the scheduler: a temporary of one update cluster, never stored
  /** the bucket of the collective that reduces this stage's value after it is stored (an allreduce node) */
  collective?: number;
}

export interface StagePlan {
  stages: SStage[];
  primary: Map<number, SStage>;
  writer: Map<number, SStage>;
}

/** the index a stage uses for its own iteration in analysis: g0.. over its squeezed dims */
export function analysisIdx(n: Node): Ix[] {
  const idx = n.shape.map(() => ixConst(0));
  squeezed(n.shape).forEach(([p, ext], j) => {
    idx[p] = ixVar(`g${j}`, ext);
  });
  return idx;
}

export function buildStages(gp: GraphProgram, R: Realization): StagePlan {
  const rehomed = new Set<number>(); // update values forced to scratch
  for (;;) {
    const stages: SStage[] = [];
    const primary = new Map<number, SStage>();
    const writer = new Map<number, SStage>();
    const add = (node: Node, dest: StoreDestination, copy: boolean) => {
      const st: SStage = {
        id: stages.length,
        node,
        dest,
        copy,
        loads: [],
        ops: [],
        deps: new Set(),
        identity: false,
        work: 0,
      };
      stages.push(st);
      if (!copy) primary.set(node.id, st);
      if (dest.kind === 'cell') writer.set(dest.cell, st);
      return st;
    };
    const isStored = (n: Node) => R.stored.has(n.id);
    for (const n of R.order) if (rehomed.has(n.id)) add(n, { kind: 'scratch' }, false);
    const late: [Node, StoreDestination][] = [];
    for (const u of gp.updates) {
      const v = u.value;
      if (v.op === 'state' && v.arg.cell === u.cell) continue; // c <- c: nothing to do
      if (rehomed.has(v.id)) late.push([v, { kind: 'cell', cell: u.cell }]);
      else add(v, { kind: 'cell', cell: u.cell }, !isStored(v) || primary.has(v.id));
    }
    // an output with no elements needs no stage (its placement still has its shape)
    gp.outputs.forEach((o, index) => {
      if (numel(o.shape)) {
        add(o, { kind: 'output', index }, (isStored(o) && primary.has(o.id)) || o.op === 'input' || o.op === 'state');
      }
    });
    for (const n of R.order) if (isStored(n) && !primary.has(n.id)) add(n, { kind: 'scratch' }, false);
    for (const [v, t] of late) add(v, t, true);
    for (const st of stages) if (!st.copy && st.node.op === 'allreduce') st.collective = st.node.arg.bucket;

    // analysis: what each stage reads, at which index, and what it costs
    const uses = (n: Node) => R.users.get(n.id)?.length ?? 0;
    const stored = (n: Node) => primary.has(n.id) || n.op === 'input' || n.op === 'state';
    for (const st of stages) {
      const a = analyzeStage(st.node, st.copy, stored, uses);
      st.loads = a.loads;
      st.ops = a.ops;
      st.work = a.work;
      const mine = flatten(analysisIdx(st.node), st.node.shape);
      // a one-element value read by every element (gradient clipping's coefficient) is elementwise too
      st.identity = a.loads.every(
        (l) =>
          numel(l.node.shape) === 1 ||
          (sameIx(flatten(l.idx, l.node.shape), mine) && numel(l.node.shape) === numel(st.node.shape)),
      );
    }
    for (const st of stages)
      for (const l of st.loads) {
        const p = primary.get(l.node.id);
        if (p && p !== st) st.deps.add(p.id);
        if (readsEntry(l, primary)) {
          const w = writer.get(argOf(l.node, 'state').cell);
          if (w && w !== st) w.deps.add(st.id);
        }
      }
    // hazards that ordering cannot fix
    const bad: Node[] = [];
    const entryReaders = new Map<number, SStage[]>(); // of each cell's entry value, in stage order
    for (const s of stages) {
      const cells = s.loads.filter((l) => readsEntry(l, primary)).map((l) => argOf(l.node, 'state').cell);
      for (const cell of new Set(cells)) {
        const rs = entryReaders.get(cell);
        if (rs) rs.push(s);
        else entryReaders.set(cell, [s]);
      }
    }
    for (const [cell, w] of writer) {
      const self = w.loads.filter((l) => readsEntry(l, primary) && argOf(l.node, 'state').cell === cell);
      const mine = flatten(analysisIdx(w.node), w.node.shape);
      const selfBad = self.some((l) => !sameIx(flatten(l.idx, l.node.shape), mine));
      const readers = (entryReaders.get(cell) ?? []).filter((s) => s !== w);
      if (selfBad || readers.some((r) => dependsOn(stages, r, w))) bad.push(w.node);
    }
    if (!bad.length) return { stages, primary, writer };
    for (const n of bad) rehomed.add(n.id);
  }
}

/** a load of a cell's value as on entry (the cell itself, not a scratch copy) */
const readsEntry = (l: Load, primary: Map<number, SStage>) => l.node.op === 'state' && !primary.has(l.node.id);

/** does stage a (transitively) depend on stage b? (data and anti edges) */
export function dependsOn(stages: SStage[], a: SStage, b: SStage): boolean {
  const seen = new Set<number>();
  const stack = [a.id];
  while (stack.length) {
    const s = stack.pop()!;
    for (const d of stages[s].deps) {
      if (d === b.id) return true;
      if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return false;
}
