// Data-parallel training on this machine: the char GPT's step (bench/models-common.mts `gpt`, dropout off) as
// one process and as an mpirun -np 2 job (shared memory, in a network namespace of its own: test/helpers/mpirun.ts),
// its steps/s and the bytes it all-reduces per step, and the all-reduce of those bytes alone; then, on paper,
// what a ring all-reduce would cost at 8 and 64 ranks. Run:
//   npx tsx --conditions=kiln-source bench/distributed.mts [gpt|gpt128] [--target native] [--net-gbps 10]
// Each rank runs KILN_THREADS=1 (2 ranks on 2 cores); one process is timed at 1 and 2 threads on the global batch.
import { compile, distributed, manualSeed, nn, type Tensor } from '../compiler/index.js';
import { processGroup } from '../runtime/distributed/group.js';
import { makeOptimizer, trainStepFn } from '../examples/char-gpt-model.js';
import { benchGpt, GPT_TRAIN, GPTS, gptData, timeSteps, WARMUP, STEPS } from './models-common.mjs';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

interface RankResult {
  ranks: number;
  batch: number;
  threads: string;
  medianMs: number;
  allReducedBytes: number;
  allReduceMs?: number;
  params: number;
}

/** one process of a job (or a lone run): compile the step, time it, and the bare all-reduce of its gradients */
async function rankJob(name: string, target: string, ddp: boolean, batch: number): Promise<RankResult> {
  process.env.DROPOUT = '0';
  if (ddp) distributed.initProcessGroup({ backend: 'mpi' });
  const world = ddp ? distributed.getWorldSize() : 1,
    rank = ddp ? distributed.getRank() : 0;
  const { vocab, batches } = gptData(name, 1 + WARMUP + STEPS, batch * world);
  manualSeed(1337);
  const { model, tokens } = benchGpt(name, vocab);
  const net = ddp ? new nn.parallel.DistributedDataParallel(model) : model;
  const optimizer = makeOptimizer(model, GPT_TRAIN);
  const spec = { ...tokens, shape: [batch, GPTS[name].T] };
  const step = await compile(trainStepFn(model, optimizer, GPT_TRAIN, new nn.CrossEntropyLoss(), net), {
    inputs: [spec, spec],
    target,
  });
  const rows = batch * GPTS[name].T;
  const mine = (a: Int32Array) => a.subarray(rank * rows, (rank + 1) * rows);
  const r = await timeSteps(async (k) => {
    const [x, y] = batches[k];
    return ((await step.run(mine(x as Int32Array), mine(y))) as Tensor[])[0].item();
  }, performance.now());
  const params = model.parameters().reduce((a, p) => a + p.numel(), 0);
  const s = step.stats();
  let allReduceMs: number | undefined;
  const g = processGroup();
  if (g) {
    const buf = new Float32Array(params);
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      g.barrier();
      const t = performance.now();
      g.allReduce(buf, 'sum');
      times.push(performance.now() - t);
    }
    allReduceMs = times.sort((a, b) => a - b)[times.length >> 1];
    distributed.destroyProcessGroup();
  }
  const threads = process.env.KILN_THREADS ?? 'all cores';
  return {
    ranks: world,
    batch,
    threads,
    medianMs: r.medianMs,
    allReducedBytes: s.allReducedBytesPerRun ?? 0,
    allReduceMs,
    params,
  };
}

const [mode = 'gpt'] = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const target = arg('target', 'native');
if (process.argv.includes('--rank')) {
  const res = await rankJob(mode, target, process.argv.includes('--ddp'), Number(arg('batch', '16')));
  if (!processGroup() && (res.ranks === 1 || process.env.OMPI_COMM_WORLD_RANK === '0'))
    console.log(JSON.stringify(res));
} else {
  const { alone, mpirun, records } = await import('../test/helpers/mpirun.js');
  const B = GPTS[mode].B;
  const me = 'bench/distributed.mts';
  const common = [mode, '--rank', '--target', target];
  const run = async (job: ReturnType<typeof alone>) => {
    const j = await job;
    const r = records(j.ranks[0])[0];
    if (j.code !== 0 || !r) throw new Error(`bench/distributed: a job failed: ${j.stderr.slice(-2000)}`);
    return r as RankResult;
  };
  const rows: RankResult[] = [];
  for (const threads of ['1', '2']) {
    rows.push(
      await run(
        alone(me, { args: [...common, '--batch', String(2 * B)], env: { KILN_THREADS: threads }, timeoutMs: 600_000 }),
      ),
    );
  }
  rows.push(
    await run(alone(me, { args: [...common, '--batch', String(B)], env: { KILN_THREADS: '1' }, timeoutMs: 600_000 })),
  );
  rows.push(
    await run(
      mpirun(me, { args: [...common, '--ddp', '--batch', String(B)], env: { KILN_THREADS: '1' }, timeoutMs: 600_000 }),
    ),
  );
  const { D, H, L, T } = GPTS[mode];
  console.log(`char GPT D${D} ${H} heads ${L} blocks T${T}, dropout 0, target ${target}; median of ${STEPS} steps`);
  console.log('| processes | batch per process | threads each | step ms | global rows/s | all-reduced per step |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const rps = (r.ranks * r.batch * 1000) / r.medianMs;
    const ar = r.allReducedBytes ? `${(r.allReducedBytes / 1e6).toFixed(2)} MB` : '-';
    console.log(`| ${r.ranks} | ${r.batch} | ${r.threads} | ${r.medianMs.toFixed(2)} | ${rps.toFixed(0)} | ${ar} |`);
  }
  const two = rows[rows.length - 1],
    oneRank = rows[rows.length - 2];
  const t2 = two.allReduceMs!;
  console.log(
    `\nall-reduce of ${two.params} floats (${((4 * two.params) / 1e6).toFixed(2)} MB) on 2 ranks: ${t2.toFixed(3)} ms`,
  );
  console.log('on paper (ring all-reduce moves 2(n-1)/n of the bytes per rank; 2 ranks move 1x; no overlap assumed):');
  const gbps = Number(arg('net-gbps', '10'));
  const bytes = 4 * two.params;
  for (const n of [8, 64]) {
    const tn = t2 * ((2 * (n - 1)) / n);
    // the same bytes over a network link of `gbps` (an assumption, not measured here): bandwidth-bound
    const tnet = (((2 * (n - 1)) / n) * bytes * 8) / (gbps * 1e6);
    const net = oneRank.medianMs + tnet;
    console.log(
      `  ${n} ranks over ${gbps} Gb/s links: all-reduce ${tnet.toFixed(2)} ms, step ${net.toFixed(2)} ms, ` +
        `${((n * oneRank.medianMs) / net).toFixed(1)}x one rank's rows/s`,
    );
    const step = oneRank.medianMs + tn;
    console.log(
      `  ${n} ranks (this machine's shared-memory rate): all-reduce ${tn.toFixed(3)} ms, ` +
        `step ${step.toFixed(2)} ms, ${((n * oneRank.medianMs) / step).toFixed(1)}x one rank's rows/s`,
    );
  }
}
