// kiln native vs PyTorch eager, measured in ONE invocation on this machine (issue #4 part 6).
//   npx tsx bench/run.ts [--quick] [--no-torch] [--json] [--allow-reference-blas]
// 1. Adam alone at 1e4, 1e6, 1e7 parameters: kiln's compiled `optimizer.step()` (whole step: host
//    program, checks, one foreign call) vs torch.optim.Adam for-loop and foreach, and vs this
//    machine's copy bandwidth measured here (a native copy kernel, 1 thread and the thread pool;
//    Adam moves 28 B/param: reads p, g, m, v, writes p, m, v).
// 2. The seed's training step (Linear(10,5), ReLU, Linear(5,2), CrossEntropyLoss, Adam, batch 1).
// 3. An MLP 784-256-10, batch 64, cross-entropy + Adam; with a per-kernel time profile.
// PyTorch's side is bench/torch_peer.py (/usr/bin/python3, or KILN_TORCH_PYTHON), spawned first;
// both sides time the same way: calibrate, then the median of 5 repeats.
import { trainingStep } from '../test/helpers/seed.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, manualSeed, nn, optim, randn, zeros, type Tensor } from '../compiler/index.js';
import { nativeAvailable } from '../compiler/targets/native.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { compileNative, hostCpu } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { add, ci, kernel, ld, program, store, v } from '../test/llvm-helpers.js';
import { kernelProfile, timeit as timeAlone, timeSideBySide as timeTogether } from './timing.js';
import { describePeak, measurePeak } from './peak.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const timeit: typeof timeAlone = (fn, opts = {}) => timeAlone(fn, { ...opts, scale: QUICK ? 0.25 : 1 });
const timeSideBySide: typeof timeTogether = (fns, opts = {}) => timeTogether(fns, { ...opts, scale: QUICK ? 0.25 : 1 });

// ---- PyTorch (spawned first, so the two sides do not share the cores) ----
interface TorchResult {
  torch: string;
  blas: { name: string; libraries: string[]; sgemm512_gflops: number };
  /** the thread counts tried; each case keeps its fastest (detail has every count's time) */
  threads: number[];
  adam: Record<string, { forloop: number; foreach: number }>;
  train: Record<string, number>;
  detail: Record<string, unknown>;
}
function runTorch(): TorchResult | { error: string } {
  if (argv.includes('--no-torch')) return { error: 'skipped (--no-torch)' };
  const py = process.env.KILN_TORCH_PYTHON ?? '/usr/bin/python3';
  const peerArgs = [
    ...(QUICK ? ['--quick'] : []),
    ...(argv.includes('--allow-reference-blas') ? ['--allow-reference-blas'] : []),
  ];
  const r = spawnSync(py, [join(here, 'torch_peer.py'), ...peerArgs], { encoding: 'utf8', timeout: 1_200_000 });
  if (r.error) return { error: `${py}: ${r.error.message}` };
  if (r.status !== 0) {
    return { error: `${py} torch_peer.py exited ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}` };
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
  } catch (e) {
    return { error: `unreadable torch output: ${(e as Error).message}` };
  }
}

// ---- copy bandwidth (native kernels, this run) ----
const cacheDir = process.env.KILN_CACHE_DIR ?? mkdtempSync(join(tmpdir(), 'kiln-bench-'));
/** y = x over n floats: 8 B/float of traffic (a store also reads its line: ~12 B really move) */
function copyProgram(n: number): KernelProgram {
  return program(
    [{ name: 'state', kind: 'state', dtype: 'f32', size: 2 * n }],
    [kernel('copy', [n], [store(0, add(v('g0'), ci(n)), ld(0, v('g0')))], n)],
  );
}
/** a native copy of n floats, serial or split over the library's thread pool */
async function copyRunner(n: number, parallelThreshold: number): Promise<() => unknown> {
  const exe = (await createNativeDevice().load(
    compileNative(copyProgram(n), { cacheDir, parallelThreshold }),
  )) as unknown as { runSync(i: never[], s: Float32Array): unknown };
  const s = new Float32Array(1);
  return () => exe.runSync([], s);
}

