// From planned kernels to a KernelProgram: memory plan (state layout with role groups, scratch by
// liveness), buffer declarations (only the memories this program uses), final lowering, stats.
import type { CellInfo, GraphProgram, Node } from '../ir/graph.js';
import type { BufferDecl, CellPlacement, Kernel, KernelProgram, Placement } from '../ir/kernel.js';
import type { StorageDType } from '../../runtime/manifest.js';
import { storageOf } from '../../runtime/manifest.js';
import { squeezed, type Home } from './emit.js';
import { concatFlat, lowerFlat, lowerFused, type FlatPart } from './lower.js';
import { borderRegions, type Region } from './borders.js';
import { concatGrid } from './concat-grid.js';
import { planScratch, type StateLayout, type Temp } from './memory.js';
import { bucketsOf, collectivesOf, groupTemps, placeBucketCells } from './collectives.js';
import type { Realization } from './realize.js';
import type { SStage, StagePlan } from './stages.js';
import { planKernel } from './opt.js';
import { annotate } from './stats.js';
import { numel } from '../ir/graph.js';

/** how the scheduler forms one kernel from stages: fused, a multi-tensor kernel, or concatenated siblings */
export type KernelPlan =
  | { kind: 'fused'; stages: SStage[]; grid: number[]; reason: string }
  | { kind: 'multi'; clusters: SStage[][] }
  | { kind: 'concat'; parts: { stages: SStage[]; grid: number[] }[]; axis: number };

export interface Scheduled extends KernelProgram {
  /** bytes a perfect program would move: inputs and entry state read once, outputs and updates written once */
  minBytes: number;
  /** the graph after passes, for inspection */
  graph: GraphProgram;
}

const DT: StorageDType[] = ['f32', 'i32'];

