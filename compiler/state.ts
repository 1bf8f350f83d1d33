// Persistent state: parameters, gradients and optimizer state (tensor cells) and step counters
// (host cells). A cell's host copy is authoritative until a compiled program on some device
// updates it; then that device owns the latest value until `sync()` brings it back.
import type { DType } from './ir/graph.js';
import { numel } from './ir/graph.js';

export type CellData = Float32Array | Int32Array;

/** A device-side holder of cell values (one per compiled target instance). */
export interface CellStore {
  /** copies the device's value of `cell` back into `cell.data` */
  pull(cell: TensorCell): Promise<void>;
}

let nextCellId = 1;

/**
 * Bumped whenever any cell's host copy is written or its owner changes. A device program that saw
 * no bump since its last run can skip its per-cell upload/ownership checks (the per-step fast path).
 */
export const cellEpoch = { value: 0 };

export class TensorCell {
  readonly id = nextCellId++;
  /** bumped on every host-side write; a device re-uploads a cell whose version it has not seen */
  version = 0;
  private _owner: CellStore | null = null;
  /** the device holding a newer value than `data`, if any (a change bumps `cellEpoch`) */
  get owner(): CellStore | null { return this._owner; }
  set owner(o: CellStore | null) {
    if (o !== this._owner) { this._owner = o; cellEpoch.value++; }
  }
  private _defined: boolean;
  /** false while the cell stands for PyTorch's `None` (a cleared gradient) */
  get defined(): boolean { return this._defined; }
  set defined(d: boolean) { this._defined = d; }

  constructor(public name: string, readonly shape: number[], readonly dtype: DType, public data: CellData, defined = true) {
    if (data.length !== numel(shape)) throw new Error(`cell ${name}: ${data.length} values for shape [${shape}]`);
    this._defined = defined;
  }

  static zeros(name: string, shape: number[], dtype: DType = 'float32', defined = true): TensorCell {
    const n = numel(shape);
    return new TensorCell(name, shape, dtype, dtype === 'float32' ? new Float32Array(n) : new Int32Array(n), defined);
  }

  /** host write: the host copy becomes the latest */
  write(values: ArrayLike<number>): void {
    if (values.length !== this.data.length) {
      throw new RangeError(`${this.name}: expected ${this.data.length} values for shape [${this.shape}], got ${values.length}`);
    }
    this.data.set(values);
    this.owner = null;
    this.version++;
    cellEpoch.value++;
  }

  /** brings the latest value to the host */
  async pull(): Promise<CellData> {
    if (this.owner) await this.owner.pull(this);
    return this.data;
  }
}

/**
 * An empty cell whose definedness is a live condition (`optimizer.paramGroups[0].amsgrad`, say).
 * A trace that reads it records the condition as an assumption like any cell's definedness, so
 * compile() re-traces when it changes; no program sets it.
 */
export class GuardCell extends TensorCell {
  constructor(name: string, private readonly holds: () => boolean) {
    super(name, [0], 'float32', new Float32Array(0), holds());
  }
  override get defined(): boolean { return this.holds(); }
  override set defined(_: boolean) { /* the condition's source owns it */ }
}

/** A float64 host value that persists across steps (a step counter). */
export class HostCell {
  readonly id = nextCellId++;
  constructor(public name: string, private current: number) {}
  /** what the next run starts from; compile() writes back what a run set */
  get value(): number { return this.current; }
  set value(v: number) { this.current = v; }
}

/**
 * A host value read from its source at every run (a live hyperparameter: compile() reads `value`
 * as it reads any host cell's, so changing `lr` between runs never re-traces). Programs only read
 * it; a write is ignored.
 */
export class LiveHostCell extends HostCell {
  constructor(name: string, private readonly read: () => number) { super(name, read()); }
  override get value(): number { return this.read(); }
  override set value(_: number) { /* the source owns it */ }
}
