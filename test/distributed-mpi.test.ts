// kiln.distributed on Open MPI: real 2-rank jobs under mpirun (shared memory, in a network namespace of their
// own: helpers/mpirun.ts), one rank script (helpers/distributed-rank.ts) per job. Also: a job ends, never
// hangs, when a rank throws or never joins a collective; DistributedDataParallel's compiled step runs on the
// real group; a lone process is a world of one (MPI singleton); a missing or foreign libmpi is refused with
// what to install.
import { describe, expect, it } from 'vitest';
import { distributed as dist } from 'kiln';
import { alone, mpirun, records, type MpiJob } from './helpers/mpirun.js';

const RANK = 'test/helpers/distributed-rank.ts';
const byEvent = (job: MpiJob, rank: number) => Object.fromEntries(records(job.ranks[rank]).map((o) => [o.event, o]));
const show = (job: MpiJob) => JSON.stringify({ code: job.code, ranks: job.ranks, mpirun: job.stderr }, null, 1);
/** ms from the moment rank `rank` printed `event` (its `t`: Date.now()) to the end of the job */
function msAfter(job: MpiJob, rank: number, event: string): number {
  const t = byEvent(job, rank)[event]?.t;
  expect(t, show(job)).toBeTypeOf('number');
  return job.startedAt + job.ms - t;
}

describe('distributed on MPI, 2 ranks', () => {
  it('ranks, all-reduce, broadcast, barrier and the non-blocking all-reduce', async () => {
    const job = await mpirun(RANK, { args: ['collectives'] });
    expect(job.code, show(job)).toBe(0); // no destroyProcessGroup: the exit finalized MPI, so mpirun saw a clean end
    const [r0, r1] = [byEvent(job, 0), byEvent(job, 1)];
    for (const [r, ev] of [r0, r1].entries()) {
      expect(ev.init, show(job)).toMatchObject({ rank: r, size: 2, backend: 'mpi' });
      expect(ev.init.before).toContain('Default process group has not been initialized, please make sure to call');
      expect(ev.twice.error).toContain('trying to initialize the default process group twice!');
      // rank r holds [r + 0.5, -r, 10r - 3] (float32) and [r + 1, -7r, 3 - r] (int32)
      expect(ev.allReduce.reduced).toEqual({
        'float32 sum': [2, -1, 4],
        'int32 sum': [3, -7, 5],
        'dtypes sum': [1, 1],
        'float32 max': [1.5, 0, 7],
        'int32 max': [2, 0, 3],
        'dtypes max': [1, 1],
        'float32 min': [0.5, -1, -3],
        'int32 min': [1, -7, 2],
        'dtypes min': [1, 1],
        before: [2 * r, 2 * r],
      });
      expect(ev.broadcast.tensor).toEqual([2, 3, 4]); // rank 1's
      expect(ev.broadcast.weight).toEqual(r1.broadcast.mine);
      expect(ev.grad.grad).toEqual([3, 2]);
      expect(ev.chunks).toMatchObject({ max: [0, 2, 4, 6, 8, 10, 12, 14], sent: [10, 11, 12, 13, 14, 15, 16, 17] });
      expect(ev.async).toMatchObject({ waited: true, completed: true, min: 100 });
      expect(ev.times.mpiError).toBe('MpiError: broadcast(1 float32 from rank 7): MPI_ERR_ROOT: invalid root');
    }
    expect(r0.broadcast.mine).not.toEqual(r1.broadcast.mine); // so the broadcast did copy something
    console.log(`2 ranks, rank 0's times (ms): ${JSON.stringify(r0.times.times)}; job ${job.ms.toFixed(0)} ms`);
  });

  it('a rank that throws ends the job within seconds, not at the 5-minute timeout', async () => {
    const job = await mpirun(RANK, { args: ['throws'] });
    expect(job.code, show(job)).not.toBe(0);
    expect(job.timedOut).toBe(false);
    const latency = msAfter(job, 1, 'throwing');
    expect(latency).toBeLessThan(30_000);
    const err1 = job.ranks[1].stderr.join('\n');
    expect(err1).toContain('rank 1 fails on purpose'); // the exception, printed before the abort
    expect(err1).toContain('an uncaught exception ends this process while its MPI process group is live');
    console.log(`rank 1 threw: the job ended ${latency.toFixed(0)} ms later (job ${job.ms.toFixed(0)} ms)`);
  });

  it('a rank that never joins a collective makes the other abort at its timeout', async () => {
    const job = await mpirun(RANK, { args: ['hangs'] });
    expect(job.code, show(job)).not.toBe(0);
    expect(job.timedOut).toBe(false);
    const waited = msAfter(job, 0, 'ready');
    expect(waited).toBeGreaterThanOrEqual(2000);
    expect(waited).toBeLessThan(15_000);
    expect(job.ranks[0].stderr.join('\n')).toContain(
      'rank 0 of 2: allReduce(sum of 4 float32) did not complete within its timeout of 2000 ms',
    );
    expect(byEvent(job, 1)['still alive']).toBeUndefined();
    console.log(`timeout 2000 ms: the job ended ${waited.toFixed(0)} ms after rank 0 was ready`);
  });

  it('DistributedDataParallel on 2 ranks equals one process on the whole batch (reference, native)', async () => {
    const job = await mpirun(RANK, { args: ['ddp', 'reference', 'native'], timeoutMs: 120_000 });
    expect(job.code, show(job)).toBe(0);
    for (const r of [0, 1]) {
      const ev = byEvent(job, r);
      for (const target of ['reference', 'native']) {
        expect(ev[`ddp ${target}`]?.maxDiff, `rank ${r} ${target}: ${show(job)}`).toBeLessThan(1e-6);
      }
    }
  });
});

