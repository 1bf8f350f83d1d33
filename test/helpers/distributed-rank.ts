// One rank of the jobs test/distributed-mpi.test.ts runs (argv[2] picks the job). Each prints JSON lines
// ({ "rank": r, ... }) that the test checks; values differ per rank so that a reduction shows every rank.
import { compile, distributed as dist, manualSeed, nn, optim, tensor, type Tensor } from 'kiln';
import { processGroup, setProcessGroup } from '../../runtime/distributed/group.js';
import { mpiLimits } from '../../runtime/distributed/mpi.js';

const job = process.argv[2];
const say = (o: object) => console.log(JSON.stringify({ rank: dist.isInitialized() ? dist.getRank() : -1, ...o }));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
const errorOf = (f: () => unknown) => {
  try {
    f();
    return undefined;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

if (job === 'collectives') {
  const before = errorOf(() => dist.getWorldSize());
  dist.initProcessGroup({ backend: 'mpi', timeout: 20_000 });
  const r = dist.getRank(),
    n = dist.getWorldSize();
  say({ event: 'init', size: n, backend: dist.getBackend(), before });
  say({ event: 'twice', error: errorOf(() => dist.initProcessGroup({ backend: 'mpi' })) });

  const reduced: Record<string, number[]> = {};
  for (const op of [dist.ReduceOp.SUM, dist.ReduceOp.MAX, dist.ReduceOp.MIN]) {
    const f = tensor([r + 0.5, -r, 10 * r - 3], { dtype: 'float32' });
    const i = tensor([r + 1, -7 * r, 3 - r], { dtype: 'int32' });
    dist.allReduce(f, { op });
    dist.allReduce(i, { op });
    reduced[`float32 ${op}`] = Array.from(f.data);
    reduced[`int32 ${op}`] = Array.from(i.data);
    reduced[`dtypes ${op}`] = [f.dtype === 'float32' ? 1 : 0, i.dtype === 'int32' ? 1 : 0];
  }
  const early = tensor([r, r]);
  const doubled = early.mul(2); // made before the reduction: it keeps the value it was made from
  dist.allReduce(early);
  reduced['before'] = Array.from(doubled.data);
  say({ event: 'allReduce', reduced });

  const t = tensor([r + 1, r + 2, r + 3]);
  dist.broadcast(t, 1);
  manualSeed(100 + r);
  const lin = new nn.Linear(3, 2); // each rank's own random init, until rank 1's is broadcast
  const mine = Array.from(lin.weight.data);
  dist.broadcast(lin.weight, 1);
  say({ event: 'broadcast', tensor: Array.from(t.data), mine, weight: Array.from(lin.weight.data) });

  // a gradient read as p.grad is the parameter's own, as in PyTorch: reducing it writes the parameter's grad
  const bias = lin.bias!;
  bias.grad = tensor([r + 1, 2 * r]);
  dist.allReduce(bias.grad!);
  say({ event: 'grad', grad: Array.from(bias.grad!.data) });

  const g = processGroup()!;
  const pending = g.iallReduce(new Float32Array([r, 1]));
  const started = pending.isCompleted!();
  pending.wait();
  const work = dist.allReduce(tensor([r * r], { dtype: 'int32' }), { op: dist.ReduceOp.MAX, asyncOp: true });
  const a = new Int32Array([r + 100]);
  const raw = g.iallReduce(a, 'min');
  let polls = 0;
  while (!raw.isCompleted!()) polls++;
  raw.wait();
  mpiLimits.maxCount = 3; // 8 elements in 3 MPI calls each, as a buffer over 2^30 elements goes
  const chunked = new Float32Array(8).map((_, k) => k * (r + 1));
  const sent = new Int32Array(8).map((_, k) => k + 10 * r);
  g.allReduce(chunked, 'max');
  g.broadcast(sent, 1);
  const chunkedWork = g.iallReduce(new Float32Array(0));
  chunkedWork.wait();
  mpiLimits.maxCount = 2 ** 30;
  say({ event: 'chunks', max: Array.from(chunked), sent: Array.from(sent) });
  say({ event: 'async', started, waited: work.wait(), completed: work.isCompleted(), min: a[0], polls });

  const times: Record<string, number> = {};
  const t0 = performance.now();
  for (let k = 0; k < 20; k++) dist.barrier();
  times.barrier = (performance.now() - t0) / 20;
  for (const count of [1e3, 1e6]) {
    const buf = new Float32Array(count).fill(r + 1);
    const ts: number[] = [];
    for (let k = 0; k < 11; k++) {
      g.barrier();
      const s = performance.now();
      g.allReduce(buf);
      ts.push(performance.now() - s);
    }
    times[`allReduce ${count}`] = median(ts);
    const big = tensor(new Float32Array(count).fill(r));
    g.barrier();
    const s = performance.now();
    dist.allReduce(big);
    times[`tensor allReduce ${count}`] = performance.now() - s;
  }
  say({ event: 'times', times, mpiError: errorOf(() => g.broadcast(new Float32Array(1), 7)) });
  // the end: no destroyProcessGroup; the exit finalizes MPI (mpirun would abort the job otherwise)
} else if (job === 'throws') {
  dist.initProcessGroup({ backend: 'mpi' }); // the default timeout (5 minutes): the exit must come first
  say({ event: 'ready', t: Date.now() });
  if (dist.getRank() === 1) {
    setTimeout(() => {
      say({ event: 'throwing', t: Date.now() });
      throw new Error('rank 1 fails on purpose');
    }, 200);
  } else dist.allReduce(tensor([1, 2, 3, 4]));
} else if (job === 'hangs') {
  dist.initProcessGroup({ backend: 'mpi', timeout: 2000 });
  say({ event: 'ready', t: Date.now() });
  if (dist.getRank() === 1)
    setTimeout(() => say({ event: 'still alive' }), 30_000); // never joins
  else dist.allReduce(tensor([1, 2, 3, 4]));
} else if (job === 'alone') {
  dist.initProcessGroup({ timeout: 5000 });
  const t = tensor([1, 2, 3]),
    i = tensor([4, 5], { dtype: 'int32' });
  dist.allReduce(t);
  dist.allReduce(i, { op: dist.ReduceOp.MAX });
  dist.broadcast(t, 0);
  dist.barrier();
  const bad = errorOf(() => dist.broadcast(t, 1));
  say({ event: 'alone', size: dist.getWorldSize(), t: Array.from(t.data), i: Array.from(i.data), bad });
  dist.destroyProcessGroup();
  say({
    event: 'destroyed',
    initialized: dist.isInitialized(),
    again: errorOf(() => dist.destroyProcessGroup()),
    reinit: errorOf(() => dist.initProcessGroup()),
  });
} else if (job === 'ddp') {
  // DistributedDataParallel on the real group: each rank trains on its half of a batch of 16; the weights must
  // be those of one process training on the whole batch (the mean of the halves' mean losses is the whole's)
  dist.initProcessGroup({ timeout: 60_000 });
  const r = dist.getRank();
  for (const target of process.argv.slice(3) as ('reference' | 'native' | 'webgpu')[]) {
    const ddp = await trainMlp(target, true, 8, 8 * r, r);
    const g = processGroup();
    setProcessGroup(undefined);
    const whole = await trainMlp(target, false, 16, 0, 0);
    setProcessGroup(g);
    let maxDiff = 0;
    ddp.forEach((a, k) => a.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - whole[k][i])))));
    say({ event: `ddp ${target}`, maxDiff });
  }
} else {
  throw new Error(`distributed-rank: unknown job ${job}`);
}