// ---- kiln cases ----
/** kiln's compiled `optimizer.step()` for one parameter of n elements (its grad set once) */
async function adamRunner(n: number): Promise<() => Promise<unknown>> {
  manualSeed(0);
  const p = new nn.Parameter(zeros([n]));
  p.grad = randn([n]);
  const opt = new optim.Adam([p], { lr: 1e-3 });
  const step = await compile(
    () => {
      opt.step();
    },
    { inputs: [], target: 'native' },
  );
  return () => step.run();
}

async function trainStep(
  dims: number[],
  batch: number,
): Promise<{ seconds: number; step: Awaited<ReturnType<typeof compile>> }> {
  manualSeed(0);
  const layers: nn.Module[] = [];
  for (let i = 0; i < dims.length - 1; i++) {
    layers.push(new nn.Linear(dims[i], dims[i + 1]));
    if (i < dims.length - 2) layers.push(new nn.ReLU());
  }
  const model = new nn.Sequential(...layers);
  const crit = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = await compile(trainingStep(model, crit, opt), {
    inputs: [
      { shape: [batch, dims[0]], dtype: 'float32' },
      { shape: [batch], dtype: 'int32' },
    ],
    target: 'native',
  });
  const x = randn([batch, dims[0]]).data as Float32Array;
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7) % dims[dims.length - 1]);
  return { seconds: await timeit(() => step.run(x, y), { async: true }), step };
}

