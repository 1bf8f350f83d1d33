// The compiled step's all-reduce on WebGPU (read back, reduced on the host, written back), in a process
// of its own (Dawn's LLVM never shares one with llvm-bindings'): test/distributed-step.test.ts's checks.
import { describe, expect, it } from 'vitest';
import { halvingGroup, maxDiff, trainMlp } from './helpers/ddp-step.js';

describe('DistributedDataParallel inside the compiled step on webgpu', () => {
  it('averaged gradients equal half-loss training; one collective per step', async () => {
    const g = halvingGroup();
    const ddp = await trainMlp('webgpu', g, [10, 5, 2]);
    const plain = await trainMlp('webgpu', null, [10, 5, 2]);
    expect(maxDiff(ddp.weights, plain.weights)).toBeLessThan(1e-7);
    ddp.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i])).toBeLessThan(1e-6));
    expect(g.calls).toEqual(['allReduce 67', 'allReduce 67', 'allReduce 67']);
  });

  it('buckets overlap the backward kernels and still average every gradient', async () => {
    const dims = [16, 600, 600, 10];
    const g = halvingGroup();
    const ddp = await trainMlp('webgpu', g, dims, { steps: 2, bucketCapMb: 0.5 });
    const plain = await trainMlp('webgpu', null, dims, { steps: 2 });
    expect(maxDiff(ddp.weights, plain.weights)).toBeLessThan(1e-6);
    expect(ddp.collectives.some((c) => c.wait > c.start)).toBe(true);
    expect(g.calls.filter((c) => c.startsWith('allReduce')).length).toBe(2 * ddp.collectives.length);
  });
});
