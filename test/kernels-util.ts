// Test helpers: build graphs directly with makeNode, run them through the scheduler + kernel
// interpreter, and through the graph-level reference evaluator, and compare.
import type { CellInfo, DType, GraphProgram, Node } from '../compiler/ir/graph.js';
import { argOf, makeNode, numel } from '../compiler/ir/graph.js';
import { OPS, type BinaryOp, type UnaryOp } from '../compiler/ir/ops.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { schedule, type ScheduleOptions } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { allocMemories, runKernel, runKernelProgram, type Memory } from '../targets/reference/kernels.js';
import { evaluateNodes, type Values } from '../targets/reference/graph.js';

type N = Node;
const bin =
  (op: BinaryOp) =>
  (a: N, b: N): N =>
    makeNode(op, [a, b], a.shape, OPS[op].dtype === 'bool' ? 'bool' : a.dtype);
const un =
  (op: UnaryOp) =>
  (a: N): N =>
    makeNode(op, [a], a.shape, a.dtype);

export const g = {
  input: (index: number, shape: number[], dtype: DType = 'float32') => makeNode('input', [], shape, dtype, { index }),
  state: (cell: number, shape: number[], dtype: DType = 'float32') => makeNode('state', [], shape, dtype, { cell }),
  const: (value: number, shape: number[] = [], dtype: DType = 'float32') =>
    makeNode('const', [], shape, dtype, { value }),
  scalar: (slot: number) => makeNode('scalar', [], [], 'float32', { slot }),
  iota: (shape: number[], axis: number) => makeNode('iota', [], shape, 'int32', { axis }),
  add: bin('add'),
  sub: bin('sub'),
  mul: bin('mul'),
  div: bin('div'),
  max: bin('max'),
  min: bin('min'),
  pow: bin('pow'),
  lt: bin('lt'),
  gt: bin('gt'),
  eq: bin('eq'),
  neg: un('neg'),
  exp: un('exp'),
  log: un('log'),
  sqrt: un('sqrt'),
  abs: un('abs'),
  recip: un('recip'),
  cast: (a: N, to: DType) => makeNode('cast', [a], a.shape, to, { to }),
  where: (c: N, a: N, b: N) => makeNode('where', [c, a, b], a.shape, a.dtype),
  sum: (a: N, axes: number[]) =>
    makeNode(
      'sum',
      [a],
      a.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      a.dtype,
      { axes },
    ),
  rmax: (a: N, axes: number[]) =>
    makeNode(
      'rmax',
      [a],
      a.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      a.dtype,
      { axes },
    ),
  reshape: (a: N, shape: number[]) => makeNode('reshape', [a], shape, a.dtype, { shape }),
  permute: (a: N, order: number[]) =>
    makeNode(
      'permute',
      [a],
      order.map((o) => a.shape[o]),
      a.dtype,
      { order },
    ),
  expand: (a: N, shape: number[]) => makeNode('expand', [a], shape, a.dtype, { shape }),
  slice: (a: N, starts: number[], steps: number[], shape: number[]) =>
    makeNode('slice', [a], shape, a.dtype, { starts, steps }),
  pad: (a: N, before: number[], after: number[]) =>
    makeNode(
      'pad',
      [a],
      a.shape.map((d, i) => d + before[i] + after[i]),
      a.dtype,
      { before },
    ),
  /** a scalar (const or host scalar) broadcast to `shape`, as the front end does */
  bcast: (s: N, shape: number[]) =>
    makeNode(
      'expand',
      [
        makeNode(
          'reshape',
          [s],
          shape.map(() => 1),
          s.dtype,
          { shape: shape.map(() => 1) },
        ),
      ],
      shape,
      s.dtype,
      { shape },
    ),
  /** a @ b for a [M,K], b [K,N], as the front end emits it: sum(mul(expand(reshape a), expand(reshape b))) */
  matmul: (a: N, b: N): N => {
    const [M, K] = a.shape,
      Nn = b.shape[1];
    const a3 = makeNode(
      'expand',
      [makeNode('reshape', [a], [M, 1, K], a.dtype, { shape: [M, 1, K] })],
      [M, Nn, K],
      a.dtype,
      { shape: [M, Nn, K] },
    );
    const bt = makeNode('permute', [b], [Nn, K], b.dtype, { order: [1, 0] });
    const b3 = makeNode(
      'expand',
      [makeNode('reshape', [bt], [1, Nn, K], b.dtype, { shape: [1, Nn, K] })],
      [M, Nn, K],
      b.dtype,
      { shape: [M, Nn, K] },
    );
    const s = makeNode('sum', [makeNode('mul', [a3, b3], [M, Nn, K], a.dtype)], [M, Nn, 1], a.dtype, { axes: [2] });
    return makeNode('reshape', [s], [M, Nn], a.dtype, { shape: [M, Nn] });
  },
};

export function program(p: Partial<GraphProgram> & { outputs: Node[] }): GraphProgram {
  return { inputs: [], cells: [], host: { vars: [], stmts: [], scalarCount: 0 }, updates: [], ...p };
}
export const cell = (id: number, shape: number[], name = `c${id}`, dtype: DType = 'float32'): CellInfo => ({
  id,
  name,
  shape,
  dtype,
});

