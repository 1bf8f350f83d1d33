// The fusion test graphs, shared: the random graphs of fusion-random.test.ts, the hand-built
// graphs of fusion-basic.test.ts and the seed's traced training step (fusion-seed.test.ts), so the
// same programs can be scheduled once and checked on every target (fusion-targets.test.ts).
import type { GraphProgram, Node } from '../../compiler/ir/graph.js';
import type { KernelProgram, Expr, Stmt, Kernel } from '../../compiler/ir/kernel.js';
import type { BufferDecl, CellPlacement, Placement } from '../../runtime/manifest.js';
import { manualSeed, nn, optim, type Tensor } from '../../compiler/index.js';
import { trace } from '../../compiler/trace.js';
import { StateLayout } from '../../compiler/kernel/memory.js';
import { cell, g, program, type Env } from '../kernels-util.js';

export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)],
  };
}

/**
 * A random graph (elementwise, broadcast, reductions, matmul chains, views, state updates) over
 * two inputs and two cells. `cellBase` only renumbers the cells (ids 1 + cellBase, 2 + cellBase),
 * so several graphs can share one StateLayout; the graph is otherwise the same for a seed.
 */
export function randomGraph(seed: number, cellBase = 0): GraphProgram {
  const r = rng(seed);
  const c1 = 1 + cellBase,
    c2 = 2 + cellBase;
  const dims = () => [2 + r.int(3), 2 + r.int(3)];
  const inputs = [dims(), dims()];
  const pool: Node[] = inputs.map((s, i) => g.input(i, s));
  const cells = [cell(c1, inputs[0], `c${c1}`), cell(c2, [inputs[0][1], 3], `c${c2}`)];
  pool.push(g.state(c1, inputs[0]), g.state(c2, [inputs[0][1], 3]));
  const same = (s: readonly number[]) => pool.filter((n) => n.shape.join() === s.join());
  for (let i = 0; i < 14; i++) {
    const a = r.pick(pool);
    const k = r.int(10);
    let n: Node;
    if (k === 0) n = r.pick([g.neg, g.abs, (x: Node) => g.exp(g.neg(g.abs(x)))])(a);
    else if (k <= 2) {
      const b = r.pick(same(a.shape));
      n = r.pick([g.add, g.sub, g.mul, g.max, g.min])(a, b);
    } else if (k === 3) n = g.where(g.gt(a, g.bcast(g.const(0.1), [...a.shape])), a, r.pick(same(a.shape)));
    else if (k === 4 && a.shape.length >= 1) {
      // reduce one axis, broadcast back, combine (softmax-like)
      const ax = r.int(a.shape.length);
      const red = (r.int(2) ? g.sum : g.rmax)(a, [ax]);
      n = g.sub(a, g.expand(red, [...a.shape]));
    } else if (k === 5 && a.shape.length === 2) n = g.permute(a, [1, 0]);
    else if (k === 6 && a.shape.length === 2) {
      const b = pool.find((m) => m.shape.length === 2 && m.shape[0] === a.shape[1]);
      n = b ? g.matmul(a, b) : g.neg(a);
    } else if (k === 7 && a.shape.length === 2) n = g.reshape(a, [a.shape[0] * a.shape[1]]);
    else if (k === 8 && a.shape.length === 1 && a.shape[0] % 2 === 0) n = g.reshape(a, [2, a.shape[0] / 2]);
    else if (k === 8 && a.shape.length >= 1 && a.shape[0] >= 3) {
      const shape = [...a.shape];
      shape[0] = Math.ceil((a.shape[0] - 1) / 2);
      n = g.slice(
        a,
        a.shape.map((_, d) => (d === 0 ? 1 : 0)),
        a.shape.map((_, d) => (d === 0 ? 2 : 1)),
        shape,
      );
    } else if (k === 9)
      n = g.pad(
        a,
        a.shape.map(() => r.int(2)),
        a.shape.map(() => r.int(2)),
      );
    else
      n = g.sum(
        a,
        a.shape.map((_, d) => d),
      );
    pool.push(n);
  }
  const outputs = [
    pool[pool.length - 1],
    r.pick(pool.slice(4)),
    g.sum(
      pool[pool.length - 2],
      pool[pool.length - 2].shape.map((_, d) => d),
    ),
  ];
  const upd = same(inputs[0]).filter((n) => n.op !== 'state' && n.op !== 'input');
  const updates = upd.length ? [{ cell: c1, value: r.pick(upd) }] : [];
  return program({
    inputs: inputs.map((s, i) => ({ name: `x${i}`, shape: s, dtype: 'float32' as const })),
    cells,
    outputs,
    updates,
  });
}

