// kiln.distributed: torch.distributed's default process group on MPI (runtime/distributed/mpi.ts), with
// PyTorch's names in camelCase and its error messages where it has them. Launch with mpirun:
//   mpirun -np 2 npx tsx train.ts        (each process: initProcessGroup({ backend: 'mpi' }), then collectives)
// Outside compile() the collectives are eager: they reduce or broadcast a concrete tensor's host value in
// place (a Parameter's or a Buffer's value, a `p.grad`'s gradient, a plain tensor's data). Inside compile()
// allReduce(t) (a sum) makes t's value an `allreduce` node: a collective of the compiled step, run between the
// kernel computing t and the first reading it; broadcast there throws.
import { DEFAULT_TIMEOUT_MS } from '../../runtime/distributed/mpi.js';
import { initProcessGroup as initRuntimeGroup, timeoutError } from '../../runtime/distributed/index.js';
import { openMpi } from '../../runtime/distributed/mpi-library.js';
import { NO_PROCESS_GROUP, processGroup, setProcessGroup, type ProcessGroup } from '../../runtime/distributed/group.js';
import { KilnError } from '../errors.js';
import { allReduced, newBucket } from './traced.js';
import { Buffer } from '../nn/buffer.js';
import { Parameter, hostGradCells } from '../nn/parameter.js';
import { checkOptions } from '../options.js';
import type { TensorCell } from '../state.js';
import { Tensor } from '../tensor.js';
import { currentTrace } from '../trace-context.js';

/** torch.distributed.ReduceOp's names for the reductions MPI's backend has here */
export const ReduceOp = Object.freeze({ SUM: 'sum', MAX: 'max', MIN: 'min' } as const);
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp];

export interface InitProcessGroupOptions {
  /** the one backend: 'mpi' (the default) */
  backend?: 'mpi';
  /** ms a collective may take before the job is aborted (torch's `timeout`); default 300000 */
  timeout?: number;
}

/** what `allReduce(t, { asyncOp: true })` returns: `wait()` completes it and writes the result into `t` */
export interface Work {
  wait(): boolean;
  isCompleted(): boolean;
}

const BACKENDS = ['mpi', 'gloo', 'nccl', 'ucc'];

function defaultGroup(): ProcessGroup {
  const g = processGroup();
  if (!g) throw new KilnError(NO_PROCESS_GROUP);
  return g;
}

/** torch.distributed.init_process_group: joins this process to the job mpirun started (world size 1 alone) */
export function initProcessGroup(opts: InitProcessGroupOptions = {}): void {
  checkOptions('initProcessGroup', opts, ['backend', 'timeout']);
  const backend = opts.backend ?? 'mpi';
  if (processGroup()) throw new KilnError('trying to initialize the default process group twice!');
  if (backend !== 'mpi') {
    if (BACKENDS.includes(String(backend).toLowerCase())) {
      throw new KilnError(`initProcessGroup: backend '${backend}' is not available in kiln: its backend is 'mpi'`);
    }
    throw new KilnError(`Invalid backend: '${backend}'`);
  }
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
  const bad = timeoutError(timeout);
  if (bad) throw new KilnError(bad);
  initRuntimeGroup({ timeout });
}

/** torch.distributed.destroy_process_group: ends the group (MPI is finalized; it cannot be started again) */
export function destroyProcessGroup(): void {
  const g = processGroup();
  if (!g) throw new KilnError('Invalid process group specified');
  setProcessGroup(undefined);
  g.destroy();
}

export function isInitialized(): boolean {
  return processGroup() !== undefined;
}
/** torch.distributed.is_available: kiln always has the package */
export function isAvailable(): boolean {
  return true;
}
/** torch.distributed.is_mpi_available: whether Open MPI's libmpi loads here */
export function isMpiAvailable(): boolean {
  try {
    openMpi();
    return true;
  } catch {
    return false;
  }
}
export function getBackend(): string {
  return defaultGroup().backend;
}
export function getRank(): number {
  return defaultGroup().rank;
}
export function getWorldSize(): number {
  return defaultGroup().size;
}
export function barrier(): void {
  defaultGroup().barrier();
}