/** a 10-32-4 MLP, SGD with momentum, 20 steps on `rows` rows of a batch from `offset`; its final weights */
async function trainMlp(
  target: 'reference' | 'native' | 'webgpu',
  ddp: boolean,
  rows: number,
  offset: number,
  seed: number,
) {
  manualSeed(seed); // DDP's ranks start apart: wrapping broadcasts rank 0's weights (seed 0, as the whole's)
  const model = new nn.Sequential(new nn.Linear(10, 32), new nn.ReLU(), new nn.Linear(32, 4));
  const net: nn.Module = ddp ? new nn.parallel.DistributedDataParallel(model) : model;
  const crit = new nn.CrossEntropyLoss();
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const inputs = [
    { shape: [rows, 10], dtype: 'float32' as const },
    { shape: [rows], dtype: 'int32' as const },
  ];
  const step = await compile(
    (x: Tensor, y: Tensor) => {
      const loss = crit.forward(net.forward(x) as Tensor, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    },
    { inputs, target },
  );
  for (let s = 0; s < 20; s++) {
    const x = Float32Array.from({ length: rows * 10 }, (_, i) => Math.sin((i + offset * 10) * 0.37 + s));
    const y = Int32Array.from({ length: rows }, (_, i) => ((i + offset) * 7 + s) % 4);
    await step.run(x, y);
  }
  await step.sync();
  return Object.values(model.stateDict()).map((v) => Array.from(v.data));
}
