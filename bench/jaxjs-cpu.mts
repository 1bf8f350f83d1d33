// kiln native vs jax-js's Wasm (CPU) backend (issue #13 §1): the MLP 784-256-10, batch 64, cross-entropy + Adam
// (lr 1e-3), the step of bench/run.ts. Both start from kiln's manualSeed(0) weights (torch.manual_seed(0)'s) and
// see the same batch; a step is the whole training step with its loss read back on the host. jax-js's step is
// one jit (bench/jaxjs-peer.ts: forward, valueAndGrad, Adam written in its ops).
//   npx tsx bench/jaxjs-cpu.mts            # ROUNDS=2: each configuration twice, alternating; the faster kept
// Threads: kiln native at KILN_THREADS=1 and 2 (its pool). jax-js splits Wasm kernels over `new Worker()`s, a
// browser global Node lacks: without it jax-js runs on the main thread (1 thread, Node's default); with
// bench/jaxjs-workers.ts (a Worker on node:worker_threads) on a pool of 2. Each configuration is a child
// process (kiln's thread count is read at start-up; jax-js picks its pool at import), timing both libraries
// side by side (bench/timing.ts: calibrated loops, the median of 5, one machine state for both).
import { trainingStep } from '../test/helpers/seed.js';
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const me = fileURLToPath(import.meta.url);
const DIMS = [784, 256, 10],
  BATCH = 64;
interface Result {
  threads: number;
  jaxWorkers: number;
  kiln: number;
  jax: number;
  losses: { kiln: number[]; jax: number[] };
}

async function child(threads: number): Promise<Result> {
  if (threads > 1) (await import('./jaxjs-workers.js')).installWorkerShim(threads);
  const { compile, manualSeed, nn, optim, randn } = await import('../compiler/index.js');
  const { jaxMlpStep } = await import('./jaxjs-peer.js');
  const { timeSideBySide } = await import('./timing.js');
  manualSeed(0);
  const l1 = new nn.Linear(DIMS[0], DIMS[1]),
    l2 = new nn.Linear(DIMS[1], DIMS[2]);
  const model = new nn.Sequential(l1, new nn.ReLU(), l2);
  const layer = (l: InstanceType<typeof nn.Linear>, shape: [number, number]) => ({
    weight: Float32Array.from(l.weight.data),
    bias: Float32Array.from(l.bias!.data),
    shape,
  });
  const init = [layer(l1, [DIMS[1], DIMS[0]]), layer(l2, [DIMS[2], DIMS[1]])];
  const crit = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = await compile(trainingStep(model, crit, opt), {
    inputs: [
      { shape: [BATCH, DIMS[0]], dtype: 'float32' },
      { shape: [BATCH], dtype: 'int32' },
    ],
    target: 'native',
  });
  const x = randn([BATCH, DIMS[0]]).data as Float32Array;
  const y = Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % DIMS[2]);
  const jx = jaxMlpStep(init, { lr: 1e-3, batch: BATCH, device: 'wasm' });
  const kilnStep = async () => (await step.run(x, y)).item();
  const jaxStep = () => jx.step(x, y);
  // the check: both trajectories' first 5 losses, from the same weights on the same batch
  const losses = { kiln: [] as number[], jax: [] as number[] };
  for (let k = 0; k < 5; k++) {
    losses.kiln.push(await kilnStep());
    losses.jax.push(await jaxStep());
  }
  const [kiln, jax] = await timeSideBySide([kilnStep, jaxStep], { async: true, minTime: 0.5, repeats: 5 });
  return { threads, jaxWorkers: threads > 1 ? threads : 0, kiln, jax, losses };
}

function runChild(threads: number): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', me, '--child', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KILN_THREADS: String(threads) },
  });
  const line = (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (r.status !== 0 || !line) throw new Error(`child (${threads} threads) exited ${r.status ?? r.signal}`);
  return JSON.parse(line) as Result;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  console.log(JSON.stringify(await child(Number(argv[1]))));
  process.exit(0); // jax-js's worker threads would keep the process alive
}

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CONFIGS = [1, Math.min(2, availableParallelism())].filter((t, i, a) => a.indexOf(t) === i);
const best = new Map<number, Result>();
for (let r = 0; r < ROUNDS; r++) {
  for (const t of CONFIGS) {
    const res = runChild(t);
    const b = best.get(t);
    best.set(t, b ? { ...b, kiln: Math.min(b.kiln, res.kiln), jax: Math.min(b.jax, res.jax) } : res);
  }
}
const ms = (s: number) => `${(s * 1e3).toFixed(2)} ms`;
const rel = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.abs(b[i])));
const { jaxVersion } = await import('./jaxjs-peer.js');
console.log(
  `kiln native vs jax-js ${jaxVersion()} wasm: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, ` +
    `node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
);
console.log(
  `MLP ${DIMS.join('-')}, batch ${BATCH}, cross-entropy + Adam, loss read back; per step: median of 5 ` +
    `calibrated loops, side by side; the faster of ${ROUNDS} rounds each`,
);
const rows = [['threads', 'kiln native', 'jax-js wasm', 'jax-js / kiln', 'check: 5 losses, jax-js vs kiln']];
for (const t of CONFIGS) {
  const r = best.get(t)!;
  const jaxThreads = r.jaxWorkers ? `${r.jaxWorkers} workers (worker_threads shim)` : 'main thread';
  rows.push([
    `kiln ${t}, jax-js ${jaxThreads}`,
    ms(r.kiln),
    ms(r.jax),
    `${(r.jax / r.kiln).toFixed(2)}x`,
    `max rel ${rel(r.losses.jax, r.losses.kiln).toExponential(1)} (first ${r.losses.kiln[0].toFixed(6)})`,
  ]);
}
const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((x, j) => (j >= 1 && j <= 3 ? x.padStart(w[j]) : x.padEnd(w[j]))).join('  '));
console.log('reproduce: npx tsx bench/jaxjs-cpu.mts');