/**
 * torch.distributed.all_reduce: every rank's `tensor` reduced elementwise (ReduceOp.SUM unless `op` says),
 * written into `tensor` on every rank. With `asyncOp` it returns a Work whose `wait()` writes the result.
 */
export function allReduce(tensor: Tensor, opts?: { op?: ReduceOp; asyncOp?: false }): void;
export function allReduce(tensor: Tensor, opts: { op?: ReduceOp; asyncOp: true }): Work;
export function allReduce(tensor: Tensor, opts: { op?: ReduceOp; asyncOp?: boolean } = {}): Work | void {
  checkOptions('allReduce', opts, ['op', 'asyncOp']);
  const op = opts.op ?? ReduceOp.SUM;
  if (!Object.values(ReduceOp).includes(op)) {
    throw new KilnError(
      `allReduce: op ${JSON.stringify(op)} is not a ReduceOp the mpi backend has here (ReduceOp.SUM, MAX, MIN)`,
    );
  }
  const g = defaultGroup();
  const trace = currentTrace();
  if (trace && tensor instanceof Tensor && !(tensor instanceof Parameter) && !(tensor instanceof Buffer)) {
    // inside compile(): a collective of the compiled step, between the kernel computing the value and its readers
    if (op !== ReduceOp.SUM || opts.asyncOp || tensor.dtype !== 'float32') {
      throw new KilnError('distributed.allReduce inside compile(): only ReduceOp.SUM of a float32 tensor, blocking');
    }
    tensor.replaceNode(allReduced(tensor, 'sum', newBucket(trace)).node);
    return;
  }
  const host = hostValue('allReduce', tensor);
  if (!opts.asyncOp) {
    g.allReduce(host.values, op);
    host.commit();
    return;
  }
  const pending = g.iallReduce(host.values, op);
  let written = false;
  const finish = () => {
    if (!written) {
      written = true;
      host.commit();
    }
    return true;
  };
  return {
    wait() {
      pending.wait();
      return finish();
    },
    isCompleted() {
      return written || ((pending.isCompleted?.() ?? true) && (pending.wait(), finish()));
    },
  };
}

/** torch.distributed.broadcast: rank `src`'s `tensor` copied into `tensor` on every other rank */
export function broadcast(tensor: Tensor, src: number): void {
  const g = defaultGroup();
  if (!Number.isInteger(src) || src < 0 || src >= g.size) {
    throw new KilnError(`broadcast: src ${src} is not a rank of the default process group (0 to ${g.size - 1})`);
  }
  const host = hostValue('broadcast', tensor);
  g.broadcast(host.values, src);
  host.commit();
}

interface HostValue {
  /** a private copy of the tensor's value, which the collective works on */
  values: Float32Array | Int32Array;
  /** writes `values` back as the tensor's value */
  commit(): void;
}

function hostValue(what: string, t: unknown): HostValue {
  if (!(t instanceof Tensor)) {
    throw new KilnError('Invalid function argument. Expected parameter `tensor` to be of type torch.Tensor.');
  }
  if (currentTrace()) {
    throw new KilnError(
      `distributed.${what} inside compile() is not supported: it works eagerly on concrete tensors and ` +
        'Parameters; call it outside the compiled function (the compiled step gets its own all-reduce)',
    );
  }
  const cell: TensorCell | undefined =
    t instanceof Parameter || t instanceof Buffer ? t.cell : hostGradCells.get(t as Tensor);
  const source = cell ? cell.read(`distributed.${what}`) : t.data;
  if (!(source instanceof Float32Array || source instanceof Int32Array)) {
    throw new KilnError(`distributed.${what}: a ${t.dtype} tensor: only float32 and int32 tensors are supported`);
  }
  const values = source.slice();
  return {
    values,
    commit() {
      if (cell) cell.writeInOrder(values);
      if (!(t instanceof Parameter || t instanceof Buffer)) t.replaceValue(values); // cell.write copied it
    },
  };
}
