// The MPI process group: Open MPI (./mpi-library.ts) behind the ProcessGroup contract (./group.ts).
//
// No collective can hang a process forever. Each one, blocking or not, is MPI's non-blocking call
// (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) completed by polling MPI_Test against a deadline, the group's
// `timeoutMs` after it was issued (torch.distributed's `timeout`, 5 minutes by default). A collective
// that misses it means a peer died, hung or never joined; MPI cannot cancel a collective, so the job is
// ended with MPI_Abort after saying which collective timed out. Errors come back as return codes
// (MPI_ERRORS_RETURN on MPI_COMM_WORLD) and become MpiErrors carrying MPI_Error_string's text.
//
// A process that exits while its group is live: with code 0 it finalizes MPI first (as PyTorch's MPI
// backend does at exit), so mpirun sees a clean end; otherwise it calls MPI_Abort, so no peer waits on a
// rank that is gone. mpirun already ends the job when a rank exits non-zero or without MPI_Finalize, but
// other launchers need not. Node runs 'exit' listeners before it prints an uncaught exception, and the
// abort ends the process there, so this module prints the exception itself first.
//
// MPI is called from the main thread only (MPI_THREAD_FUNNELED). Open MPI has no progress thread: a
// started collective advances only inside MPI calls (isCompleted, wait, any other collective).
import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import type { CollectiveArray, PendingCollective, ProcessGroup, ReduceOp } from './group.js';
import { MPI_IN_PLACE, MPI_THREAD_FUNNELED, openMpi, type Handle, type OpenMpi } from './mpi-library.js';
import { trueLength, typedArrayKind } from '../typed-array.js';

/** torch.distributed's default timeout: 30 minutes there; 5 here, for a job that runs on one machine */
export const DEFAULT_TIMEOUT_MS = 300_000;

export interface MpiGroupOptions {
  /** how long a collective may take from its call to its completion before the job is aborted (ms) */
  timeoutMs?: number;
}

/** an MPI call that returned an error code */
export class MpiError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'MpiError';
  }
}

/** an MPI count is a C int: a longer buffer goes in chunks of `maxCount` elements (a test lowers it) */
export const mpiLimits = { maxCount: 2 ** 30 };
const SPIN_MS = 20; // a wait polls MPI_Test back to back this long, then sleeps between polls
const NAP_MS = 0.5;
const nap = new Int32Array(new SharedArrayBuffer(4));
const bufferOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), 'buffer')!.get!;

let finalized = false; // MPI cannot be initialized again in a process that finalized it
let live: MpiProcessGroup | undefined;

/** initializes MPI (or adopts an MPI another library initialized) and returns the world's group */
export function initMpiGroup(opts: MpiGroupOptions = {}): MpiProcessGroup {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new RangeError(`the MPI process group's timeout must be a positive, finite number of ms, got ${timeoutMs}`);
  }
  if (live) throw new Error('an MPI process group is already live in this process');
  if (!isMainThread) {
    throw new Error('the MPI process group runs on the main thread only (MPI_THREAD_FUNNELED), not in a Worker');
  }
  const mpi = openMpi();
  const flag = new Int32Array(1);
  check(mpi, 'MPI_Finalized', mpi.Finalized(flag));
  if (finalized || flag[0]) {
    throw new Error('MPI was finalized in this process (destroyProcessGroup); MPI cannot be initialized again');
  }
  check(mpi, 'MPI_Initialized', mpi.Initialized(flag));
  const owns = !flag[0];
  if (owns) {
    // Open MPI's default non-blocking all-reduce for an in-place buffer on < 4 ranks is a binomial tree:
    // measured 2.5x the blocking MPI_Allreduce at 1e6 floats on 2 ranks; reduce-scatter + all-gather matches it
    process.env.OMPI_MCA_coll_libnbc_iallreduce_algorithm ??= '3';
    const provided = new Int32Array(1);
    check(mpi, 'MPI_Init_thread', mpi.Init_thread(null, null, MPI_THREAD_FUNNELED, provided));
    if (provided[0] < MPI_THREAD_FUNNELED) {
      throw new Error(`MPI_Init_thread: ${mpi.path} provides thread level ${provided[0]}, kiln needs FUNNELED (1)`);
    }
  }
  check(mpi, 'MPI_Comm_set_errhandler', mpi.Comm_set_errhandler(mpi.COMM_WORLD, mpi.ERRORS_RETURN));
  const out = new Int32Array(2);
  check(mpi, 'MPI_Comm_rank', mpi.Comm_rank(mpi.COMM_WORLD, out.subarray(0, 1)));
  check(mpi, 'MPI_Comm_size', mpi.Comm_size(mpi.COMM_WORLD, out.subarray(1, 2)));
  live = new MpiProcessGroup(mpi, out[0], out[1], timeoutMs, owns);
  process.on('uncaughtExceptionMonitor', onUncaught);
  process.on('exit', onExit);
  return live;
}

