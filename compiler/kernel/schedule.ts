// The scheduler: GraphProgram -> KernelProgram. The fusion rules, in one place:
//   1. what is materialized at all: compiler/kernel/realize.ts (elementwise chains, views and
//      single-consumer reductions are inlined into the stage that stores their consumer, so an
//      elementwise chain is one loop and matmul + bias + activation is one loop nest);
//   2. multi-tensor apply (compiler/kernel/multi.ts): an optimizer step over any number of
//      parameters is ONE kernel over the concatenation of every parameter's elements. The memory
//      plan packs each role (all p, all m, ..., all grad inputs) contiguously in parameter order,
//      so the kernel is a single flat loop; per-parameter host scalars (bias corrections) are
//      picked per segment by a small select tree, so different step counts stay correct;
//   3. a stage joins the current kernel at their longest common leading grid (weight-grad and
//      bias-grad over the output-feature axis; every per-row op of a softmax/cross-entropy) when
//      every value one stage reads from another stage of the kernel belongs to the same grid
//      point (with no grid left, everything runs in order in one invocation: a batch-1 forward
//      and backward are one kernel). Parallelism: the kernel's serial path (work per grid point)
//      may grow past running the two back to back only while the grid keeps >= minParallel
//      points or each point does at most serialWork (flops + words moved): below that a launch
//      costs more than the lost parallelism, on CPU and GPU. A stage that shares no data with the
//      kernel (reads none of its values or loads) joins only while it is small: the same-shape weight
//      gradients of a 4-block GPT joined ran its step at 108 ms, apart 74 ms (bench/gpt-probe.mts);
//   4. order: data dependencies, and every reader of a cell's entry value before its writer
//      (stages.ts); among ready stages the earliest in program order goes first;
//   5. siblings: consecutive independent kernels whose grids agree on a leading prefix of k >= 1
//      axes and have at most one axis more are ONE kernel whose axis k is the concatenation of
//      theirs (lower.ts: concatGrid): a weight gradient [out, in] and a bias gradient [out],
//      both reduced over the batch, run as [out, in + 1], their batch loops fused. Unlike rule 3
//      this keeps the grid (it grows): each point's serial path is at most the parts' back to
//      back; allowed while the total work stays within twice the parts' (every point runs every
//      part's body, so a part's work is multiplied by the points it did not have), and only
//      along axes narrower than 16, where no part vectorizes across points anyway. Measured on
//      native (scratch, seed step's four gradient kernels, best of 15): 9.4 -> 10.2 us at batch
//      512, 109 -> 116 us at 4096: the concatenated kernel no longer matches the LLVM target's
//      gᵀ·x tile strategy; two launches fewer is the larger win where a dispatch costs more (WebGPU).
//   6. collectives: a unit reading an all-reduced value waits until every value of its bucket is
//      stored, and never joins the kernel storing one (the collective runs between the two).
import type { GraphProgram, Node } from '../ir/graph.js';
import type { Kernel, KernelProgram } from '../ir/kernel.js';
import { isVarIx } from './index-algebra.js';
import { squeezed } from './emit.js';
import { realize } from './realize.js';
import { buildStages, type SStage } from './stages.js';
import type { FlatPart } from './lower.js';
import { clusterUpdates } from './multi.js';
import { StateLayout } from './memory.js';
import { assemble, type KernelPlan } from './assemble.js';
import { runPasses } from '../passes/index.js';
import { numel } from '../ir/graph.js';

export interface ScheduleOptions {
  /** run the graph passes first (default true) */
  passes?: boolean;
  /** a join that keeps this many grid points is never refused for parallelism (default 4096) */
  minParallel?: number;
  /** below minParallel points, a join that serializes work is allowed while each grid point does
   *  at most this much (flops + 4-byte words moved; default 4096, well under llvmpipe's 65,535
   *  loop back-edges per invocation): cheaper than a launch on CPU and GPU */
  serialWork?: number;
  /** concatenate same-structure state updates into one kernel (default true) */
  multiTensor?: boolean;
  /** concatenate independent sibling kernels along a grid axis (rule 5, default true) */
  siblings?: boolean;
  /** lower a kernel with pad guards as its interior and frame (compiler/kernel/borders.ts; default true: a
   *  CPU vectorizes the guard-free interior; the webgpu target turns it off, each box being one more shader) */
  splitBorders?: boolean;
  /** storage buffers one kernel may bind (a WebGPU device's maxStorageBuffersPerShaderStage): past
   *  it, inputs and outputs share one buffer per dtype (default: only past koffi's argument limit) */
  maxStorageBuffers?: number;
}