/** the machine as a table header names it: CPU model, cores, memory */
function machine(): string {
  let model = 'unknown CPU';
  try {
    model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return `${model}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
}

// ---- report ----
function table(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((x, j) => (j === 0 ? x.padEnd(w[j]) : x.padStart(w[j]))).join('  ')).join('\n');
}
const us = (s: number) =>
  s * 1e6 < 10 ? (s * 1e6).toFixed(2) : s * 1e6 < 1000 ? (s * 1e6).toFixed(1) : (s * 1e6).toFixed(0);
const ratio = (a: number | undefined, b: number) =>
  a === undefined ? 'n/a' : `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×`;

async function main(): Promise<void> {
  const avail = await nativeAvailable();
  if (!avail.ok) {
    console.error(`kiln native target unavailable: ${avail.why}`);
    process.exit(1);
  }
  // PyTorch runs before and after kiln; each case keeps its faster run (the machine is shared)
  const torch = runTorch();
  const T = 'error' in torch ? undefined : torch;
  console.log(`kiln bench — ${machine()}, node ${process.version}, kiln native for cpu ${hostCpu()}`);
  console.log(
    T
      ? `PyTorch ${T.torch}, BLAS ${T.blas.name} ` +
          `(${T.blas.libraries.find((l) => /openblas|mkl|blis/.test(l)) ?? T.blas.libraries[0] ?? '?'}, ` +
          `sgemm 512² ${T.blas.sgemm512_gflops} GFLOP/s), threads ${T.threads.join(' and ')}: ` +
          'each case keeps the faster'
      : `PyTorch unavailable: ${(torch as { error: string }).error}`,
  );
  console.log(`command: npx tsx bench/run.ts ${argv.join(' ')}`.trimEnd());
  console.log('speedup = PyTorch time / kiln time (higher is better for kiln); all in this run\n');

  // the training steps first: every program on the 'native' target shares one state arena for the
  // process, and the 1e7-parameter Adam leaves ~200 MB in it (measured: the seed step is ~10% slower after)
  const seed = await trainStep([10, 5, 2], 1);
  const mlp = await trainStep([784, 256, 10], 64);
  const sizes = QUICK ? [1e4, 1e6] : [1e4, 1e6, 1e7];
  const adamRows: string[][] = [
    [
      'Adam step',
      'kiln µs',
      'GB/s (28 B/p)',
      '% of copy BW',
      'torch for-loop µs',
      'torch foreach µs',
      'vs for-loop',
      'vs foreach',
    ],
  ];
  const copyRows: string[][] = [['copy (8 B/float)', '1 thread GB/s', 'pool GB/s', 'best GB/s']];
  const json: Record<string, unknown> = { torch: T ?? null, adam: {}, train: {} };
  const adamKiln: { n: number; k: number; copyBW: number }[] = [];
  for (const n of sizes) {
    // copy (serial and pooled) and Adam side by side, so the ratio sees one machine state
    const [c1, cp, k] = await timeSideBySide(
      [await copyRunner(n, Infinity), await copyRunner(n, 0), await adamRunner(n)],
      { async: true, minTime: n >= 1e7 ? 0.5 : 0.2, repeats: 7 },
    );
    const copyBW = (8 * n) / Math.min(c1, cp) / 1e9;
    copyRows.push([
      n.toExponential(0),
      ((8 * n) / c1 / 1e9).toFixed(1),
      ((8 * n) / cp / 1e9).toFixed(1),
      copyBW.toFixed(1),
    ]);
    adamKiln.push({ n, k, copyBW });
  }
  if (T && !QUICK) {
    const again = runTorch();
    if (!('error' in again)) {
      for (const [n, a] of Object.entries(again.adam)) {
        const t = T.adam[n];
        if (t) {
          t.forloop = Math.min(t.forloop, a.forloop);
          t.foreach = Math.min(t.foreach, a.foreach);
        }
      }
      for (const [k, x] of Object.entries(again.train)) T.train[k] = Math.min(T.train[k] ?? Infinity, x);
    }
  }
  for (const { n, k, copyBW } of adamKiln) {
    const bw = (28 * n) / k / 1e9;
    const t = T?.adam[String(n)];
    adamRows.push([
      n.toExponential(0),
      us(k),
      bw.toFixed(1),
      `${((100 * bw) / copyBW).toFixed(0)}%`,
      t ? us(t.forloop) : 'n/a',
      t ? us(t.foreach) : 'n/a',
      ratio(t?.forloop, k),
      ratio(t?.foreach, k),
    ]);
    (json.adam as Record<string, unknown>)[String(n)] = { kiln: k, copyGBs: copyBW, adamGBs: bw, torch: t ?? null };
  }
  const trainRows: string[][] = [['training step', 'kiln µs', 'kiln steps/s', 'torch µs', 'torch steps/s', 'speedup']];
  for (const [name, key, r] of [
    ['seed 10-5-2, batch 1', 'seed', seed],
    ['MLP 784-256-10, batch 64', 'mlp784', mlp],
  ] as const) {
    const t = T?.train[key];
    trainRows.push([
      name,
      us(r.seconds),
      (1 / r.seconds).toFixed(0),
      t ? us(t) : 'n/a',
      t ? (1 / t).toFixed(0) : 'n/a',
      ratio(t, r.seconds),
    ]);
    (json.train as Record<string, unknown>)[key] = { kiln: r.seconds, torch: t ?? null };
  }

  console.log(table(adamRows) + '\n');
  if (T) {
    console.log(
      `(PyTorch: ${
        QUICK ? "one run, before kiln's" : "the faster of a run before and a run after kiln's, per case"
      })\n`,
    );
  }
  console.log(table(copyRows) + '\n');
  console.log(table(trainRows) + '\n');
  const peak = measurePeak();
  const prof = await kernelProfile(mlp.step, cacheDir, peak.allCores);
  console.log(describePeak(peak));
  console.log(
    'MLP step, each kernel alone vs all kernels in one call, side by side ' +
      `(GFLOP/s and GB/s from the scheduler's counts; % of the ${peak.allCores.toFixed(0)} GFLOP/s peak):`,
  );
  console.log(table([['kernel', 'grid', 'µs', 'share', 'GFLOP/s', 'GB/s', '% peak'], ...prof]));
  json.peak = peak;
  if (argv.includes('--json')) console.log(JSON.stringify(json));
  if (!process.env.KILN_CACHE_DIR) rmSync(cacheDir, { recursive: true, force: true });
}

await main();
