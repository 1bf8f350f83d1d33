// The process group a compiled step's collectives run on: this process's rank among `size`, and the
// three collectives kiln's kernels and API need. One group per process (torch.distributed's default
// group): distributed.initProcessGroup sets it; a program with collectives run outside one
// behaves as a world of one (every all-reduce is the identity), so a DDP script also runs alone.
// The MPI group (./mpi.ts) is the one engine; this module depends on nothing.

export type CollectiveArray = Float32Array | Int32Array;
export type ReduceOp = 'sum' | 'max' | 'min';

/** a started non-blocking collective: `wait()` completes it (and throws what it failed with) */
export interface PendingCollective {
  wait(): void;
  /** whether it has completed, without blocking (a test also lets MPI move it along); `wait()` is still due */
  isCompleted?(): boolean;
}

export interface ProcessGroup {
  readonly backend: string;
  readonly rank: number;
  readonly size: number;
  /** every rank's `buf` reduced elementwise, in place on every rank; blocks until done */
  allReduce(buf: CollectiveArray, op?: ReduceOp): void;
  /** the same, started: compute may run until `wait()` */
  iallReduce(buf: CollectiveArray, op?: ReduceOp): PendingCollective;
  /** rank `root`'s `buf` copied into every other rank's, in place */
  broadcast(buf: CollectiveArray, root: number): void;
  barrier(): void;
  /** ends the group (MPI_Finalize); the group cannot be used after */
  destroy(): void;
}

/** a world of one: what a program with collectives runs on when no group was initialized */
export const SOLO_GROUP: ProcessGroup = Object.freeze({
  backend: 'solo',
  rank: 0,
  size: 1,
  allReduce() {},
  iallReduce: () => ({ wait() {}, isCompleted: () => true }),
  broadcast(_buf: CollectiveArray, root: number) {
    if (root !== 0) throw new RangeError(`broadcast: src ${root} is not a rank of a group of size 1`);
  },
  barrier() {},
  destroy() {},
});

/** PyTorch's error for a collective or DistributedDataParallel before init_process_group */
export const NO_PROCESS_GROUP =
  'Default process group has not been initialized, please make sure to call init_process_group.';

let current: ProcessGroup | undefined;

/** the initialized group, if any */
export function processGroup(): ProcessGroup | undefined {
  return current;
}
/** the group collectives run on: the initialized one, else a world of one */
export function collectiveGroup(): ProcessGroup {
  return current ?? SOLO_GROUP;
}
export function setProcessGroup(g: ProcessGroup | undefined): void {
  current = g;
}

/** a collective op as a compiled program names it: `avg` is the sum divided by the group's size */
export type ProgramReduceOp = 'sum' | 'avg';

/** `buf` all-reduced in place on `group` (float32 division for `avg`, as PyTorch's DDP divides) */
export function allReduceInPlace(group: ProcessGroup, buf: Float32Array, op: ProgramReduceOp): void {
  group.allReduce(buf, 'sum');
  if (op === 'avg') divideInPlace(buf, group.size);
}

/** the `avg` half of a collective that completed as a sum (a program's collectives are float32) */
export function divideInPlace(buf: Float32Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < buf.length; i++) buf[i] = buf[i] / size;
}
