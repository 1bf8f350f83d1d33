// How `compile` talks to a target. A Backend is one live instance of a target (one WebGPU device,
// one native arena); the cells of every program prepared on it live there once, so several
// compiled functions over the same model and optimizer see each other's updates.
import type { HostArray } from '../runtime/device.js';
import type { CellStore, TensorCell } from './state.js';
import type { TracedProgram } from './trace.js';
import type { CollectiveStat } from './kernel/stats.js';

export interface ProgramStats {
  kernels: number;
  launchesPerRun: number;
  bytesPerRun: number;
  minBytesPerRun?: number;
  peakBytes?: number;
  perKernel: { name: string; ops: string[]; flops: number; bytesRead: number; bytesWritten: number; reason?: string }[];
  /** the step's all-reduces (DistributedDataParallel): compiler/kernel/stats.ts CollectiveStat */
  collectives?: CollectiveStat[];
  allReducedBytesPerRun?: number;
}

export interface PreparedProgram {
  /**
   * Runs one step. `inputs` are already checked; `scalars` are the host program's results.
   * Reads every cell's latest value (pulling it from another store if needed) and leaves the
   * updated cells owned by this backend (or written to the host).
   */
  /** `inputsOwned`: as Executable.run's (runtime/device.ts) */
  run(inputs: HostArray[], scalars: Float32Array, inputsOwned?: boolean): Promise<HostArray[]>;
  stats(): ProgramStats;
}

export interface Backend extends CellStore {
  readonly name: string;
  prepare(program: TracedProgram): Promise<PreparedProgram>;
  /** brings every cell this backend owns back to the host */
  syncAll(): Promise<void>;
}

export type BackendFactory = () => Promise<Backend>;

const factories = new Map<string, BackendFactory>();
const live = new Map<string, Promise<Backend>>();

export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

export function availableTargets(): string[] {
  return [...factories.keys()];
}

/** the process-wide instance of a target (created on first use) */
export function getBackend(name: string): Promise<Backend> {
  let b = live.get(name);
  if (!b) {
    const f = factories.get(name);
    if (!f) throw new Error(`unknown target '${name}' (available: ${[...factories.keys()].join(', ')})`);
    b = f();
    live.set(name, b);
    b.catch(() => live.delete(name));
  }
  return b;
}

/** makes sure the host copy of each cell is the latest (pulling from whichever store owns it) */
export async function pullToHost(cells: Iterable<TensorCell>, except?: CellStore): Promise<void> {
  for (const c of cells) if (c.owner && c.owner !== except) await c.owner.pull(c);
}

/** pullToHost without waiting: false (some cells possibly pulled) when a store cannot do it now */
export function pullToHostSync(cells: Iterable<TensorCell>, except?: CellStore): boolean {
  for (const c of cells) if (c.owner && c.owner !== except && !c.owner.pullSync?.(c)) return false;
  return true;
}