export function assemble(
  gp: GraphProgram,
  R: Realization,
  sp: StagePlan,
  plans: KernelPlan[],
  layout: StateLayout,
  uses: (n: Node) => number,
  maxStorageBuffers = Infinity,
  splitBorders = false,
): Scheduled {
  const { stages, primary } = sp;
  const cells = new Map<number, CellInfo>(gp.cells.map((c) => [c.id, c]));
  const cellOfNode = (n: Node): number | undefined => {
    if (n.op === 'state') return n.arg.cell;
    const p = primary.get(n.id);
    return p?.dest.kind === 'cell' ? p.dest.cell : undefined;
  };
  // role groups of multi-tensor kernels: position k of every cluster's cell sequence is one role
  for (const p of plans) {
    if (p.kind !== 'multi') continue;
    const seqs = p.clusters.map((c) => {
      const seq: number[] = [];
      for (const s of c)
        for (const x of [s.dest.kind === 'cell' ? s.dest.cell : undefined, ...s.loads.map((l) => cellOfNode(l.node))]) {
          if (x !== undefined && !seq.includes(x)) seq.push(x);
        }
      return seq;
    });
    for (let k = 0; k < seqs[0].length; k++) {
      const role = seqs.map((s) => cells.get(s[k]!)).filter((c): c is CellInfo => !!c);
      if (role.length === seqs.length) layout.placeGroup(role);
    }
  }
  const buckets = bucketsOf(stages);
  placeBucketCells(buckets, layout, cells);
  const used = new Set<number>();
  for (const s of stages) {
    if (s.dest.kind === 'cell') used.add(s.dest.cell);
    for (const l of s.loads) if (l.node.op === 'state') used.add(l.node.arg.cell);
  }
  for (const c of gp.cells) if (used.has(c.id)) layout.place(c);
  for (const id of used) {
    if (!cells.has(id)) throw new Error(`kiln scheduler: cell ${id} is not declared in the program`);
  }

  // scratch by liveness over kernel indices
  const kernelOf = new Map<number, number>();
  plans.forEach((p, i) =>
    (p.kind === 'fused'
      ? p.stages
      : p.kind === 'concat'
        ? p.parts.flatMap((q) => q.stages)
        : p.clusters.flat()
    ).forEach((s) => kernelOf.set(s.id, i)),
  );
  const last = new Map<number, number>();
  for (const s of stages)
    for (const l of s.loads) {
      const p = primary.get(l.node.id);
      if (p) last.set(p.id, Math.max(last.get(p.id) ?? 0, kernelOf.get(s.id)!));
    }
  const temps: Temp[] = stages
    .filter((s) => s.dest.kind === 'scratch' && !s.local)
    .map((s) => ({
      key: s.id,
      storage: storageOf(s.node.dtype),
      size: numel(s.node.shape),
      first: kernelOf.get(s.id)!,
      last: Math.max(kernelOf.get(s.id)!, last.get(s.id) ?? 0),
    }));
  // a bucket's scratch values in one block: one collective reduces them all
  const grouped = groupTemps(temps, buckets, (b) => stages.length + b),
    scratch = planScratch(grouped.temps);

  // buffers: only what this program touches
  const buffers: BufferDecl[] = [];
  const decl = (b: BufferDecl) => buffers.push(b) - 1;
  const stateBuf: Partial<Record<StorageDType, number>> = {},
    scratchBuf: Partial<Record<StorageDType, number>> = {};
  for (const dt of DT) {
    const ends = [...used]
      .map((id) => layout.get(id)!)
      .filter((s) => s.dtype === dt)
      .map((s) => s.offset + s.size);
    if (ends.length) stateBuf[dt] = decl({ name: `state_${dt}`, kind: 'state', dtype: dt, size: Math.max(...ends) });
  }
  for (const dt of DT) {
    if (scratch.size[dt] > 0) {
      scratchBuf[dt] = decl({ name: `scratch_${dt}`, kind: 'scratch', dtype: dt, size: scratch.size[dt] });
    }
  }
  // past MAX_SEPARATE_IO per-value buffers, inputs and outputs share one buffer per dtype: a native
  // entry point takes one pointer per buffer (koffi calls take at most 64 arguments). Likewise
  // when state, scratch and one buffer per value could exceed what one kernel may bind: packed,
  // a kernel binds at most two buffers (f32, i32) of each kind
  const io = gp.inputs.length + gp.outputs.length;
  const packed = io > MAX_SEPARATE_IO || buffers.length + io > maxStorageBuffers;
  const inputs = packed
    ? packValues(gp.inputs, inputOrder(gp, plans), 'inputs', 'input', decl)
    : placeInputs(gp, plans, decl);
  const outputs: Placement[] = packed
    ? packValues(
        gp.outputs,
        gp.outputs.map((_, i) => i),
        'outputs',
        'output',
        decl,
      )
    : gp.outputs.map((o, i) => ({
        buf: decl({ name: `out${i}`, kind: 'output', dtype: storageOf(o.dtype), size: numel(o.shape) }),
        offset: 0,
        shape: [...o.shape],
        dtype: o.dtype,
      }));
  if (gp.host.scalarCount > 0) decl({ name: 'scalars', kind: 'scalars', dtype: 'f32', size: gp.host.scalarCount });

  // a local stage (never stored) gets a scratch home even where no scratch buffer exists: no limit then
  const limit = (buf: number): number | undefined => buffers[buf]?.size;
  const cellHome = (id: number, shape: readonly number[]): Home => {
    const s = layout.get(id)!;
    const buf = stateBuf[s.dtype]!;
    return { buf, offset: s.offset, shape, storage: s.dtype, limit: limit(buf) };
  };
  const storeHomeOf = (s: SStage): Home => {
    const t = s.dest,
      storage = storageOf(s.node.dtype);
    if (t.kind === 'cell') return cellHome(t.cell, s.node.shape);
    if (t.kind === 'output') {
      const buf = outputs[t.index].buf;
      return { buf, offset: outputs[t.index].offset, shape: s.node.shape, storage, limit: limit(buf) };
    }
    const buf = scratchBuf[storage]!;
    return { buf, offset: grouped.offsetOf(scratch.offsets, s.id)!, shape: s.node.shape, storage, limit: limit(buf) };
  };
  const sourceOf = (n: Node): Home | undefined => {
    if (n.op === 'input') {
      return {
        buf: inputs[n.arg.index].buf,
        offset: inputs[n.arg.index].offset,
        shape: n.shape,
        storage: storageOf(n.dtype),
        limit: limit(inputs[n.arg.index].buf),
      };
    }
    if (n.op === 'state') return cellHome(n.arg.cell, n.shape);
    return undefined;
  };
  const homeOf = (n: Node): Home | undefined => {
    const p = primary.get(n.id);
    return p ? (p.local ? undefined : storeHomeOf(p)) : sourceOf(n);
  };

  const kernels: Kernel[] = [];
  const name = (base: string) => `k${kernels.length}_${base}`;
  const planKernels: [number, number][] = [];
  for (const p of plans) {
    const first = kernels.length;
    lowerPlan(p);
    planKernels.push([first, kernels.length]);
  }
  function lowerPlan(p: KernelPlan): void {
    if (p.kind === 'fused') {
      const last = p.stages[p.stages.length - 1].node.op;
      const reason =
        p.stages.length > 1 ? `${p.stages.length} stages share grid [${p.grid}]` : R.reason.get(p.stages[0].node.id);
      const lower = (region?: Region) =>
        lowerFused(name(last), p.stages, p.grid, homeOf, storeHomeOf, uses, reason, sourceOf, region);
      const whole = lower();
      const regions = splitBorders ? borderRegions(whole) : null;
      if (!regions) kernels.push(whole);
      else {
        for (const r of regions) {
          const box = lower(r);
          kernels.push({ ...box, meta: { ...box.meta, reason: boxReason(reason, r) } });
        }
      }
      return;
    }
    if (p.kind === 'concat') {
      // rule 5: lowered apart, then concatenated along the axis; apart when they do not fit
      const ks = p.parts.map((q) =>
        lowerFused('', q.stages, q.grid, homeOf, storeHomeOf, uses, R.reason.get(q.stages[0].node.id), sourceOf),
      );
      const joined = concatGrid(
        name(p.parts[p.parts.length - 1].stages[0].node.op),
        ks,
        p.axis,
        `${p.parts.length} kernels concatenated along grid axis ${p.axis}`,
      );
      if (joined) kernels.push(joined);
      else for (const [j, kn] of ks.entries()) kernels.push({ ...kn, name: name(p.parts[j].stages[0].node.op) });
      return;
    }
    // clusters whose final placements still give one structure share a kernel (all of them, when
    // the memory plan lined the roles up); a cluster that is not flat after all loops on its own
    const byKey = new Map<string, FlatPart[]>();
    p.clusters.forEach((c) => {
      const part = lowerFlat(c, homeOf, storeHomeOf, uses);
      if (part) byKey.set(part.key, [...(byKey.get(part.key) ?? []), part]);
      else {
        kernels.push(
          lowerFused(
            name('update'),
            c,
            squeezed(c[0].node.shape).map(([, n]) => n),
            homeOf,
            storeHomeOf,
            uses,
            'update',
            sourceOf,
          ),
        );
      }
    });
    for (const parts of byKey.values()) {
      kernels.push(...concatFlat(name('multi'), parts, `multi-tensor update of ${parts.length} parameter groups`));
    }
  }

  const kernelsOf = (s: SStage) => planKernels[kernelOf.get(s.id)!];
  const collectives = collectivesOf(buckets, stages, storeHomeOf, kernelsOf, kernels.length, cells);

  const cellPlacements: CellPlacement[] = [...used].map((id) => {
    const c = cells.get(id)!,
      h = cellHome(id, c.shape);
    return { buf: h.buf, offset: h.offset, shape: [...c.shape], dtype: c.dtype, cell: id, name: c.name };
  });

  // the minimum: inputs + entry state read once, outputs + updated state written once
  const read = new Set<number>(),
    written = new Set<number>();
  for (const s of stages) {
    if (s.dest.kind === 'cell') written.add(s.dest.cell);
    for (const l of s.loads) if (l.node.op === 'state') read.add(l.node.arg.cell);
  }
  const cellBytes = (ids: Set<number>) => [...ids].reduce((a, id) => a + 4 * numel(cells.get(id)!.shape), 0);
  const minBytes =
    4 * gp.inputs.reduce((a, x) => a + numel(x.shape), 0) +
    4 * gp.outputs.reduce((a, o) => a + numel(o.shape), 0) +
    cellBytes(read) +
    cellBytes(written);
  const peakBytes = buffers.reduce((a, b) => a + 4 * b.size, 0);

  return {
    buffers,
    host: gp.host,
    inputs,
    outputs,
    cells: cellPlacements,
    kernels: kernels.map((k) => planKernel(annotate(k))),
    peakBytes,
    ...(collectives.length ? { collectives } : {}),
    minBytes,
    graph: gp,
  };
}

