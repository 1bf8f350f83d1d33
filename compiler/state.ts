// Persistent state: parameters, gradients and optimizer state (tensor cells) and step counters
// (host cells). A cell's host copy is authoritative until a compiled program on some device
// updates it; then that device owns the latest value until `sync()` brings it back.
//
// Every compiled run and host-side state change goes through one process-wide queue in call
// order (cells are shared by every target). A host read (`p.data`, `stateDict()`, an eager
// forward) is current or throws: it pulls a device's value synchronously where the device can
// (native memory), and otherwise asks for `await step.sync()`.
import type { DType } from './ir/graph.js';
import { numel } from './ir/graph.js';
import { OrderedQueue } from '../runtime/order.js';
import { KilnError } from './errors.js';

export type CellData = Float32Array | Int32Array;

/** A device-side holder of cell values (one per compiled target instance). */
export interface CellStore {
  readonly name?: string;
  /** copies the device's value of `cell` back into `cell.data` */
  pull(cell: TensorCell): Promise<void>;
  /** the same without waiting, where the device allows it; false when it cannot */
  pullSync?(cell: TensorCell): boolean;
}

/** runs and host-side state changes, in call order */
export const stateQueue = new OrderedQueue();

/** throws unless host state is settled: no run issued without `await` is still pending */
export function assertHostCurrent(what: string): void {
  if (!stateQueue.idle) {
    throw new KilnError(
      `${what}: runs are still in flight (issued without await); ` +
        'await them or `await step.sync()` before reading state on the host',
    );
  }
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
  get owner(): CellStore | null {
    return this._owner;
  }
  set owner(o: CellStore | null) {
    if (o !== this._owner) {
      this._owner = o;
      cellEpoch.value++;
    }
  }
  private _defined: boolean;
  /** false while the cell stands for PyTorch's `None` (a cleared gradient) */
  get defined(): boolean {
    return this._defined;
  }
  set defined(d: boolean) {
    this._defined = d;
  }

  constructor(
    public name: string,
    readonly shape: number[],
    readonly dtype: DType,
    public data: CellData,
    defined = true,
  ) {
    if (data.length !== numel(shape)) throw new Error(`cell ${name}: ${data.length} values for shape [${shape}]`);
    this._defined = defined;
  }

  static zeros(name: string, shape: number[], dtype: DType = 'float32', defined = true): TensorCell {
    const n = numel(shape);
    return new TensorCell(name, shape, dtype, dtype === 'float32' ? new Float32Array(n) : new Int32Array(n), defined);
  }

  /** host write: the host copy becomes the latest */
  write(values: ArrayLike<number>): void {
    this.checkLength(values);
    this.data.set(values);
    this.owner = null;
    this.version++;
    cellEpoch.value++;
  }

  private checkLength(values: ArrayLike<number>): void {
    if (values.length !== this.data.length) {
      const want = `${this.data.length} values for shape [${this.shape}]`;
      throw new RangeError(`${this.name}: expected ${want}, got ${values.length}`);
    }
  }

  /** a user's host write, in call order: after every run issued before it (`values` copied if it waits) */
  writeInOrder(values: ArrayLike<number>): void {
    this.checkLength(values); // now, so a bad write throws at its call and changes nothing
    const copy = stateQueue.idle ? values : Float32Array.from(values);
    stateQueue.apply(() => this.write(copy));
  }

  /**
   * The latest value for a host read (`what` names the reader in errors): pulled now when its
   * device can do that synchronously; otherwise an error saying to `await step.sync()` first.
   */
  read(what: string = this.name): CellData {
    assertHostCurrent(what);
    const o = this.owner;
    if (o && !o.pullSync?.(this)) {
      throw new KilnError(
        `${what}: the latest value is on the '${o.name ?? 'device'}' target, ` +
          'which cannot be read synchronously; `await step.sync()` first',
      );
    }
    return this.data;
  }

  /** brings the latest value to the host, after every run issued before this call */
  pull(): Promise<CellData> {
    return stateQueue.enqueue(async () => {
      if (this.owner) await this.owner.pull(this);
      return this.data;
    });
  }
}

/**
 * An empty cell whose definedness is a live condition (`optimizer.paramGroups[0].amsgrad`, say).
 * A trace that reads it records the condition as an assumption like any cell's definedness, so
 * compile() re-traces when it changes; no program sets it.
 */
export class GuardCell extends TensorCell {
  constructor(
    name: string,
    private readonly holds: () => boolean,
  ) {
    super(name, [0], 'float32', new Float32Array(0), holds());
  }
  override get defined(): boolean {
    return this.holds();
  }
  override set defined(_: boolean) {
    /* the condition's source owns it */
  }
}

/**
 * A boolean kept as an empty cell's definedness (a module's `training` flag). A trace that reads it
 * records a guard like any cell's definedness, so compile() re-traces when it flips and keeps the
 * variant traced before; a trace that sets it (`model.eval()` inside the step) assumes nothing and
 * makes every run set it, as the call would. It holds no program data: a trace makes no update for it.
 */
export class FlagCell extends TensorCell {
  constructor(name: string, value: boolean) {
    super(name, [0], 'float32', new Float32Array(0), value);
  }
}

/** A float64 host value that persists across steps (a step counter). */
export class HostCell {
  readonly id = nextCellId++;
  constructor(
    public name: string,
    private current: number,
  ) {}
  /** what the next run starts from; compile() writes back what a run set */
  get value(): number {
    return this.current;
  }
  set value(v: number) {
    this.current = v;
  }
}

/**
 * A host value read from its source at every run (a live hyperparameter: compile() reads `value`
 * as it reads any host cell's, so changing `lr` between runs never re-traces). Programs only read
 * it; a write is ignored.
 */
export class LiveHostCell extends HostCell {
  constructor(
    name: string,
    private readonly read: () => number,
  ) {
    super(name, read());
  }
  override get value(): number {
    return this.read();
  }
  override set value(_: number) {
    /* the source owns it */
  }
}