export interface Env {
  inputs: Values[];
  cells: Map<number, Float32Array | Int32Array>;
  scalars: Float32Array;
}

export function randomEnv(gp: GraphProgram, seed = 1): Env {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const fill = (dtype: DType, n: number) =>
    dtype === 'float32'
      ? Float32Array.from({ length: n }, rnd)
      : Int32Array.from({ length: n }, () => Math.floor((rnd() + 1) * 2));
  return {
    inputs: gp.inputs.map((x) => fill(x.dtype, numel(x.shape))),
    cells: new Map(gp.cells.map((c) => [c.id, fill(c.dtype, numel(c.shape)) as Float32Array | Int32Array])),
    scalars: Float32Array.from({ length: gp.host.scalarCount }, () => rnd()),
  };
}

/** graph-level reference: outputs and the new value of every updated cell */
export function runReference(gp: GraphProgram, env: Env): { outputs: Values[]; cells: Map<number, Values> } {
  const roots = [...gp.outputs, ...gp.updates.map((u) => u.value)];
  const vals = evaluateNodes(roots, (n) =>
    n.op === 'input'
      ? env.inputs[n.arg.index]
      : n.op === 'state'
        ? env.cells.get(n.arg.cell)!
        : Float32Array.of(env.scalars[argOf(n, 'scalar').slot]),
  );
  const cells = new Map<number, Values>();
  gp.updates.forEach((u, i) => cells.set(u.cell, vals[gp.outputs.length + i]));
  return { outputs: vals.slice(0, gp.outputs.length), cells };
}

/** scheduled program run by the kernel interpreter */
export function runScheduled(prog: KernelProgram, env: Env): { outputs: Values[]; cells: Map<number, Values> } {
  const mem = allocMemories(prog);
  prog.inputs.forEach((p, i) => mem[p.buf].set(env.inputs[i] as any, p.offset));
  for (const c of prog.cells) mem[c.buf].set(env.cells.get(c.cell)!, c.offset);
  const si = prog.buffers.findIndex((b) => b.kind === 'scalars');
  if (si >= 0) mem[si].set(env.scalars);
  runKernelProgram(prog, mem);
  const outputs = prog.outputs.map((p) => mem[p.buf].slice(p.offset, p.offset + numel(p.shape)));
  const cells = new Map<number, Values>(
    prog.cells.map((c) => [c.cell, mem[c.buf].slice(c.offset, c.offset + numel(c.shape))]),
  );
  return { outputs, cells };
}

export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  }
  return m;
}

/** schedules and compares with the reference; returns the program and the worst relative error */
export function check(gp: GraphProgram, opts: ScheduleOptions & { layout?: StateLayout; seed?: number } = {}) {
  const prog = schedule(gp, opts.layout ?? new StateLayout(), opts);
  const env = randomEnv(gp, opts.seed);
  const want = runReference(gp, env),
    got = runScheduled(prog, env);
  let err = 0;
  want.outputs.forEach((w, i) => {
    err = Math.max(err, maxRelErr(got.outputs[i], w));
  });
  // a cell missing from the program was not changed (e.g. an update simplified to `c <- c`)
  for (const [id, w] of want.cells) err = Math.max(err, maxRelErr(got.cells.get(id) ?? env.cells.get(id)!, w));
  return { prog, err };
}

/** per kernel, the state cells it stores to (the program run kernel by kernel on recording memories) */
/**
 * The kernels one run launches, counting a guarded pair (concatFlat's multi-tensor update: a fast
 * variant when every per-parameter host scalar is equal this step, the general select tree
 * otherwise; exactly one runs) once: the pair is ONE update kernel with two variants, so kernel
 * counts drop the general (`when.is === false`) alternative. Same as programStats' launchesPerRun.
 */
export const launched = (prog: KernelProgram) => prog.kernels.filter((k) => !(k.when && !k.when.is));

export function cellsWrittenBy(prog: KernelProgram, env: Env): Set<number>[] {
  const mem = allocMemories(prog);
  prog.inputs.forEach((p, i) => mem[p.buf].set(env.inputs[i] as any, p.offset));
  for (const c of prog.cells) mem[c.buf].set(env.cells.get(c.cell)!, c.offset);
  const si = prog.buffers.findIndex((b) => b.kind === 'scalars');
  if (si >= 0) mem[si].set(env.scalars);
  return prog.kernels.map((k) => {
    const hit = new Set<number>();
    const rec = mem.map(
      (m, b) =>
        new Proxy(m, {
          get: (t, key) => {
            const v = Reflect.get(t, key, t);
            return typeof v === 'function' ? v.bind(t) : v;
          },
          set: (t, key, v) => {
            const i = Number(key);
            for (const c of prog.cells)
              if (c.buf === b && i >= c.offset && i < c.offset + numel(c.shape)) hit.add(c.cell);
            return Reflect.set(t, key, v, t);
          },
        }),
    ) as Memory[];
    runKernel(k, rec, si >= 0 ? (mem[si] as Float32Array) : undefined);
    return hit;
  });
}
