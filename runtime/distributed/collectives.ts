// A program's collectives as every runtime runs them (the reference interpreter, the native entry's
// callback, WebGPU's read-back): before kernel i, first complete the collectives that kernel i is
// the first to read, then start those whose values the kernels before i finished. A collective
// whose start and wait coincide runs blocking; the others are non-blocking and overlap the kernels
// between (runtime/manifest.ts Collective). The manifest is checked once: a collective outside its
// buffer, or at a kernel that does not exist, is refused before anything runs.
import type { BufferDecl, Collective } from '../manifest.js';
import { allReduceInPlace, collectiveGroup, divideInPlace, type PendingCollective } from './group.js';

/** what the schedule needs of a manifest (or of a kernel program) */
export interface CollectiveProgram {
  readonly buffers: readonly BufferDecl[];
  readonly kernels: readonly unknown[];
  readonly collectives?: readonly Collective[];
}

export class CollectiveSchedule {
  /** the kernel indices (0..kernels) before which something happens or an in-flight collective is tested */
  readonly points: number[];
  /** per kernel index 0..kernels: the collectives that start there, and those that complete there */
  readonly startsAt: Collective[][];
  readonly waitsAt: Collective[][];
  private readonly inFlight = new Map<Collective, { pending: PendingCollective; view: Float32Array }>();

  constructor(m: CollectiveProgram) {
    const cs = m.collectives ?? [];
    for (const c of cs) checkCollective(c, m);
    const n = m.kernels.length;
    this.startsAt = Array.from({ length: n + 1 }, () => []);
    this.waitsAt = Array.from({ length: n + 1 }, () => []);
    for (const c of cs) {
      this.startsAt[c.start].push(c);
      this.waitsAt[c.wait].push(c);
    }
    // MPI has no progress thread: an in-flight collective advances only when tested, so every kernel
    // boundary it spans is a point (a 1e6-float all-reduce then completes behind 5 ms of kernels,
    // where untested its wait took as long as the blocking call)
    const at = new Set<number>();
    for (const c of cs) for (let i = c.start; i <= c.wait; i++) at.add(i);
    this.points = [...at].sort((a, b) => a - b);
  }

  /**
   * what happens before kernel `i` (i = kernels.length: after the last); `view(c)` is the memory of
   * `c` (a view of its buffer from c.offset, c.length elements) on the host
   */
  run(i: number, view: (c: Collective) => Float32Array): void {
    const group = collectiveGroup();
    for (const c of this.waitsAt[i]) {
      if (c.start === i) continue; // blocking: below
      const f = this.inFlight.get(c);
      if (!f) throw new Error(`collective over buffer ${c.buf} was never started`);
      this.inFlight.delete(c);
      f.pending.wait();
      if (c.op === 'avg') divideInPlace(f.view, group.size);
    }
    for (const f of this.inFlight.values()) f.pending.isCompleted?.();
    for (const c of this.startsAt[i]) {
      const v = view(c);
      if (v.length !== c.length) throw new Error(`collective over buffer ${c.buf}: a view of ${v.length} elements`);
      if (c.wait === i) allReduceInPlace(group, v, c.op);
      else this.inFlight.set(c, { pending: group.iallReduce(v, 'sum'), view: v });
    }
  }

  /** every kernel and collective in order: `kernel(i)` launches kernel i */
  runAll(kernel: (i: number) => void, view: (c: Collective) => Float32Array): void {
    const n = this.startsAt.length - 1;
    for (let i = 0; i < n; i++) {
      this.run(i, view);
      kernel(i);
    }
    this.run(n, view);
  }

  /** a run that failed part-way leaves nothing in flight for the next */
  abandon(): void {
    for (const f of this.inFlight.values()) {
      try {
        f.pending.wait();
      } catch {
        // the failure that abandoned the run is the one reported
      }
    }
    this.inFlight.clear();
  }
}

/** throws unless `c` lies in a float32 state, scratch or output buffer of `m` and between its kernels */
function checkCollective(c: Collective, m: CollectiveProgram): void {
  const d = m.buffers[c.buf];
  const where = `collective over buffer ${c.buf} [${c.offset}, +${c.length})`;
  if (!d || (d.kind !== 'state' && d.kind !== 'scratch' && d.kind !== 'output') || d.dtype !== 'f32') {
    throw new Error(`${where}: not a float32 state, scratch or output buffer`);
  }
  const ints = [c.offset, c.length, c.start, c.wait].every((v) => Number.isSafeInteger(v) && v >= 0);
  if (!ints || c.offset + c.length > d.size) throw new Error(`${where}: outside the buffer (${d.size} elements)`);
  if (c.start > c.wait || c.wait > m.kernels.length) {
    throw new Error(`${where}: starts before kernel ${c.start} and completes before ${c.wait} of ${m.kernels.length}`);
  }
  if (c.op !== 'sum' && c.op !== 'avg') throw new Error(`${where}: unknown op ${JSON.stringify(c.op)}`);
}
