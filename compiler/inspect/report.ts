// What `kiln inspect` reports for each function: the graph at every stage, the kernel table
// (ops fused, FLOPs, bytes, arithmetic intensity, why each kernel ends), and a drawable graph.
// Plain JSON (`--json`), rendered as text or as an HTML page.
import {
  isSource,
  isView,
  numel,
  printGraph,
  programRoots,
  toposort,
  type GraphProgram,
  type Node,
} from '../ir/graph.js';
import type { Kernel, KernelProgram, Stmt, Expr } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';
import { printStrategy, strategyOf } from '../kernel/opt.js';
import type { TracedDefinition } from '../build/program.js';
import type { DrawGraph, DrawNode } from './svg.js';
import type { Lowering } from './pipeline.js';
import { kernelTraffic } from '../kernel/traffic.js';

const traffic = (k: Kernel, buffers: readonly { size: number }[]) => {
  const t = kernelTraffic(
    k,
    buffers.map((b) => b.size),
  );
  return t.read + t.written;
};

export interface KernelRow {
  index: number;
  name: string;
  grid: number[];
  ops: string[];
  flops: number;
  bytesRead: number;
  bytesWritten: number;
  /** bytes to and from memory, each element the kernel touches once (compiler/kernel/traffic.ts); absent unfused */
  moved?: number;
  /** flops per byte loaded or stored */
  intensity: number;
  reason: string;
  /** how each target runs it (compiler/kernel/opt.ts); '' for an unfused op */
  strategy: string;
}

export interface FunctionReport {
  name: string;
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { shape: number[]; dtype: string }[];
  /** the graph after each stage; `fired`: how often each simplification rule rewrote a node */
  stages: { name: string; nodes: number; text: string; fired?: Record<string, number> }[];
  /** true when the kernels come from the scheduler; false: one per graph op (opKernels) */
  fused: boolean;
  kernels: KernelRow[];
  /** the fused graph: kernels and the buffers between them */
  graph: DrawGraph;
  /** the graph after the passes, views folded into their users */
  opGraph: DrawGraph;
  /** all-reduces between kernels (DistributedDataParallel): before kernel `start` to before kernel `wait` */
  collectives?: { op: string; bytes: number; start: number; wait: number; values: string[] }[];
}

export interface InspectReport {
  program: string;
  entry: string;
  functions: FunctionReport[];
}

type RowFields = Omit<KernelRow, 'index' | 'intensity' | 'reason' | 'strategy'> & {
  reason?: string;
  strategy?: string;
};
const row = (index: number, k: RowFields): KernelRow => ({
  index,
  ...k,
  reason: k.reason ?? '',
  strategy: k.strategy ?? '',
  intensity: k.flops / Math.max(1, k.bytesRead + k.bytesWritten),
});

export function inspectDefinition(
  t: TracedDefinition,
  entry: string,
  lowering: Lowering,
): { report: InspectReport; kernels: KernelProgram[] } {
  const kernels: KernelProgram[] = [];
  const functions = t.functions.map((f): FunctionReport => {
    const low = lowering.lower(f.traced);
    kernels.push(low.kernels);
    const last = low.stages[low.stages.length - 1].graph;
    const names = new Map([...t.cellNames].map(([id, n]) => [id, n.key]));
    const named = (g: GraphProgram): GraphProgram => ({
      ...g,
      cells: g.cells.map((c) => ({ ...c, name: names.get(c.id) ?? c.name })),
    });
    return {
      name: f.name,
      inputs: f.spec.inputs.map((s, i) => ({ name: s.name ?? `input${i}`, shape: [...s.shape], dtype: s.dtype })),
      outputs: f.traced.graph.outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype })),
      stages: low.stages.map((s) => ({
        name: s.name,
        nodes: toposort(programRoots(s.graph)).length,
        text: printGraph(named(s.graph)),
        ...(s.fired ? { fired: s.fired } : {}),
      })),
      fused: true,
      kernels: low.kernels.kernels.map((k, i) =>
        row(i, {
          name: k.name,
          grid: k.grid,
          ...k.meta,
          moved: traffic(k, low.kernels.buffers),
          strategy: printStrategy(strategyOf(k)),
        }),
      ),
      graph: kernelGraph(low.kernels),
      opGraph: opGraph(named(last)),
      ...collectiveRows(low.kernels, names),
    };
  });
  return { report: { program: t.def.name, entry, functions }, kernels };
}

/** one kernel per compute op (views and sources are free): what an unfused target would run */
export function opKernels(g: GraphProgram): KernelRow[] {
  const bytes = (n: Node) => 4 * numel(n.shape);
  return toposort(programRoots(g))
    .filter((n) => !isView(n.op) && !isSource(n.op))
    .map((n, i) =>
      row(i, {
        name: `${n.op}_${n.id}`,
        grid: [...n.shape],
        ops: [n.op],
        flops: n.op === 'sum' || n.op === 'rmax' ? numel(n.src[0].shape) : numel(n.shape),
        bytesRead: n.src.reduce((a, s) => a + bytes(s), 0),
        bytesWritten: bytes(n),
        reason: 'unfused: no scheduler in this build',
      }),
    );
}

