// Collectives of a WebGPU program (runtime/manifest.ts Collective): the values are read back, reduced
// on the host over the process group, and written back, one copy each way. At a collective's start
// the commands so far are submitted with a copy of its range into a mappable buffer; the kernels
// up to its wait are encoded and submitted meanwhile (they neither read nor write the range), so
// the device runs them while the host waits for the map and the group; at its wait the reduced
// values are written back (queue order puts them before every later dispatch).
import type { Collective, Manifest } from '../manifest.js';
import { CollectiveSchedule } from '../distributed/collectives.js';
import { allReduceInPlace, collectiveGroup } from '../distributed/group.js';
import { MAP_READ, USAGE } from './gpu.js';

export class WebGPUCollectives {
  /** where the schedule starts and completes each collective (checked against its buffer) */
  private readonly schedule: CollectiveSchedule;
  private readonly points: Set<number>;
  private readonly readback = new Map<Collective, GPUBuffer>();

  constructor(
    private readonly gpu: GPUDevice,
    m: Manifest,
    private readonly bufferOf: (buf: number) => GPUBuffer,
  ) {
    this.schedule = new CollectiveSchedule(m);
    // no progress points: the host waits for nothing between a start and its wait (the device runs the kernels)
    this.points = new Set((m.collectives ?? []).flatMap((c) => [c.start, c.wait]));
    for (const c of m.collectives ?? []) {
      const size = Math.max(4, c.length * 4);
      this.readback.set(
        c,
        gpu.createBuffer({ label: 'kiln collective', size, usage: USAGE.MAP_READ | USAGE.COPY_DST }),
      );
    }
  }

  has(i: number): boolean {
    return this.points.has(i);
  }

  /** what happens before kernel `i`, given the commands encoded so far; returns the encoder to go on with */
  async at(i: number, enc: GPUCommandEncoder): Promise<GPUCommandEncoder> {
    for (const c of this.schedule.startsAt[i]) {
      if (c.length) enc.copyBufferToBuffer(this.bufferOf(c.buf), c.offset * 4, this.readback.get(c)!, 0, c.length * 4);
    }
    this.gpu.queue.submit([enc.finish()]);
    for (const c of this.schedule.waitsAt[i]) {
      if (!c.length) continue;
      const rb = this.readback.get(c)!;
      await rb.mapAsync(MAP_READ);
      const v = new Float32Array(rb.getMappedRange().slice(0));
      rb.unmap();
      allReduceInPlace(collectiveGroup(), v, c.op);
      this.gpu.queue.writeBuffer(this.bufferOf(c.buf), c.offset * 4, v);
    }
    return this.gpu.createCommandEncoder({ label: 'kiln run' });
  }
}
