// A Backend over a runtime Device (native library host, WebGPU device). The device's state arenas
// hold every cell once, at offsets a StateLayout assigns for the device's lifetime, so every
// program prepared here shares parameters and optimizer state. Cells move between host and
// device only when the other side wrote them since (versions), never per step otherwise.
import type { Artifact, Device, HostArray } from '../runtime/device.js';
import type { Backend, PreparedProgram, ProgramStats } from './backend.js';
import type { KernelProgram } from './ir/kernel.js';
import type { TensorCell } from './state.js';
import type { TracedProgram } from './trace.js';

export interface DeviceTarget {
  name: string;
  device: Device;
  /** graph -> kernels (passes, scheduler, memory plan), with this device's persistent layout */
  lower(program: TracedProgram): KernelProgram;
  /** kernels -> target code, loadable by `device` */
  build(program: KernelProgram): Promise<Artifact>;
  stats(program: KernelProgram): ProgramStats;
}

interface Slot { dtype: 'f32' | 'i32'; offset: number; length: number }

export class DeviceBackend implements Backend {
  readonly name: string;
  /** the host version each cell had when last copied to (or from) the device */
  private readonly seen = new Map<TensorCell, number>();
  private readonly slots = new Map<TensorCell, Slot>();

  constructor(private readonly target: DeviceTarget) { this.name = target.name; }

  async prepare(traced: TracedProgram): Promise<PreparedProgram> {
    const kp = this.target.lower(traced);
    const artifact = await this.target.build(kp);
    const exe = await this.target.device.load(artifact);
    const cells: { cell: TensorCell; slot: Slot; updated: boolean }[] = [];
    const updated = new Set(traced.graph.updates.map((u) => u.cell));
    for (const p of kp.cells) {
      const cell = traced.cells.get(p.cell);
      if (!cell) continue;
      const dtype = kp.buffers[p.buf].dtype;
      const slot = { dtype, offset: p.offset, length: cell.data.length };
      this.slots.set(cell, slot);
      cells.push({ cell, slot, updated: updated.has(p.cell) });
    }
    for (const b of kp.buffers) if (b.kind === 'state') this.target.device.ensureState(b.dtype, b.size);
    const stats = this.target.stats(kp);
    return {
      run: async (inputs: HostArray[], scalars: Float32Array) => {
        for (const { cell, slot } of cells) {
          if (cell.owner && cell.owner !== this) await cell.owner.pull(cell);
          if (cell.owner !== this && this.seen.get(cell) !== cell.version) {
            this.target.device.writeState(slot.dtype, slot.offset, cell.data as HostArray);
            this.seen.set(cell, cell.version);
          }
        }
        const outs = await exe.run(inputs, scalars);
        for (const { cell, updated: u } of cells) if (u) cell.owner = this;
        return outs;
      },
      stats: () => stats,
    };
  }

  async pull(cell: TensorCell): Promise<void> {
    const slot = this.slots.get(cell);
    if (!slot || cell.owner !== this) return;
    const data = await this.target.device.readState(slot.dtype, slot.offset, slot.length);
    cell.data.set(data);
    cell.owner = null;
    this.seen.set(cell, cell.version);
  }

  async syncAll(): Promise<void> {
    for (const cell of this.slots.keys()) if (cell.owner === this) await this.pull(cell);
  }
}