describe('DistributedDataParallel on webgpu under mpirun', () => {
  it('2 ranks, a Dawn device each: gradients read back, averaged, written back; equals the whole batch', async () => {
    const job = await mpirun(RANK, { args: ['ddp', 'webgpu'], timeoutMs: 180_000 });
    expect(job.code, show(job)).toBe(0);
    for (const r of [0, 1]) expect(byEvent(job, r)['ddp webgpu']?.maxDiff, show(job)).toBeLessThan(1e-6);
  });
});

describe('distributed without mpirun', () => {
  it('a lone process is an MPI singleton: a world of one', async () => {
    const job = await alone(RANK, { args: ['alone'] });
    expect(job.code, show(job)).toBe(0);
    const ev = byEvent(job, 0);
    expect(ev.alone).toMatchObject({ rank: 0, size: 1, t: [1, 2, 3], i: [4, 5] });
    expect(ev.alone.bad).toContain('broadcast: src 1 is not a rank of the default process group (0 to 0)');
    expect(ev.destroyed.initialized).toBe(false);
    expect(ev.destroyed.again).toContain('Invalid process group specified');
    expect(ev.destroyed.reinit).toContain('MPI was finalized in this process');
  });

  it('names what to install when libmpi is missing, and refuses a library that is not Open MPI', () => {
    const saved = process.env.KILN_MPI_LIBRARY;
    try {
      process.env.KILN_MPI_LIBRARY = '/nonexistent/libmpi.so';
      expect(() => dist.initProcessGroup({ backend: 'mpi' })).toThrow(
        /could not be loaded \(KILN_MPI_LIBRARY=\/nonexistent\/libmpi.so\).*apt-get install openmpi-bin libopenmpi-dev/,
      );
      expect(dist.isMpiAvailable()).toBe(false);
      process.env.KILN_MPI_LIBRARY = 'libm.so.6';
      expect(() => dist.initProcessGroup()).toThrow(/libm.so.6 is not an MPI library \(it has no MPI_Get_library/);
      expect(dist.isInitialized()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.KILN_MPI_LIBRARY;
      else process.env.KILN_MPI_LIBRARY = saved;
    }
  });

  it("PyTorch's errors before a group exists", () => {
    for (const f of [dist.getRank, dist.getWorldSize, dist.barrier]) {
      expect(f).toThrow('Default process group has not been initialized, please make sure to call init_process_group.');
    }
    expect(() => dist.destroyProcessGroup()).toThrow('Invalid process group specified');
    expect(() => dist.initProcessGroup({ backend: 'gloo' as 'mpi' })).toThrow("backend 'gloo' is not available");
    expect(() => dist.initProcessGroup({ backend: 'foo' as 'mpi' })).toThrow("Invalid backend: 'foo'");
    expect(() => dist.initProcessGroup({ timeout: -1 })).toThrow('timeout must be a positive');
    expect(dist.isInitialized()).toBe(false);
  });
});
