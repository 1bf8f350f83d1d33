// The compiled step's all-reduce (compiler/kernel/collectives.ts, nn.parallel.DistributedDataParallel)
// in one process: a group of two whose other rank contributes zeros (test/helpers/ddp-step.ts).
import { describe, expect, it } from 'vitest';
import { againstHalfLoss, doublingGroup, halvingGroup } from './helpers/ddp-step.js';
import { CollectiveSchedule } from '../runtime/distributed/collectives.js';
import { setProcessGroup } from '../runtime/distributed/group.js';
import { compile, distributed, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import { schedule } from '../compiler/kernel/schedule.js';

describe('DistributedDataParallel inside the compiled step', () => {
  for (const target of ['reference', 'native'] as const) {
    it(`${target}: averaged gradients equal half-loss training; one collective over the gradient arena`, async () => {
      const { ddp, calls } = await againstHalfLoss(target, [10, 5, 2]);
      // the reference interpreter reduces gradient by gradient, a compiled step the whole bucket at once
      expect(calls.length).toBe(target === 'reference' ? 4 * 3 : 3);
      const params = 10 * 5 + 5 + 5 * 2 + 2;
      expect(ddp.collectives).toEqual([
        { length: params, start: ddp.collectives[0].start, wait: ddp.collectives[0].wait },
      ]);
      if (target === 'native') expect(calls).toEqual(['allReduce 67', 'allReduce 67', 'allReduce 67']);
    });
  }

  it('native: buckets past the first MiB start their collectives while backward kernels still run', async () => {
    const { ddp, calls } = await againstHalfLoss('native', [16, 600, 600, 10], { steps: 2, bucketCapMb: 0.5 }, 1e-6);
    expect(ddp.collectives.length).toBeGreaterThanOrEqual(2);
    const total = ddp.collectives.reduce((a, c) => a + c.length, 0);
    expect(total).toBe(16 * 600 + 600 + 600 * 600 + 600 + 600 * 10 + 10);
    // the first bucket (the last layers' gradients) is in flight over at least one kernel
    expect(ddp.collectives.some((c) => c.wait > c.start)).toBe(true);
    expect(calls.some((c) => c.startsWith('iallReduce'))).toBe(true);
  });

  it('refuses a manifest whose collective lies outside its buffer', () => {
    const buffers = [{ name: 'scratch_f32', kind: 'scratch' as const, dtype: 'f32' as const, size: 8 }];
    const c = { op: 'sum' as const, buf: 0, offset: 4, length: 5, start: 0, wait: 0, names: [] };
    expect(() => new CollectiveSchedule({ buffers, kernels: [], collectives: [c] })).toThrow(/outside the buffer/);
    const late = { ...c, length: 4, start: 0, wait: 2 };
    expect(() => new CollectiveSchedule({ buffers, kernels: [{}], collectives: [late] })).toThrow(/completes before 2/);
  });
});

describe('distributed.allReduce and DDP.noSync inside the compiled step', () => {
  for (const target of ['reference', 'native'] as const) {
    it(`${target}: allReduce(t) sums t over ranks in place, between the kernels making and reading t`, async () => {
      setProcessGroup(doublingGroup());
      try {
        const f = await compile(
          (x: Tensor) => {
            const s = x.mul(x).sum();
            distributed.allReduce(s);
            return [s, s.add(1)];
          },
          { inputs: [{ shape: [4], dtype: 'float32' }], target },
        );
        const [s, s1] = (await f.run(Float32Array.from([1, 2, 3, 4]))) as Tensor[];
        expect([s.item(), s1.item()]).toEqual([60, 61]);
        const kp = schedule(f.programs[0].graph);
        expect(kp.collectives?.map((c) => [c.op, c.length])).toEqual([['sum', 1]]);
      } finally {
        setProcessGroup(undefined);
      }
    });

    it(`${target}: backward passes in noSync accumulate locally; the next synced one averages the sum`, async () => {
      const run = async (ddp: boolean) => {
        manualSeed(0);
        const model = new nn.Linear(3, 2);
        setProcessGroup(halvingGroup());
        try {
          const net = ddp ? new nn.parallel.DistributedDataParallel(model) : null;
          const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
          const step = await compile(
            (a: Tensor, b: Tensor) => {
              opt.zeroGrad();
              if (net) {
                net.noSync(() => net.forward(a).sum().backward());
                net.forward(b).sum().backward();
              } else {
                model.forward(a).sum().mul(0.5).backward();
                model.forward(b).sum().mul(0.5).backward();
              }
              opt.step();
              return model.weight.sum();
            },
            {
              inputs: [
                { shape: [2, 3], dtype: 'float32' },
                { shape: [2, 3], dtype: 'float32' },
              ],
              target,
            },
          );
          await step.run(Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([0, 1, 0, 2, 0, 3]));
          await step.sync();
          return Array.from(model.weight.data);
        } finally {
          setProcessGroup(undefined);
        }
      };
      const [ddp, half] = [await run(true), await run(false)];
      ddp.forEach((v, i) => expect(Math.abs(v - half[i])).toBeLessThan(1e-6));
    });
  }
});

describe('nn.parallel.DistributedDataParallel', () => {
  it("needs a process group (PyTorch's message), wraps under `module.` keys and buckets as PyTorch", () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(512, 600), new nn.ReLU(), new nn.Linear(600, 10));
    expect(() => new nn.parallel.DistributedDataParallel(model)).toThrow(
      'Default process group has not been initialized, please make sure to call init_process_group.',
    );
    setProcessGroup(halvingGroup());
    try {
      const ddp = new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 1 });
      expect(Object.keys(ddp.stateDict())).toEqual(Object.keys(model.stateDict()).map((k) => `module.${k}`));
      // PyTorch's rebuilt buckets: gradients in the order they are ready (reverse), the first bucket closing
      // past 1 MiB (here at 2.weight), the next ones past bucketCapMb; parameter order within a bucket
      expect(ddp.buckets().map((b) => b.map((p) => p.numel()))).toEqual([[512 * 600, 600, 600 * 10, 10]]);
      const deep = new nn.Sequential(
        new nn.Linear(16, 600),
        new nn.ReLU(),
        new nn.Linear(600, 600),
        new nn.Linear(600, 10),
      );
      const split = new nn.parallel.DistributedDataParallel(deep, { bucketCapMb: 0.5 });
      expect(split.buckets().map((b) => b.map((p) => p.numel()))).toEqual([
        [600 * 600, 600, 600 * 10, 10],
        [16 * 600, 600],
      ]);
      expect(() => new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 0 })).toThrow(/bucketCapMb/);
    } finally {
      setProcessGroup(undefined);
    }
  });
});

describe('stats() and kiln inspect name the collectives', () => {
  it('bytes all-reduced per run, between which kernels, and which gradients', async () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
    setProcessGroup(halvingGroup());
    try {
      const net = new nn.parallel.DistributedDataParallel(model);
      const crit = new nn.CrossEntropyLoss();
      const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
      const step = await compile(
        (x: Tensor, y: Tensor) => {
          const loss = crit.forward(net.forward(x), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          return loss;
        },
        {
          inputs: [
            { shape: [4, 10], dtype: 'float32' },
            { shape: [4], dtype: 'int32' },
          ],
          target: 'native',
        },
      );
      const s = step.stats();
      expect(s.allReducedBytesPerRun).toBe(4 * 67);
      expect(s.collectives).toHaveLength(1);
      expect(s.collectives![0].values).toBe(4);
      expect(s.collectives![0].start).toBeLessThanOrEqual(s.collectives![0].wait);
      expect(s.collectives![0].wait).toBeLessThan(s.kernels);
    } finally {
      setProcessGroup(undefined);
    }
  });
});
