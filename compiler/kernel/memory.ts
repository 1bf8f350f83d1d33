// Memory plan. State cells live in one arena per dtype shared by every program on a device, so
// their offsets come from a StateLayout that persists across compiles and only grows. Cells that
// play the same role for a list of parameters (all p, all grads, all m, all v) are packed
// contiguously in parameter order, so that a multi-tensor kernel indexes every role with the
// same flat loop variable. Temporaries go to per-dtype scratch arenas, placed by liveness
// (kernel index intervals) with first-fit reuse.
import type { CellInfo } from '../ir/graph.js';
import type { StorageDType } from '../../runtime/manifest.js';
import { storageOf } from '../../runtime/manifest.js';
import { numel } from '../ir/graph.js';

/** element alignment of a cell or group start and of scratch blocks (16 bytes) */
export const ALIGN = 4;
/**
 * ... and of a large one's (256 bytes, WebGPU's binding offset alignment): a buffer past one storage binding is
 * bound as windows (targets/wgsl/windows.ts), which must start aligned; the roles of an Adam over 1e7 parameters
 * each get their own
 */
export const LARGE_ALIGN = 64;
/** elements from which a placement starts LARGE_ALIGN-aligned */
const LARGE = 1 << 16;
const align = (x: number, size = 0) => {
  const a = size >= LARGE ? LARGE_ALIGN : ALIGN;
  return Math.ceil(x / a) * a;
};

export interface CellSlot {
  dtype: StorageDType;
  offset: number;
  size: number;
}

export class StateLayout {
  private readonly slots = new Map<number, CellSlot>();
  readonly size: Record<StorageDType, number> = { f32: 0, i32: 0 };

  get(cell: number): CellSlot | undefined {
    return this.slots.get(cell);
  }
  has(cell: number): boolean {
    return this.slots.has(cell);
  }

  /** places a cell at an aligned offset (no-op if it already has one) */
  place(c: CellInfo): CellSlot {
    const hit = this.slots.get(c.id);
    if (hit) return hit;
    const dtype = storageOf(c.dtype);
    const slot = { dtype, offset: align(this.size[dtype], numel(c.shape)), size: numel(c.shape) };
    this.size[dtype] = slot.offset + slot.size;
    this.slots.set(c.id, slot);
    return slot;
  }

  /** places the unplaced cells of a role group back to back (one aligned start, no gaps) */
  placeGroup(cells: CellInfo[]): void {
    const todo = cells.filter((c) => !this.slots.has(c.id));
    if (!todo.length) return;
    const dtype = storageOf(todo[0].dtype);
    let at = align(
      this.size[dtype],
      todo.reduce((a, c) => a + numel(c.shape), 0),
    );
    for (const c of todo) {
      if (storageOf(c.dtype) !== dtype) {
        this.place(c);
        continue;
      }
      const slot = { dtype, offset: at, size: numel(c.shape) };
      this.slots.set(c.id, slot);
      at += slot.size;
    }
    this.size[dtype] = Math.max(this.size[dtype], at);
  }
}

export interface Temp {
  key: number;
  storage: StorageDType;
  size: number;
  first: number;
  last: number;
}
export interface ScratchPlan {
  offsets: Map<number, number>;
  size: Record<StorageDType, number>;
}

/**
 * Places temporaries alive over kernel intervals [first, last] (inclusive: a kernel may read one
 * temporary while writing another, so they may not share memory). First fit by start time.
 */
export function planScratch(temps: Temp[]): ScratchPlan {
  const offsets = new Map<number, number>();
  const size: Record<StorageDType, number> = { f32: 0, i32: 0 };
  const live: Record<StorageDType, { off: number; end: number; last: number }[]> = { f32: [], i32: [] };
  for (const t of [...temps].sort((a, b) => a.first - b.first || b.size - a.size)) {
    const busy = live[t.storage].filter((b) => b.last >= t.first).sort((a, b) => a.off - b.off);
    live[t.storage] = busy;
    let at = 0;
    for (const b of busy) {
      if (at + t.size <= b.off) break;
      at = Math.max(at, align(b.end, t.size));
    }
    offsets.set(t.key, at);
    busy.push({ off: at, end: at + t.size, last: t.last });
    size[t.storage] = Math.max(size[t.storage], at + t.size);
  }
  return { offsets, size };
}
