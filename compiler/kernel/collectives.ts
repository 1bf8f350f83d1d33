// Collectives in the memory plan and the launch order (scheduler rule 6). The values of one bucket
// (allreduce nodes, compiler/distributed) are stored back to back, so that one collective reduces
// them all: gradients that are cell updates are placed as one group of the state arena (the
// multi-tensor update's grad role already is one, in parameter order), the others share one scratch
// block. A collective starts after the last kernel storing one of its values and completes before
// the first kernel reading one (runtime/manifest.ts Collective).
import type { CellInfo } from '../ir/graph.js';
import type { Collective } from '../../runtime/manifest.js';
import { storageOf } from '../../runtime/manifest.js';
import { ALIGN, type StateLayout, type Temp } from './memory.js';
import type { SStage } from './stages.js';
import { numel } from '../ir/graph.js';

/** each bucket's stages, in program order (node creation: the order the DSL made them) */
export function bucketsOf(stages: readonly SStage[]): Map<number, SStage[]> {
  const out = new Map<number, SStage[]>();
  for (const s of stages) if (s.collective !== undefined) out.set(s.collective, [...(out.get(s.collective) ?? []), s]);
  for (const ss of out.values()) ss.sort((a, b) => a.node.id - b.node.id);
  return out;
}

/** the cells a bucket's values are stored in, placed as one group (a no-op for cells placed before) */
export function placeBucketCells(
  buckets: Map<number, SStage[]>,
  layout: StateLayout,
  cells: Map<number, CellInfo>,
): void {
  for (const ss of buckets.values()) {
    const own = ss.flatMap((s) => (s.dest.kind === 'cell' ? [cells.get(s.dest.cell)!] : []));
    if (own.length) layout.placeGroup(own);
  }
}

/**
 * Scratch temporaries with each bucket's scratch values merged into one block (key: `blockKey(b)`),
 * alive from the first kernel storing one to the last reading one; `offsetOf` then gives a member's
 * offset from the plan's offsets.
 */
export function groupTemps(temps: Temp[], buckets: Map<number, SStage[]>, blockKey: (b: number) => number) {
  const member = new Map<number, { bucket: number; at: number }>();
  const blocks: Temp[] = [];
  const byKey = new Map(temps.map((t) => [t.key, t]));
  for (const [b, ss] of buckets) {
    const mine = ss.flatMap((s) => byKey.get(s.id) ?? []);
    if (!mine.length) continue;
    let at = 0;
    for (const t of mine) {
      member.set(t.key, { bucket: b, at });
      at += t.size;
    }
    const first = Math.min(...mine.map((t) => t.first)),
      last = Math.max(...mine.map((t) => t.last));
    blocks.push({ key: blockKey(b), storage: mine[0].storage, size: at, first, last });
  }
  const grouped = [...temps.filter((t) => !member.has(t.key)), ...blocks];
  const offsetOf = (offsets: Map<number, number>, key: number): number | undefined => {
    const m = member.get(key);
    return m ? offsets.get(blockKey(m.bucket))! + m.at : offsets.get(key);
  };
  return { temps: grouped, offsetOf };
}

/** where a stored value lives: buffer and element offset */
export type StoredAt = (s: SStage) => { buf: number; offset: number };

/**
 * Each bucket's collectives: one per contiguous run of its values (one, unless earlier programs
 * placed its cells apart), starting after the kernel that stores its last value and waited for
 * before the first kernel reading one. `kernelsOf(stage)`: the [first, end) kernels of its plan.
 */
export function collectivesOf(
  buckets: Map<number, SStage[]>,
  stages: readonly SStage[],
  at: StoredAt,
  kernelsOf: (s: SStage) => [number, number],
  kernelCount: number,
  cells: Map<number, CellInfo>,
): Collective[] {
  const nameOf = (s: SStage) => (s.dest.kind === 'cell' ? cells.get(s.dest.cell)!.name : `%${s.node.id}`);
  const out: Collective[] = [];
  for (const ss of buckets.values()) {
    const ids = new Set(ss.map((s) => s.node.id));
    const start = Math.max(...ss.map((s) => kernelsOf(s)[1]));
    const readers = stages.filter((s) => s.loads.some((l) => ids.has(l.node.id)) && !ss.includes(s));
    const wait = Math.min(kernelCount, ...readers.map((s) => kernelsOf(s)[0]));
    if (wait < start) throw new Error('kiln scheduler: a value is read before its collective could start');
    const op = ss[0].node.op === 'allreduce' ? ss[0].node.arg.op : 'sum';
    if (ss.some((s) => s.node.op !== 'allreduce' || s.node.arg.op !== op || storageOf(s.node.dtype) !== 'f32')) {
      throw new Error('kiln scheduler: one bucket must all-reduce float32 values with one op');
    }
    const spans = ss
      .map((s) => ({ ...at(s), length: numel(s.node.shape), name: nameOf(s) }))
      .sort((a, b) => a.buf - b.buf || a.offset - b.offset);
    const runs: Collective[] = [];
    for (const p of spans) {
      const run = runs[runs.length - 1];
      const end = run ? run.offset + run.length : 0;
      // cells of one group lie back to back; an earlier program's placements at most an alignment apart
      if (run && run.buf === p.buf && p.offset >= end && p.offset <= align(end)) {
        run.length = p.offset + p.length - run.offset;
        run.names.push(p.name);
      } else runs.push({ op, buf: p.buf, offset: p.offset, length: p.length, start, wait, names: [p.name] });
    }
    out.push(...runs);
  }
  return out.filter((c) => c.length > 0).sort((a, b) => a.start - b.start || a.wait - b.wait);
}

const align = (x: number) => Math.ceil(x / ALIGN) * ALIGN;
