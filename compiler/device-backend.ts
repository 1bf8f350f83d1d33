// A Backend over a runtime Device (native library host, WebGPU device). The device's state arenas
// hold every cell once, at offsets a StateLayout assigns for the device's lifetime, so every
// program prepared here shares parameters and optimizer state. Cells move between host and
// device only when the other side wrote them since (versions), never per step otherwise.
//
// Per-step fast path: a program remembers the global `cellEpoch` at the end of its last run. If no
// cell was written on the host and no cell changed owner since, every cell it reads is already on
// the device and every cell it updates is already owned here, so the per-cell loops are skipped.
// When the device's executable runs synchronously (native), so does the whole step (`runSync`).
import type { Artifact, Device, Executable, HostArray } from '../runtime/device.js';
import { pullToHostSync, type Backend, type PreparedProgram, type ProgramStats } from './backend.js';
import type { KernelProgram } from './ir/kernel.js';
import { cellEpoch, type TensorCell } from './state.js';
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

/** an executable that can also run without a promise (the native runtime's) */
type SyncExecutable = Required<Pick<Executable, 'runSync'>> & Executable;

/** A prepared program that may run a step synchronously. */
export interface SyncPreparedProgram extends PreparedProgram {
  /**
   * Runs the step now if it can without waiting (no cell has to be pulled from another store and
   * the executable is synchronous); returns undefined, having changed nothing, otherwise.
   */
  runSync?(inputs: HostArray[], scalars: Float32Array): HostArray[] | undefined;
}

interface Slot {
  dtype: 'f32' | 'i32';
  offset: number;
  length: number;
}

export class DeviceBackend implements Backend {
  readonly name: string;
  /** the host version each cell had when last copied to (or from) the device */
  private readonly seen = new Map<TensorCell, number>();
  private readonly slots = new Map<TensorCell, Slot>();

  constructor(private readonly target: DeviceTarget) {
    this.name = target.name;
  }

  async prepare(traced: TracedProgram): Promise<SyncPreparedProgram> {
    const kp = this.target.lower(traced);
    const artifact = await this.target.build(kp);
    const exe = await this.target.device.load(artifact);
    const cells: { cell: TensorCell; slot: Slot }[] = [];
    const updatedCells: TensorCell[] = [];
    const updated = new Set(traced.graph.updates.map((u) => u.cell));
    for (const p of kp.cells) {
      const cell = traced.cells.get(p.cell);
      if (!cell) continue;
      const dtype = kp.buffers[p.buf].dtype;
      const slot = { dtype, offset: p.offset, length: cell.data.length };
      this.slots.set(cell, slot);
      cells.push({ cell, slot });
      if (updated.has(p.cell)) updatedCells.push(cell);
    }
    for (const b of kp.buffers) if (b.kind === 'state') this.target.device.ensureState(b.dtype, b.size);
    const stats = this.target.stats(kp);
    const device = this.target.device;
    /** cellEpoch at the end of this program's last run (-1: never ran) */
    let lastEpoch = -1;
    const upload = (): void => {
      for (const { cell, slot } of cells) {
        if (cell.owner !== this && this.seen.get(cell) !== cell.version) {
          device.writeState(slot.dtype, slot.offset, cell.data as HostArray);
          this.seen.set(cell, cell.version);
        }
      }
    };
    /** after a run: updated cells are owned here; `before` is the epoch the run started from */
    const own = (before: number): void => {
      // a host write while an asynchronous run was in flight must not be mistaken for seen
      const clean = cellEpoch.value === before;
      for (const cell of updatedCells) cell.owner = this;
      lastEpoch = clean ? cellEpoch.value : -1;
    };
    const cellList = cells.map((c) => c.cell);
    const sync = typeof exe.runSync === 'function' ? (exe as SyncExecutable) : undefined;
    const runSync = (inputs: HostArray[], scalars: Float32Array): HostArray[] | undefined => {
      if (!sync) return undefined;
      if (lastEpoch === cellEpoch.value) return sync.runSync(inputs, scalars);
      if (!pullToHostSync(cellList, this)) return undefined;
      upload();
      const outs = sync.runSync(inputs, scalars);
      own(cellEpoch.value);
      return outs;
    };
    return {
      runSync,
      run: async (inputs: HostArray[], scalars: Float32Array, inputsOwned?: boolean) => {
        const outs = runSync(inputs, scalars);
        if (outs) return outs;
        if (lastEpoch === cellEpoch.value) return exe.run(inputs, scalars, inputsOwned); // nothing moved since
        for (const { cell } of cells) if (cell.owner && cell.owner !== this) await cell.owner.pull(cell);
        upload();
        const before = cellEpoch.value;
        const res = await exe.run(inputs, scalars, inputsOwned);
        own(before);
        return res;
      },
      stats: () => stats,
    };
  }

  async pull(cell: TensorCell): Promise<void> {
    const slot = this.slots.get(cell);
    if (slot && cell.owner === this) await this.readBack(slot.dtype, [[cell, slot]]);
  }

  pullSync(cell: TensorCell): boolean {
    const slot = this.slots.get(cell),
      device = this.target.device;
    if (!slot || cell.owner !== this) return true;
    if (!device.readStateSync) return false;
    this.pulled(cell, device.readStateSync(slot.dtype, slot.offset, slot.length));
    return true;
  }

  /**
   * The host copy now holds the device's value (`data`, or already written into it): a new version, so every
   * other store that had uploaded an older value uploads this one before its next run (this one already has it).
   */
  private pulled(cell: TensorCell, data?: HostArray): void {
    if (data) cell.data.set(data);
    cell.owner = null;
    cell.version++;
    this.seen.set(cell, cell.version);
  }

  /** every cell this backend owns back to the host: one read of each arena where the device can (readStateInto) */
  async syncAll(): Promise<void> {
    const owned = [...this.slots].filter(([cell]) => cell.owner === this);
    for (const dtype of ['f32', 'i32'] as const) {
      const mine = owned.filter(([, slot]) => slot.dtype === dtype);
      if (mine.length) await this.readBack(dtype, mine);
    }
  }

  /** cells of one arena read back into their own host arrays: one copy each, in one read where the device can */
  private async readBack(dtype: Slot['dtype'], cells: [TensorCell, Slot][]): Promise<void> {
    const device = this.target.device;
    if (!device.readStateInto) {
      for (const [cell, s] of cells) this.pulled(cell, await device.readState(dtype, s.offset, s.length));
      return;
    }
    await device.readStateInto(
      dtype,
      cells.map(([cell, s]) => ({ offset: s.offset, into: cell.data as HostArray })),
    );
    for (const [cell] of cells) this.pulled(cell);
  }
}
