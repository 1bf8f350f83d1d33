// The compiled step's all-reduce (compiler/kernel/collectives.ts, nn.parallel.DistributedDataParallel)
// in one process: a group of two whose other rank contributes zeros (test/helpers/ddp-step.ts).
import { describe, expect, it } from 'vitest';
import { halvingGroup, maxDiff, trainMlp } from './helpers/ddp-step.js';
import { CollectiveSchedule } from '../runtime/distributed/collectives.js';

describe('DistributedDataParallel inside the compiled step', () => {
  for (const target of ['reference', 'native'] as const) {
    it(`${target}: averaged gradients equal half-loss training; one collective over the gradient arena`, async () => {
      const g = halvingGroup();
      const ddp = await trainMlp(target, g, [10, 5, 2]);
      const plain = await trainMlp(target, null, [10, 5, 2]);
      expect(maxDiff(ddp.weights, plain.weights)).toBeLessThan(1e-7);
      // the reference interpreter reduces gradient by gradient, a compiled step the whole bucket at once
      expect(g.calls.length).toBe(target === 'reference' ? 4 * 3 : 3);
      const params = 10 * 5 + 5 + 5 * 2 + 2;
      expect(ddp.collectives).toEqual([
        { length: params, start: ddp.collectives[0].start, wait: ddp.collectives[0].wait },
      ]);
      if (target === 'native') expect(g.calls).toEqual(['allReduce 67', 'allReduce 67', 'allReduce 67']);
    });
  }

  it('native: buckets past the first MiB start their collectives while backward kernels still run', async () => {
    const dims = [16, 600, 600, 10];
    const g = halvingGroup();
    const ddp = await trainMlp('native', g, dims, { steps: 2, bucketCapMb: 0.5 });
    const plain = await trainMlp('native', null, dims, { steps: 2 });
    expect(maxDiff(ddp.weights, plain.weights)).toBeLessThan(1e-6);
    expect(ddp.collectives.length).toBeGreaterThanOrEqual(2);
    const total = ddp.collectives.reduce((a, c) => a + c.length, 0);
    expect(total).toBe(16 * 600 + 600 + 600 * 600 + 600 + 600 * 10 + 10);
    // the first bucket (the last layers' gradients) is in flight over at least one kernel
    expect(ddp.collectives.some((c) => c.wait > c.start)).toBe(true);
    expect(g.calls.some((c) => c.startsWith('iallReduce'))).toBe(true);
  });

  it('refuses a manifest whose collective lies outside its buffer', () => {
    const buffers = [{ name: 'scratch_f32', kind: 'scratch' as const, dtype: 'f32' as const, size: 8 }];
    const c = { op: 'sum' as const, buf: 0, offset: 4, length: 5, start: 0, wait: 0, names: [] };
    expect(() => new CollectiveSchedule({ buffers, kernels: [], collectives: [c] })).toThrow(/outside the buffer/);
    const late = { ...c, length: 4, start: 0, wait: 2 };
    expect(() => new CollectiveSchedule({ buffers, kernels: [{}], collectives: [late] })).toThrow(/completes before 2/);
  });
});