/**
 * Input buffers. Inputs playing one role in every cluster of a multi-tensor kernel (each
 * parameter's gradient when `p.grad = input`) share ONE buffer, back to back in cluster order, so
 * the kernel reads them with the same `g0 + const` index as the state roles; the runtimes write
 * each input at its placement's offset. Every other input has a buffer of its own.
 */
function placeInputs(gp: GraphProgram, plans: KernelPlan[], decl: (b: BufferDecl) => number): Placement[] {
  const group = inputRoles(gp, plans);
  const bufOf = new Map<number[], number>();
  return gp.inputs.map((x, i) => {
    const g = group.get(i),
      dtype = storageOf(x.dtype);
    if (!g) {
      return {
        buf: decl({ name: x.name, kind: 'input', dtype, size: numel(x.shape) }),
        offset: 0,
        shape: [...x.shape],
        dtype: x.dtype,
      };
    }
    if (!bufOf.has(g.role)) {
      const size = g.role.reduce((a, j) => a + numel(gp.inputs[j].shape), 0);
      bufOf.set(g.role, decl({ name: g.role.map((j) => gp.inputs[j].name).join('+'), kind: 'input', dtype, size }));
    }
    return { buf: bufOf.get(g.role)!, offset: g.offset, shape: [...x.shape], dtype: x.dtype };
  });
}