/** the graph with views folded into their users (they are index maps, not copies) */
export function opGraph(g: GraphProgram): DrawGraph {
  const cells = new Map(g.cells.map((c) => [c.id, c.name]));
  const order = toposort(programRoots(g));
  const through = new Map<number, number[]>(); // a view or const -> the drawn nodes it stands for
  const nodes: DrawNode[] = [];
  const edges: [string, string][] = [];
  for (const n of order) {
    const srcs = n.src.flatMap((s) => through.get(s.id) ?? [s.id]);
    if (isView(n.op) || n.op === 'const' || n.op === 'scalar' || n.op === 'iota') {
      through.set(n.id, n.op === 'const' || n.op === 'scalar' || n.op === 'iota' ? [] : srcs);
      continue;
    }
    const shape = `${n.dtype}[${n.shape.join(',')}]`;
    const label =
      n.op === 'state'
        ? (cells.get(n.arg.cell) ?? `cell${n.arg.cell}`)
        : n.op === 'input'
          ? `input ${n.arg.index}`
          : n.op;
    nodes.push({
      id: `n${n.id}`,
      label,
      sub: shape,
      kind: n.op === 'state' ? 'state' : n.op === 'input' ? 'input' : 'op',
      title: `%${n.id} ${n.op} ${shape}${n.site ? ` at ${n.site}` : ''}`,
    });
    for (const s of new Set(srcs)) edges.push([`n${s}`, `n${n.id}`]);
  }
  const drawn = new Set(nodes.map((n) => n.id));
  const sink = (label: string, id: string, v: Node) => {
    nodes.push({ id, label, sub: `${v.dtype}[${v.shape.join(',')}]`, kind: 'output' });
    for (const s of through.get(v.id) ?? [v.id]) if (drawn.has(`n${s}`)) edges.push([`n${s}`, id]);
  };
  g.outputs.forEach((o, i) => sink(`out${i}`, `out${i}`, o));
  g.updates.forEach((u) => sink(`${cells.get(u.cell) ?? u.cell} ←`, `upd${u.cell}`, u.value));
  return { nodes, edges };
}

/** kernels as nodes; an edge where a kernel reads a buffer region an earlier kernel wrote */
export function kernelGraph(p: KernelProgram): DrawGraph {
  const nodes: DrawNode[] = [];
  const edges: [string, string][] = [];
  const lastWriter = new Map<number, string>();
  p.inputs.forEach((pl, i) => {
    nodes.push({ id: `in${i}`, label: `input ${i}`, sub: `${pl.dtype}[${pl.shape.join(',')}]`, kind: 'input' });
    lastWriter.set(pl.buf, `in${i}`);
  });
  p.buffers.forEach((b, i) => {
    if (b.kind === 'state' && !lastWriter.has(i)) {
      nodes.push({ id: `buf${i}`, label: b.name, sub: `state ${b.dtype}`, kind: 'state' });
      lastWriter.set(i, `buf${i}`);
    }
  });
  p.kernels.forEach((k, i) => {
    const { loads, stores } = accesses(k.body);
    const id = `k${i}`;
    nodes.push({
      id,
      label: `#${i} ${k.name}`,
      sub: k.meta.ops.join(' ').slice(0, 40),
      kind: 'kernel',
      title: `${k.name}: ${k.meta.ops.join(', ')}${k.meta.reason ? ` — ${k.meta.reason}` : ''}`,
    });
    for (const b of loads) {
      const w = lastWriter.get(b);
      if (w && w !== id) edges.push([w, id]);
    }
    for (const b of stores) lastWriter.set(b, id);
  });
  p.outputs.forEach((pl, i) => {
    nodes.push({ id: `out${i}`, label: `out${i}`, sub: `${pl.dtype}[${pl.shape.join(',')}]`, kind: 'output' });
    const w = lastWriter.get(pl.buf);
    if (w) edges.push([w, `out${i}`]);
  });
  return { nodes, edges: [...new Map(edges.map((e) => [e.join('>'), e])).values()] };
}

function accesses(body: Stmt[]): { loads: Set<number>; stores: Set<number> } {
  const loads = new Set<number>(),
    stores = new Set<number>();
  const expr = (e: Expr): void => {
    if (e.e === 'load') loads.add(e.buf);
    exprChildren(e).forEach(expr);
  };
  const walk = (ss: Stmt[]): void =>
    ss.forEach((s) => {
      if (s.s === 'let') expr(s.value);
      else if (s.s === 'store') {
        stores.add(s.buf);
        expr(s.index);
        expr(s.value);
      } else if (s.s === 'loop') walk(s.body);
      else if (s.s === 'accum') expr(s.value);
    });
  walk(body);
  return { loads, stores };
}

/** the program's collectives, their values named by state-dict key where they are cells */
function collectiveRows(kp: KernelProgram, keys: Map<number, string>): Pick<FunctionReport, 'collectives'> {
  if (!kp.collectives?.length) return {};
  const byName = new Map(kp.cells.map((c) => [c.name, keys.get(c.cell)]));
  const collectives = kp.collectives.map((c) => ({
    op: c.op,
    bytes: 4 * c.length,
    start: c.start,
    wait: c.wait,
    values: c.names.map((n) => byName.get(n) ?? n),
  }));
  return { collectives };
}