export function schedule(
  graph: GraphProgram,
  layout: StateLayout = new StateLayout(),
  opts: ScheduleOptions = {},
): KernelProgram {
  const gp = opts.passes === false ? graph : runPasses(graph);
  const R = realize(gp);
  const plan = buildStages(gp, R);
  const { stages, primary, writer } = plan;
  const pos = new Map(R.order.map((n, i) => [n.id, i]));
  const prio = (s: SStage) =>
    (pos.get(s.node.id) ?? 0) * 2 + (s.copy ? 1 : 0) + (s.dest.kind === 'cell' && s.copy ? 1e9 : 0);
  const uses = (n: Node) => R.users.get(n.id)?.length ?? 0;

  // -- rule 2: multi-tensor clusters
  const units: SStage[][][] = []; // a unit is a list of clusters; an ordinary stage is [[stage]]
  const unitOf = new Map<number, number>();
  const inMulti = new Set<number>();
  if (opts.multiTensor !== false) {
    units.push(...clusterUpdates(stages, primary, prio, uses));
    for (const [i, u] of units.entries())
      for (const c of u)
        for (const s of c) {
          unitOf.set(s.id, i);
          inMulti.add(s.id);
        }
  }
  for (const s of stages)
    if (!unitOf.has(s.id)) {
      unitOf.set(s.id, units.length);
      units.push([[s]]);
    }

  // -- rules 3 and 4: list scheduling
  const minPar = opts.minParallel ?? 4096,
    serialWork = opts.serialWork ?? 4096;
  const plans: KernelPlan[] = [];
  let cur: { stages: SStage[]; grid: number[] } | null = null;
  const unitStages = (u: number) => units[u].flat();
  const uprio = units.map((_, u) => unitStages(u).reduce((a, s) => Math.min(a, prio(s)), Infinity));
  const pending = new Set(units.keys());
  // ready units (every dependency outside the unit done), kept by counting: a graph of thousands
  // of stages is scheduled in time linear in its dependencies, not quadratic
  const waiting = units.map(() => 0),
    dependents = new Map<number, number[]>();
  for (const u of units.keys())
    for (const s of unitStages(u))
      for (const d of s.deps) {
        if (unitOf.get(d) === u) continue;
        waiting[u]++;
        const ws = dependents.get(d);
        if (ws) ws.push(u);
        else dependents.set(d, [u]);
      }
  // rule 6: a unit reading an all-reduced value waits for its collective, which starts once every
  // value of the bucket is stored (a pseudo-dependency keyed past the stage ids, released then)
  const bucketKey = (b: number) => stages.length + b;
  const bucketLeft = new Map<number, number>();
  for (const s of stages)
    if (s.collective !== undefined) bucketLeft.set(s.collective, (bucketLeft.get(s.collective) ?? 0) + 1);
  for (const u of units.keys()) {
    const buckets = new Set<number>();
    for (const s of unitStages(u))
      for (const l of s.loads) {
        const p = primary.get(l.node.id);
        if (p?.collective !== undefined && unitOf.get(p.id) !== u) buckets.add(p.collective);
      }
    for (const b of buckets) {
      waiting[u]++;
      const ws = dependents.get(bucketKey(b));
      if (ws) ws.push(u);
      else dependents.set(bucketKey(b), [u]);
    }
  }
  const ready = new Set([...units.keys()].filter((u) => waiting[u] === 0));
  const release = (key: number) => {
    for (const w of dependents.get(key) ?? []) if (--waiting[w] === 0) ready.add(w);
  };
  const take = (u: number, ss: SStage[]) => {
    pending.delete(u);
    ready.delete(u);
    for (const s of ss) {
      release(s.id);
      if (s.collective === undefined) continue;
      const left = bucketLeft.get(s.collective)! - 1;
      bucketLeft.set(s.collective, left);
      if (left === 0) release(bucketKey(s.collective));
    }
  };
  const close = () => {
    if (cur) plans.push({ kind: 'fused', ...cur, reason: 'next stage cannot share its grid' });
    cur = null;
  };
  const join = (s: SStage): number[] | null => {
    if (!cur || inMulti.has(s.id)) return null;
    const dims = squeezed(s.node.shape).map(([, n]) => n);
    let k = 0;
    while (k < cur.grid.length && k < dims.length && cur.grid[k] === dims[k]) k++;
    const grid = cur.grid.slice(0, k);
    // the serial path (work per grid point) may grow past running the two kernels back to back
    // only while the grid keeps >= minParallel points or each point stays within serialWork
    const w = cur.stages.reduce((a, t) => a + t.work, 0);
    const before = w / numel(cur.grid) + s.work / numel(dims),
      after = (w + s.work) / numel(grid);
    if (numel(grid) < minPar && after > before * (1 + 1e-9) && after > serialWork) return null;
    const here = new Set([...cur.stages, s].map((t) => t.id));
    // a reader of an all-reduced value runs after the collective, which runs after this kernel
    const reducedHere = (l: (typeof s.loads)[number]) => {
      const p = primary.get(l.node.id);
      return p?.collective !== undefined && here.has(p.id);
    };
    if (s.loads.some(reducedHere)) return null;
    if (s.work > unrelatedWork && !sharesData(s, cur.stages)) return null;
    for (const t of [...cur.stages, s])
      for (const l of t.loads) {
        const p = primary.get(l.node.id);
        const w = l.node.op === 'state' ? writer.get(l.node.arg.cell) : undefined;
        if (!(p && here.has(p.id) && p !== t) && !(w && here.has(w.id) && w !== t)) continue;
        const sq = squeezed(l.node.shape);
        if (sq.length < k) return null;
        for (let j = 0; j < k; j++) if (sq[j][1] !== grid[j] || !isVarIx(l.idx[sq[j][0]], `g${j}`)) return null;
      }
    return grid;
  };
  // a stage that neither reads what the kernel computes nor loads what it loads gains nothing from
  // joining but a launch, and a kernel of several big independent stages (the same-shape weight
  // gradients of every block of a transformer) loses its matmul strategy: only small ones join
  const sharesData = (s: SStage, ss: SStage[]) => {
    const ids = new Set(ss.map((t) => t.id)),
      loaded = new Set(ss.flatMap((t) => t.loads.map((l) => l.node.id)));
    return s.loads.some((l) => loaded.has(l.node.id) || ids.has(primary.get(l.node.id)?.id ?? -1));
  };
  while (pending.size) {
    const rs = [...ready].sort((a, b) => uprio[a] - uprio[b]);
    if (!rs.length) throw new Error('kiln scheduler: cyclic stage dependencies');
    let joined = false;
    if (cur)
      for (const u of rs) {
        const c = units[u];
        if (c.length !== 1 || c[0].length !== 1) continue;
        const g = join(c[0][0]);
        if (!g) continue;
        cur.stages.push(c[0][0]);
        cur.grid = g;
        take(u, c[0]);
        joined = true;
        break;
      }
    if (joined) continue;
    close();
    const u = rs[0];
    take(u, unitStages(u));
    const c = units[u];
    if (inMulti.has(c[0][0].id)) plans.push({ kind: 'multi', clusters: c });
    else cur = { stages: [c[0][0]], grid: squeezed(c[0][0].node.shape).map(([, n]) => n) };
  }
  close();
  const joined = opts.siblings === false ? plans : siblings(plans);
  return assemble(gp, R, plan, joined, layout, uses, opts.maxStorageBuffers, opts.splitBorders ?? true);
}