// ---- the hand-built graphs of fusion-basic.test.ts ----

const f32 = (name: string, shape: number[]) => ({ name, shape, dtype: 'float32' as const });

/** Adam over parameters of the given shapes, reading grads from cells; per-parameter host scalars */
export function adamProgram(shapes: number[][]): GraphProgram {
  const cells = [],
    updates: { cell: number; value: Node }[] = [];
  let id = 100,
    slot = 0;
  for (const s of shapes) {
    const [pc, gc, mc, vc] = [id++, id++, id++, id++];
    cells.push(cell(pc, s, 'p'), cell(gc, s, 'g'), cell(mc, s, 'm'), cell(vc, s, 'v'));
    const p = g.state(pc, s),
      gr = g.state(gc, s),
      m = g.state(mc, s),
      v = g.state(vc, s);
    const k = (x: number) => g.bcast(g.const(x), s),
      sc = (i: number) => g.bcast(g.scalar(i), s);
    const m2 = g.add(g.mul(m, k(0.9)), g.mul(gr, k(0.1)));
    const v2 = g.add(g.mul(v, k(0.999)), g.mul(g.mul(gr, gr), k(0.001)));
    const den = g.add(g.div(g.sqrt(v2), sc(slot + 1)), k(1e-8));
    const p2 = g.sub(p, g.mul(g.div(m2, den), sc(slot)));
    slot += 2;
    updates.push({ cell: mc, value: m2 }, { cell: vc, value: v2 }, { cell: pc, value: p2 });
  }
  return program({ cells, updates, outputs: [], host: { vars: [], stmts: [], scalarCount: slot } });
}

/** exp((x + y) * 2): one kernel */
export function elementwiseChain(): GraphProgram {
  const x = g.input(0, [4, 3]),
    y = g.input(1, [4, 3]);
  const out = g.exp(g.mul(g.add(x, y), g.bcast(g.const(2), [4, 3])));
  return program({ inputs: [f32('x', [4, 3]), f32('y', [4, 3])], outputs: [out] });
}

/** relu(a @ w + b): one kernel */
export function matmulBiasRelu(): GraphProgram {
  const a = g.input(0, [4, 3]),
    w = g.state(1, [3, 5]),
    b = g.state(2, [5]);
  const z = g.add(g.matmul(a, w), g.expand(g.reshape(b, [1, 5]), [4, 5]));
  const zero = g.bcast(g.const(0), [4, 5]);
  return program({
    inputs: [f32('a', [4, 3])],
    cells: [cell(1, [3, 5]), cell(2, [5])],
    outputs: [g.where(g.gt(z, zero), z, zero)],
  });
}

/** W <- W^T + 1 (reads other elements of the cell it writes), a <-> b, and an output reading old a and b */
export function updatesReadEntryState(): GraphProgram {
  const w = g.state(1, [3, 3]),
    a = g.state(2, [3, 3]),
    b = g.state(3, [3, 3]);
  const cells = [cell(1, [3, 3]), cell(2, [3, 3]), cell(3, [3, 3])];
  const w2 = g.add(g.permute(w, [1, 0]), g.bcast(g.const(1), [3, 3]));
  const out = g.sum(g.mul(a, g.permute(b, [1, 0])), [0, 1]);
  return program({
    cells,
    outputs: [out, g.sum(w2, [0, 1])],
    updates: [
      { cell: 1, value: w2 },
      { cell: 2, value: b },
      { cell: 3, value: a },
    ],
  });
}