const MAX_SEPARATE_IO = 24;

/** input indices with each role's members back to back (a role stays contiguous when packed) */
function inputOrder(gp: GraphProgram, plans: KernelPlan[]): number[] {
  const group = inputRoles(gp, plans);
  const order: number[] = [];
  gp.inputs.forEach((_, i) => {
    const g = group.get(i);
    if (!g) order.push(i);
    else if (!order.includes(i)) order.push(...g.role);
  });
  return order;
}

/** every value of one dtype in one buffer, in `order` */
function packValues(
  vals: readonly { shape: readonly number[]; dtype: Placement['dtype'] }[],
  order: number[],
  name: string,
  kind: 'input' | 'output',
  decl: (b: BufferDecl) => number,
): Placement[] {
  const out: Placement[] = [];
  for (const dt of DT) {
    const mine = order.filter((i) => storageOf(vals[i].dtype) === dt);
    if (!mine.length) continue;
    const buf = decl({
      name: `${name}_${dt}`,
      kind,
      dtype: dt,
      size: mine.reduce((a, i) => a + numel(vals[i].shape), 0),
    });
    let offset = 0;
    for (const i of mine) {
      out[i] = { buf, offset, shape: [...vals[i].shape], dtype: vals[i].dtype };
      offset += numel(vals[i].shape);
    }
  }
  return out;
}

/** inputs playing one role in every cluster of a multi-tensor kernel, with their offsets in it */
function inputRoles(gp: GraphProgram, plans: KernelPlan[]): Map<number, { role: number[]; offset: number }> {
  const group = new Map<number, { role: number[]; offset: number }>();
  for (const p of plans) {
    if (p.kind !== 'multi') continue;
    const seqs = p.clusters.map((c) => {
      const seq: number[] = [];
      for (const s of c)
        for (const l of s.loads) {
          if (l.node.op === 'input' && !seq.includes(l.node.arg.index)) seq.push(l.node.arg.index);
        }
      return seq;
    });
    for (let k = 0; k < seqs[0].length; k++) {
      const role = seqs.map((s) => s[k]);
      const dt = storageOf(gp.inputs[role[0]].dtype);
      if (
        role.some((i) => i === undefined || group.has(i) || storageOf(gp.inputs[i].dtype) !== dt) ||
        new Set(role).size < role.length
      )
        continue;
      let offset = 0;
      for (const i of role) {
        group.set(i, { role, offset });
        offset += numel(gp.inputs[i].shape);
      }
    }
  }
  return group;
}

/** a box's kernel says which box of its grid it is (`kiln inspect`) */
const boxReason = (reason: string | undefined, r: Region) => {
  const end = (j: number) => r.origin[j] + r.step[j] * r.extent[j];
  const box = r.origin.map((o, j) => `${o}..${end(j)}${r.step[j] > 1 ? ` by ${r.step[j]}` : ''}`).join(', ');
  return `${reason ? `${reason}; ` : ''}box [${box}] of a pad's guards`;
};
