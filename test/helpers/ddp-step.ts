// In-process checks of the compiled step's collectives: a process group of two whose other rank
// contributes zeros, so DistributedDataParallel's average halves every gradient; the same model
// trained without DDP on half the loss must end with the same weights (SGD: exactly, up to the
// float32 rounding of a halving). The group records each collective it is asked for.
import { expect } from 'vitest';
import { nn, optim, compile, manualSeed, type Tensor } from '../../compiler/index.js';
import { setProcessGroup, type ProcessGroup } from '../../runtime/distributed/group.js';

export interface HalvingGroup extends ProcessGroup {
  calls: string[];
}

export function halvingGroup(): HalvingGroup {
  const calls: string[] = [];
  return {
    backend: 'test',
    rank: 0,
    size: 2,
    calls,
    allReduce: (b) => void calls.push(`allReduce ${b.length}`),
    iallReduce: (b) => {
      calls.push(`iallReduce ${b.length}`);
      return { wait: () => void calls.push(`wait ${b.length}`) };
    },
    broadcast: () => {},
    barrier: () => {},
    destroy: () => {},
  };
}

export interface DdpRun {
  weights: Record<string, Float32Array>;
  losses: number[];
  collectives: { length: number; start: number; wait: number }[];
  kernels: number;
}

/** `dims` MLP, SGD with momentum, `steps` steps at batch 8, with DDP over `group` or on half the loss */
export async function trainMlp(
  target: 'reference' | 'native' | 'webgpu',
  ddp: ProcessGroup | null,
  dims: number[],
  opts: { steps?: number; bucketCapMb?: number } = {},
): Promise<DdpRun> {
  manualSeed(0);
  const layers: nn.Module[] = [];
  dims.slice(1).forEach((d, i) => {
    if (i) layers.push(new nn.ReLU());
    layers.push(new nn.Linear(dims[i], d));
  });
  const model = new nn.Sequential(...layers);
  setProcessGroup(ddp ?? undefined);
  try {
    const net: nn.Module = ddp
      ? new nn.parallel.DistributedDataParallel(model, { bucketCapMb: opts.bucketCapMb ?? 25 })
      : model;
    const crit = new nn.CrossEntropyLoss();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const step = await compile(
      (x: Tensor, y: Tensor) => {
        const loss = crit.forward(net.forward(x), y);
        opt.zeroGrad();
        (ddp ? loss : loss.mul(0.5)).backward();
        opt.step();
        return loss;
      },
      {
        inputs: [
          { shape: [8, dims[0]], dtype: 'float32' },
          { shape: [8], dtype: 'int32' },
        ],
        target,
      },
    );
    const losses: number[] = [];
    for (let s = 0; s < (opts.steps ?? 3); s++) {
      const x = Float32Array.from({ length: 8 * dims[0] }, (_, i) => Math.sin(i * 0.37 + s));
      const y = Int32Array.from({ length: 8 }, (_, i) => (i * 7 + s) % dims[dims.length - 1]);
      losses.push((await step.run(x, y)).item());
    }
    await step.sync();
    const weights = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data]));
    const { schedule } = await import('../../compiler/kernel/schedule.js');
    const kp = schedule(step.programs[0].graph);
    const collectives = (kp.collectives ?? []).map(({ length, start, wait }) => ({ length, start, wait }));
    return { weights, losses, collectives, kernels: kp.kernels.length };
  } finally {
    setProcessGroup(undefined);
  }
}

export function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let d = 0;
  for (const k of Object.keys(a)) for (let i = 0; i < a[k].length; i++) d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
  return d;
}

/** a group of two whose other rank holds the same values: a sum doubles them */
export function doublingGroup(): HalvingGroup {
  const g = halvingGroup();
  const double = (b: Float32Array | Int32Array) => b.forEach((v, i) => (b[i] = 2 * v));
  return {
    ...g,
    allReduce: (b) => {
      g.calls.push(`allReduce ${b.length}`);
      double(b);
    },
    iallReduce: (b) => ({ wait: () => double(b) }),
  };
}

/** the same MLP trained with DDP over a halving group and without DDP on half the loss; their weights agree */
export async function againstHalfLoss(
  target: 'reference' | 'native' | 'webgpu',
  dims: number[],
  opts: { steps?: number; bucketCapMb?: number } = {},
  tolerance = 1e-7,
): Promise<{ ddp: DdpRun; plain: DdpRun; calls: string[] }> {
  const g = halvingGroup();
  const ddp = await trainMlp(target, g, dims, opts);
  const plain = await trainMlp(target, null, dims, { steps: opts.steps });
  expect(maxDiff(ddp.weights, plain.weights)).toBeLessThan(tolerance);
  return { ddp, plain, calls: g.calls };
}