/** t = (x + y) * y used by two reductions: stored once in scratch */
export function storedOnce(): GraphProgram {
  const x = g.input(0, [6, 4]),
    y = g.input(1, [6, 4]);
  const t = g.mul(g.add(x, y), y);
  return program({ inputs: [f32('x', [6, 4]), f32('y', [6, 4])], outputs: [g.sum(t, [0]), g.sum(t, [1])] });
}

/** u = exp(x) used by two reductions: recomputed (reads one buffer) */
export function recomputed(): GraphProgram {
  const x = g.input(0, [6, 4]),
    u = g.exp(x);
  return program({ inputs: [f32('x', [6, 4])], outputs: [g.sum(u, [0]), g.sum(u, [1])] });
}

/** the seed's training step (Linear(10,5), ReLU, Linear(5,2), CrossEntropy, backward, Adam) as traced */
export function seedStep(batch: number): GraphProgram {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
  const lossFn = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const step = (x: Tensor, y: Tensor) => {
    opt.zeroGrad();
    const loss = lossFn.forward(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  return trace(step as (...a: Tensor[]) => unknown, [
    { shape: [batch, 10], dtype: 'float32' },
    { shape: [batch], dtype: 'int32' },
  ]).graph;
}

export interface FusionCase {
  name: string;
  graph: GraphProgram;
  /** the layout to schedule with (default: a fresh one) */
  layout?: () => StateLayout;
  /** adjusts the random environment (e.g. class indices in range) */
  env?: (env: Env) => void;
  /** native tolerance when the default (1e-6) is too tight: sums over hundreds of terms, which
   *  the LLVM target adds in 8 partial sums and the interpreter in order */
  nativeTol?: number;
}

/**
 * the fixed graphs: fusion-basic's, and the seed's training step at batch 1, 3, 8 and 512 (its weight
 * and bias gradients concatenated: schedule.ts rule 5)
 */
export function fixedCases(): FusionCase[] {
  const misaligned = adamProgram([[3, 4], [7], [2, 2]]);
  return [
    { name: 'elementwise chain', graph: elementwiseChain() },
    { name: 'matmul + bias + relu', graph: matmulBiasRelu() },
    { name: 'multi-tensor Adam', graph: adamProgram([[5, 10], [5], [2, 5], [2]]) },
    {
      name: 'multi-tensor Adam, cells out of line',
      graph: misaligned,
      layout: () => {
        const l = new StateLayout();
        for (const c of [...misaligned.cells].reverse()) l.place(c);
        return l;
      },
    },
    { name: 'updates read the entry state', graph: updatesReadEntryState() },
    { name: 'a value stored once for two reductions', graph: storedOnce() },
    { name: 'a value recomputed for two reductions', graph: recomputed() },
    ...[1, 3, 8, 512].map((batch) => ({
      name: `seed training step, batch ${batch}`,
      graph: seedStep(batch),
      env: (e: Env) => {
        e.inputs[1] = Int32Array.from({ length: batch }, (_, i) => i % 2);
      },
      // batch 512: bias gradients sum 512 terms that mostly cancel (measured 8.2e-6, with or without rule 5)
      ...(batch > 64 ? { nativeTol: 3e-5 } : {}),
    })),
  ];
}

// ---- several scheduled programs as one (one native library for many graphs) ----

export interface MergedProgram {
  prog: KernelProgram;
  /** per part: its inputs', outputs' and cells' indices in the merged program */
  parts: { inputs: number[]; outputs: number[]; cells: number[] }[];
}

function mapExpr(e: Expr, buf: (b: number) => number, slot: (s: number) => number): Expr {
  switch (e.e) {
    case 'const':
    case 'var':
      return e;
    case 'scalar':
      return { ...e, slot: slot(e.slot) };
    case 'load':
      return { ...e, buf: buf(e.buf), index: mapExpr(e.index, buf, slot) };
    case 'unary':
    case 'cast':
      return { ...e, a: mapExpr(e.a, buf, slot) };
    case 'binary':
      return { ...e, a: mapExpr(e.a, buf, slot), b: mapExpr(e.b, buf, slot) };
    case 'where':
      return { ...e, cond: mapExpr(e.cond, buf, slot), a: mapExpr(e.a, buf, slot), b: mapExpr(e.b, buf, slot) };
    case 'fma':
      return { ...e, a: mapExpr(e.a, buf, slot), b: mapExpr(e.b, buf, slot), c: mapExpr(e.c, buf, slot) };
    case 'random':
      return { ...e, index: mapExpr(e.index, buf, slot), pieces: e.pieces.map((p) => mapExpr(p, buf, slot)) };
  }
}

function mapStmt(s: Stmt, buf: (b: number) => number, slot: (s: number) => number): Stmt {
  switch (s.s) {
    case 'let':
      return { ...s, value: mapExpr(s.value, buf, slot) };
    case 'store':
      return { ...s, buf: buf(s.buf), index: mapExpr(s.index, buf, slot), value: mapExpr(s.value, buf, slot) };
    case 'loop':
      return { ...s, body: s.body.map((x) => mapStmt(x, buf, slot)) };
    case 'acc':
      return s;
    case 'accum':
      return { ...s, value: mapExpr(s.value, buf, slot) };
  }
}

/**
 * Concatenates programs scheduled on one StateLayout (so their cells do not overlap) and without
 * host variables: their kernels run one program after the other. Buffers other than the state
 * arenas are renumbered, host scalar slots shifted; the state arenas are one buffer per dtype.
 * `hostFromCaller`: the caller computes the scalars itself, so host programs are dropped.
 */
export function mergePrograms(progs: KernelProgram[], { hostFromCaller = false } = {}): MergedProgram {
  const buffers: BufferDecl[] = [],
    kernels: Kernel[] = [];
  const inputs: Placement[] = [],
    outputs: Placement[] = [],
    cells: CellPlacement[] = [];
  const state = new Map<string, number>();
  const scalarTotal = progs.reduce((a, p) => a + p.host.scalarCount, 0);
  let scalarsBuf = -1,
    slotBase = 0;
  const parts: MergedProgram['parts'] = [];
  progs.forEach((p, k) => {
    if (!hostFromCaller && (p.host.vars.length || p.host.stmts.length)) {
      throw new Error('mergePrograms: programs with host statements are not merged');
    }
    const map = p.buffers.map((d) => {
      if (d.kind === 'state') {
        let i = state.get(d.dtype);
        if (i === undefined) {
          i = buffers.length;
          state.set(d.dtype, i);
          buffers.push({ ...d, name: `state_${d.dtype}` });
        }
        buffers[i].size = Math.max(buffers[i].size, d.size);
        return i;
      }
      if (d.kind === 'scalars') {
        if (scalarsBuf < 0) {
          scalarsBuf = buffers.length;
          buffers.push({ ...d, size: scalarTotal });
        }
        return scalarsBuf;
      }
      buffers.push({ ...d, name: `p${k}_${d.name}` });
      return buffers.length - 1;
    });
    const base = slotBase;
    const buf = (b: number) => map[b],
      slot = (s: number) => s + base;
    for (const kn of p.kernels) {
      kernels.push({ ...kn, name: `p${k}_${kn.name}`, body: kn.body.map((s) => mapStmt(s, buf, slot)) });
    }
    parts.push({
      inputs: p.inputs.map((x) => inputs.push({ ...x, buf: buf(x.buf) }) - 1),
      outputs: p.outputs.map((x) => outputs.push({ ...x, buf: buf(x.buf) }) - 1),
      cells: p.cells.map((x) => cells.push({ ...x, buf: buf(x.buf) }) - 1),
    });
    slotBase += p.host.scalarCount;
  });
  const prog: KernelProgram = {
    buffers,
    kernels,
    inputs,
    outputs,
    cells,
    host: { vars: [], stmts: [], scalarCount: scalarTotal },
    peakBytes: progs.reduce((a, p) => a + p.peakBytes, 0),
  };
  return { prog, parts };
}
