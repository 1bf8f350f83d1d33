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

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));

/** seconds per call: warm up, calibrate the loop to ~minTime/repeats, then the median of `repeats` */
export async function timeit(
  fn: () => unknown,
  opts: { minTime?: number; repeats?: number; async?: boolean } = {},
): Promise<number> {
  const minTime = (opts.minTime ?? 0.2) * (QUICK ? 0.25 : 1),
    repeats = opts.repeats ?? 5;
  const loop = async (n: number): Promise<number> => {
    const t = performance.now();
    if (opts.async) for (let i = 0; i < n; i++) await fn();
    else for (let i = 0; i < n; i++) fn();
    return (performance.now() - t) / 1e3;
  };
  // warm-up: ~50 ms of calls, so V8 has optimized the step's JavaScript before it is timed
  for (let n = 1, spent = 0; spent < 0.05 && n <= 1e6; n *= 2) spent += await loop(n);
  let n = 1;
  while ((await loop(n)) <= minTime / repeats && n <= 1e6) n *= 4;
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) samples.push((await loop(n)) / n);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(repeats / 2)];
}

/**
 * Like timeit, for several functions measured side by side: each round runs every function's
 * loop once, so a change in machine load hits all of them alike. Returns seconds per call each.
 */
export async function timeSideBySide(
  fns: (() => unknown)[],
  opts: { minTime?: number; repeats?: number; async?: boolean } = {},
): Promise<number[]> {
  const minTime = (opts.minTime ?? 0.2) * (QUICK ? 0.25 : 1),
    repeats = opts.repeats ?? 5;
  const loop = async (fn: () => unknown, n: number): Promise<number> => {
    const t = performance.now();
    if (opts.async) for (let i = 0; i < n; i++) await fn();
    else for (let i = 0; i < n; i++) fn();
    return (performance.now() - t) / 1e3;
  };
  const ns: number[] = [];
  for (const fn of fns) {
    await loop(fn, 1);
    let n = 1;
    while ((await loop(fn, n)) <= minTime / repeats && n <= 1e6) n *= 4;
    ns.push(n);
  }
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < repeats; r++) {
    for (let f = 0; f < fns.length; f++) samples[f].push((await loop(fns[f], ns[f])) / ns[f]);
  }
  return samples.map((x) => x.sort((a, b) => a - b)[Math.floor(repeats / 2)]);
}

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
  const step = await compile(
    (x: Tensor, y: Tensor) => {
      const loss = crit.forward(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    },
    {
      inputs: [
        { shape: [batch, dims[0]], dtype: 'float32' },
        { shape: [batch], dtype: 'int32' },
      ],
      target: 'native',
    },
  );
  const x = randn([batch, dims[0]]).data as Float32Array;
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7) % dims[dims.length - 1]);
  return { seconds: await timeit(() => step.run(x, y), { async: true }), step };
}

/** each kernel of a compiled step alone (same buffers, run back to back): where the time goes */
async function kernelProfile(step: Awaited<ReturnType<typeof compile>>): Promise<string[][]> {
  const [{ schedule }, { StateLayout }] = await Promise.all([
    import('../compiler/kernel/schedule.js'),
    import('../compiler/kernel/memory.js'),
  ]);
  const traced = step.programs[step.programs.length - 1];
  const kp = schedule(traced.graph, new StateLayout());
  const dev = createNativeDevice();
  const scalars = new Float32Array(Math.max(1, kp.host.scalarCount)).fill(0.5);
  const inputs = kp.inputs.map((p) =>
    p.dtype === 'float32'
      ? new Float32Array(p.shape.reduce((a, b) => a * b, 1))
      : new Int32Array(p.shape.reduce((a, b) => a * b, 1)),
  );
  // every kernel alone and the whole program, side by side (one machine state for all the shares)
  const load = async (ks: KernelProgram['kernels']) => {
    const exe = (await dev.load(compileNative({ ...kp, kernels: ks }, { cacheDir }))) as unknown as {
      runSync(i: typeof inputs, s: Float32Array): unknown;
    };
    return () => exe.runSync(inputs, scalars);
  };
  const fns = [await load(kp.kernels)];
  for (const k of kp.kernels) fns.push(await load([k]));
  const [whole, ...each] = await timeSideBySide(fns, { minTime: 0.1, repeats: 5 });
  const rows = kp.kernels.map((k, i) => {
    const s = each[i],
      m = k.meta;
    return [
      k.name,
      `[${k.grid}]`,
      (s * 1e6).toFixed(1),
      `${((100 * s) / whole).toFixed(0)}%`,
      (m.flops / s / 1e9).toFixed(1),
      ((m.bytesRead + m.bytesWritten) / s / 1e9).toFixed(1),
    ];
  });
  rows.push(['all kernels, one call', '', (whole * 1e6).toFixed(1), '100%', '', '']);
  return rows;
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
  const prof = await kernelProfile(mlp.step);
  console.log(
    'MLP step, each kernel alone vs all kernels in one call, side by side ' +
      "(GFLOP/s and GB/s from the scheduler's counts):",
  );
  console.log(table([['kernel', 'grid', 'µs', 'share', 'GFLOP/s', 'GB/s'], ...prof]));
  if (argv.includes('--json')) console.log(JSON.stringify(json));
  if (!process.env.KILN_CACHE_DIR) rmSync(cacheDir, { recursive: true, force: true });
}

await main();
