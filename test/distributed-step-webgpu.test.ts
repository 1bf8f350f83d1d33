// The compiled step's all-reduce on WebGPU (read back, reduced on the host, written back), in a process
// of its own (Dawn's LLVM never shares one with llvm-bindings'): test/distributed-step.test.ts's checks.
import { describe, expect, it } from 'vitest';
import { againstHalfLoss } from './helpers/ddp-step.js';

describe('DistributedDataParallel inside the compiled step on webgpu', () => {
  it('averaged gradients equal half-loss training; one collective per step', async () => {
    const { ddp, plain, calls } = await againstHalfLoss('webgpu', [10, 5, 2]);
    ddp.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i])).toBeLessThan(1e-6));
    expect(calls).toEqual(['allReduce 67', 'allReduce 67', 'allReduce 67']);
  });

  it('buckets overlap the backward kernels and still average every gradient', async () => {
    const { ddp, calls } = await againstHalfLoss('webgpu', [16, 600, 600, 10], { steps: 2, bucketCapMb: 0.5 }, 1e-6);
    expect(ddp.collectives.some((c) => c.wait > c.start)).toBe(true);
    expect(calls.filter((c) => c.startsWith('allReduce')).length).toBe(2 * ddp.collectives.length);
  });
});
