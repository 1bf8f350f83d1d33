// The process group as a package built by `kiln build` (or any program without the compiler) starts it:
// a bundle whose step holds DistributedDataParallel's all-reduce runs it on this group, a world of one
// until initProcessGroup is called under mpirun. The compiler's `distributed` (torch.distributed's API, with
// eager collectives on tensors) is built on the same group.
import { DEFAULT_TIMEOUT_MS, initMpiGroup } from './mpi.js';
import { NO_PROCESS_GROUP, processGroup, setProcessGroup, type ProcessGroup } from './group.js';

export { processGroup, type ProcessGroup } from './group.js';

export interface RuntimeGroupOptions {
  /** ms a collective may take before the job is aborted; default 300000 */
  timeout?: number;
}

/** joins this process to the job mpirun started (alone: a world of one); every loaded program's collectives use it */
export function initProcessGroup(opts: RuntimeGroupOptions = {}): ProcessGroup {
  if (processGroup()) throw new Error('trying to initialize the default process group twice!');
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
  const bad = timeoutError(timeout);
  if (bad) throw new Error(bad);
  const g = initMpiGroup({ timeoutMs: timeout });
  setProcessGroup(g);
  return g;
}

/** why `timeout` is no collective timeout (undefined: it is one) */
export function timeoutError(timeout: unknown): string | undefined {
  if (typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout)) return undefined;
  return `initProcessGroup: timeout must be a positive, finite number of milliseconds, got ${timeout}`;
}

const group = (): ProcessGroup => {
  const g = processGroup();
  if (!g) throw new Error(NO_PROCESS_GROUP);
  return g;
};
export const getRank = (): number => group().rank;
export const getWorldSize = (): number => group().size;
export const barrier = (): void => group().barrier();
export const isInitialized = (): boolean => processGroup() !== undefined;

/** ends the group (MPI_Finalize: it cannot be started again in this process) */
export function destroyProcessGroup(): void {
  const g = group();
  setProcessGroup(undefined);
  g.destroy();
}