function check(mpi: OpenMpi, what: string, rc: number): void {
  if (rc !== 0) throw new MpiError(`${what}: ${mpi.errorString(rc)}`, rc);
}

/** a started collective: one MPI request per chunk of its buffer, completed in order */
class Work implements PendingCollective {
  done = false;
  private next = 0;
  constructor(
    private readonly group: MpiProcessGroup,
    readonly what: string,
    readonly deadline: number,
    /** one MPI_Request each (MPI_Test sets a completed one to MPI_REQUEST_NULL) */
    readonly requests: BigUint64Array[],
    /** the buffer MPI reads and writes until completion: held here so that it cannot be collected */
    readonly buf: CollectiveArray | undefined,
  ) {}

  /** one MPI_Test per outstanding request, in order; true once every one completed */
  poll(mpi: OpenMpi, flag: Int32Array): boolean {
    while (this.next < this.requests.length) {
      flag[0] = 0;
      const rc = mpi.Test(this.requests[this.next], flag, null);
      if (rc !== 0) {
        this.done = true;
        throw new MpiError(`${this.what}: ${mpi.errorString(rc)}`, rc);
      }
      if (!flag[0]) return false;
      this.next++;
    }
    return (this.done = true);
  }

  isCompleted(): boolean {
    return this.done || this.group.test(this);
  }
  wait(): void {
    if (!this.done) this.group.complete(this);
  }
}

export class MpiProcessGroup implements ProcessGroup {
  readonly backend = 'mpi';
  private active = true;
  private readonly pending = new Set<Work>();
  private readonly flag = new Int32Array(1);

  constructor(
    private readonly mpi: OpenMpi,
    readonly rank: number,
    readonly size: number,
    readonly timeoutMs: number,
    /** whether this group called MPI_Init (and so finalizes MPI when destroyed) */
    private readonly ownsInit: boolean,
  ) {}

  /** false once destroyed (or aborted) */
  get isLive(): boolean {
    return this.active;
  }
  /** the Open MPI library in use and its version line */
  get library(): { path: string; version: string } {
    return { path: this.mpi.path, version: this.mpi.version };
  }

  allReduce(buf: CollectiveArray, op: ReduceOp = 'sum'): void {
    this.iallReduce(buf, op).wait();
  }

  iallReduce(buf: CollectiveArray, op: ReduceOp = 'sum'): PendingCollective {
    const type = this.typeOf('allReduce', buf);
    if (!Object.hasOwn(this.mpi.ops, op)) {
      throw new TypeError(`allReduce: op ${JSON.stringify(op)} is not one of 'sum', 'max', 'min'`);
    }
    const mpiOp = this.mpi.ops[op];
    const n = trueLength(buf);
    return this.start(`allReduce(${op} of ${n} ${typeName(buf)})`, buf, n, (part, count, req) =>
      this.mpi.Iallreduce(MPI_IN_PLACE, part, count, type, mpiOp, this.mpi.COMM_WORLD, req),
    );
  }

  broadcast(buf: CollectiveArray, root: number): void {
    const type = this.typeOf('broadcast', buf);
    if (!Number.isInteger(root)) throw new TypeError(`broadcast: src must be an integer rank, got ${root}`);
    const n = trueLength(buf);
    this.start(`broadcast(${n} ${typeName(buf)} from rank ${root})`, buf, n, (part, count, req) =>
      this.mpi.Ibcast(part, count, type, root, this.mpi.COMM_WORLD, req),
    ).wait();
  }

  barrier(): void {
    this.start('barrier()', undefined, 0, (_part, _count, req) => this.mpi.Ibarrier(this.mpi.COMM_WORLD, req)).wait();
  }