/** rule 3 joins a stage that shares no data with the kernel only below this much work (a launch's worth) */
const unrelatedWork = 1 << 16;

/** rule 5 joins kernels only along an axis narrower than a vector of 16 lanes */
const NARROW_AXIS = 16;

/** rule 5: consecutive fused kernels joined along grid axis k */
function siblings(plans: KernelPlan[]): KernelPlan[] {
  const out: KernelPlan[] = [];
  const work = (ps: { stages: SStage[] }[]) => ps.reduce((a, p) => a + p.stages.reduce((b, s) => b + s.work, 0), 0);
  for (const p of plans) {
    const prev = out[out.length - 1];
    const mine = p.kind === 'fused' ? [{ stages: p.stages, grid: p.grid }] : null;
    const theirs =
      prev?.kind === 'fused' ? [{ stages: prev.stages, grid: prev.grid }] : prev?.kind === 'concat' ? prev.parts : null;
    if (mine && theirs) {
      const parts = [...theirs, ...mine];
      const g0 = parts.reduce((a, q) => (q.grid.length > a.length ? q.grid : a), parts[0].grid);
      let k = g0.length;
      for (const q of parts) {
        let j = 0;
        while (j < q.grid.length && j < g0.length && q.grid[j] === g0[j]) j++;
        k = Math.min(k, j);
      }
      if (prev.kind === 'concat') k = Math.min(k, prev.axis);
      const ids = new Set(theirs.flatMap((q) => q.stages.map((s) => s.id)));
      const ok =
        k >= 1 &&
        (prev.kind !== 'concat' || k === prev.axis) &&
        parts.every((q) => q.grid.length <= k + 1 && q.stages.length === 1) &&
        parts.some((q) => q.grid.length === k + 1) &&
        !mine[0].stages.some((s) => [...s.deps].some((d) => ids.has(d)));
      if (ok) {
        const ext = (q: { grid: number[] }) => (q.grid.length > k ? q.grid[k] : 1);
        // only narrow axes: along a wide one each part vectorizes (unit stride across points),
        // which a concatenated axis with a different body at its end loses (MLP dW1 = gᵀ·x
        // [256,784] + db1 joined ran 40x slower on native)
        if (!parts.every((q) => ext(q) < NARROW_AXIS)) {
          out.push(p);
          continue;
        }
        const points = numel(g0.slice(0, k)) * parts.reduce((a, q) => a + ext(q), 0);
        const merged = parts.reduce((a, q) => a + (work([q]) / numel(q.grid)) * points, 0);
        if (merged <= 2 * work(parts)) {
          out[out.length - 1] = { kind: 'concat', parts, axis: k };
          continue;
        }
      }
    }
    out.push(p);
  }
  return out;
}

export type { FlatPart, Kernel };