  /** completes what is in flight, then finalizes MPI (when this group initialized it); idempotent */
  destroy(): void {
    if (!this.active) return;
    for (const w of [...this.pending]) w.wait();
    this.active = false;
    if (live === this) live = undefined;
    process.off('uncaughtExceptionMonitor', onUncaught);
    process.off('exit', onExit);
    if (this.ownsInit) {
      finalized = true;
      check(this.mpi, 'MPI_Finalize', this.mpi.Finalize());
    }
  }

  /** says why on stderr, then ends every process of the job (MPI_Abort); does not return */
  abort(code: number, why: string): never {
    writeSync(2, `kiln.distributed: rank ${this.rank} of ${this.size}: ${why}\n`);
    this.active = false;
    if (live === this) live = undefined;
    this.mpi.Abort(this.mpi.COMM_WORLD, code);
    process.exit(code); // MPI_Abort does not return; should a launcher let it, this process still ends
  }

  /** @internal Work.isCompleted */
  test(w: Work): boolean {
    const done = w.poll(this.mpi, this.flag);
    if (w.done) this.pending.delete(w);
    return done;
  }

  /** @internal Work.wait: polls until the work completes, and aborts the job at its deadline */
  complete(w: Work): void {
    const start = performance.now();
    try {
      while (!w.poll(this.mpi, this.flag)) {
        const now = performance.now();
        if (now >= w.deadline) {
          this.abort(
            1,
            `${w.what} did not complete within its timeout of ${this.timeoutMs} ms: a peer died, hung, ` +
              'or never called it; a collective cannot be cancelled, so the job is aborted (MPI_Abort)',
          );
        }
        if (now - start > SPIN_MS) Atomics.wait(nap, 0, 0, NAP_MS);
      }
    } finally {
      if (w.done) this.pending.delete(w);
    }
  }

  private start(
    what: string,
    buf: CollectiveArray | undefined,
    n: number,
    issue: (part: CollectiveArray | undefined, count: number, req: BigUint64Array) => number,
  ): Work {
    this.assertLive(what);
    if (buf) bufferOf.call(buf); // an array small enough to live in V8's heap moves off it now: MPI keeps its address
    const chunk = mpiLimits.maxCount;
    const chunks = Math.max(1, Math.ceil(n / chunk));
    const requests = Array.from({ length: chunks }, () => new BigUint64Array(1));
    const w = new Work(this, what, performance.now() + this.timeoutMs, requests, buf);
    for (let c = 0; c < chunks; c++) {
      const at = c * chunk,
        count = Math.min(chunk, n - at);
      const rc = issue(chunks === 1 ? buf : buf!.subarray(at, at + count), count, requests[c]);
      if (rc !== 0) {
        if (c > 0) this.pending.add(w); // the chunks already started still own the buffer
        throw new MpiError(`${what}: ${this.mpi.errorString(rc)}`, rc);
      }
    }
    this.pending.add(w);
    return w;
  }

  private typeOf(what: string, buf: CollectiveArray): Handle {
    const kind = typedArrayKind(buf);
    if (kind === 'Float32Array') return this.mpi.types.float32;
    if (kind === 'Int32Array') return this.mpi.types.int32;
    throw new TypeError(`${what}: expected a Float32Array or an Int32Array, got ${kind ?? typeof buf}`);
  }

  private assertLive(what: string): void {
    if (!this.active) throw new Error(`${what}: the MPI process group was destroyed`);
  }
}

const typeName = (buf: CollectiveArray) => (typedArrayKind(buf) === 'Int32Array' ? 'int32' : 'float32');

let uncaught = false;
function onUncaught(err: unknown, origin: string): void {
  if (!live || (origin === 'uncaughtException' && process.listenerCount('uncaughtException') > 0)) return;
  uncaught = true;
  writeSync(2, `${inspect(err)}\n`); // what Node would print after the 'exit' listeners, which end this process
}

function onExit(code: number): void {
  const g = live;
  if (!g) return;
  if (code === 0 && !uncaught) {
    try {
      g.destroy();
      return;
    } catch (e) {
      g.abort(1, `ending the MPI process group at exit failed (${(e as Error).message}): aborting the job`);
    }
  }
  g.abort(
    code || 1,
    `${uncaught ? 'an uncaught exception ends this process' : `this process exits with code ${code}`} while its ` +
      'MPI process group is live: aborting the job so that no other rank waits for this one (MPI_Abort)',
  );
}
