// Whole training steps of real models (issue #12 §5), in ONE run: the digits CNN (examples/digits-cnn-model.ts),
// the char GPT at examples/char-gpt.ts's defaults, and a 4-block GPT D128 4 heads T64 B16 (same class), each on
// kiln native, kiln webgpu (Dawn llvmpipe, the Node default), PyTorch 1.13 eager (the twins' classes:
// bench/models_peer.py) and TensorFlow.js 4.22's webgpu backend on kiln's Dawn device. Per step: forward, loss,
// backward, optimizer update, the loss read back on the host; the median of STEPS steps after the first call
// and 2 warm-up steps. Every side starts from the same initial weights (kiln's manualSeed = torch.manual_seed)
// and sees the same batches; the check column compares the first step's losses (dropout masks differ).
//   npx tsx --conditions=kiln-source bench/models.mts [--json]
//   env STEPS (10), ROUNDS (2: PyTorch and kiln native alternate, each keeping its faster), MODELS (cnn,gpt,gpt128),
//   TARGETS (native,webgpu,torch,tfjs), TFJS (the models tfjs runs: all),
//   WEBGPU (the models kiln webgpu runs: all), DROPOUT (the GPTs', 0.1 as the example),
//   KILN_TORCH_PYTHON (/usr/bin/python3)
// kiln native and kiln webgpu run in separate child processes (bench/models-kiln.mts): Dawn and llvm-bindings
// never share one. PyTorch times 1 and 2 threads and keeps the faster per model.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Timing } from './models-common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = (k: string, d: string) => process.env[k] ?? d;
const list = (s: string) => s.split(',').filter(Boolean);
const STEPS = env('STEPS', '10');
const ROUNDS = Number(env('ROUNDS', '2'));
const MODELS = list(env('MODELS', 'cnn,gpt,gpt128'));
const TARGETS = list(env('TARGETS', 'native,webgpu,torch,tfjs'));
const TFJS = list(env('TFJS', MODELS.join(','))).filter((m) => MODELS.includes(m));
const WEBGPU = list(env('WEBGPU', MODELS.join(','))).filter((m) => MODELS.includes(m));
const LABELS: Record<string, string> = {
  cnn: 'digits CNN, B32',
  gpt: 'char GPT D64 H4 L4 T32 B16',
  gpt128: 'GPT D128 H4 L4 T64 B16',
};

type Result = Partial<Timing> & {
  error?: string;
  threads?: number;
  by_threads?: Record<string, { median_ms: number }>;
};
interface Child {
  kiln: Record<string, Result>;
  tfjs: Record<string, Result>;
  device?: string;
  tfjsVersion?: string;
}

/** the last JSON line a child printed (its progress goes to our stderr as it runs) */
function runChild(cmd: string, args: string[], what: string, extraEnv: Record<string, string> = {}): unknown {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, STEPS, ...extraEnv },
    maxBuffer: 1 << 26,
  });
  const line = (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (r.status !== 0 || !line)
    throw new Error(`${what}: exited ${r.status ?? r.signal}${r.error ? `: ${r.error}` : ''}`);
  return JSON.parse(line);
}

/** a kiln child with cold caches (a fresh KILN_CACHE_DIR, Mesa's shader cache off): its first call is a first call */
function kilnChild(target: string, models: string[], tfjs: string[], threads?: number): Child {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-models-'));
  try {
    const file = join(here, 'models-kiln.mts');
    const args = [
      '--import',
      'tsx',
      '--conditions=kiln-source',
      file,
      target,
      models.join(','),
      '--tfjs',
      tfjs.join(','),
    ];
    const cold = {
      KILN_CACHE_DIR: cache,
      MESA_SHADER_CACHE_DISABLE: 'true',
      ...(threads ? { KILN_THREADS: String(threads) } : {}),
    };
    return runChild(process.execPath, args, `kiln ${target} child`, cold) as Child;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

// ---- PyTorch first (so no kiln process shares the cores with it), then kiln native, then webgpu + tfjs ----
interface Torch {
  torch: string;
  blas: { config: string; libraries: string[] };
  models: Record<
    string,
    {
      first_loss: number;
      first_ms: number;
      median_ms: number;
      threads: number;
      by_threads: Record<string, { median_ms: number }>;
    }
  >;
}
/** PyTorch's side once: the JSON of bench/models_peer.py */
function torchRun(): Torch {
  process.stderr.write('PyTorch (bench/models_peer.py)...\n');
  const py = env('KILN_TORCH_PYTHON', '/usr/bin/python3');
  const dropout = env('DROPOUT', '0.1');
  const args = [join(here, 'models_peer.py'), '--steps', STEPS, '--models', MODELS.join(','), '--dropout', dropout];
  return runChild(py, args, 'bench/models_peer.py') as Torch;
}
// PyTorch and kiln native alternate ROUNDS times (the machine is shared: a round that another job slowed
// down loses), each model keeping its faster round; the first call's times are the first (cold) round's
let torch: Torch | undefined;
let torchError = '';
let native: Child | undefined;
for (let r = 0; r < ROUNDS; r++) {
  if (TARGETS.includes('torch')) {
    try {
      const t = torchRun();
      if (!torch) torch = t;
      else for (const m of MODELS) if (t.models[m].median_ms < torch.models[m].median_ms) torch.models[m] = t.models[m];
    } catch (e) {
      torchError = (e as Error).message;
    }
  }
  // kiln native, as PyTorch: its thread pool at the machine's cores (2 here) and at 1, the faster kept
  for (const threads of TARGETS.includes('native') ? [availableParallelism(), 1] : []) {
    const n = kilnChild('native', MODELS, [], threads);
    for (const m of MODELS) if (n.kiln[m]) n.kiln[m].threads = threads;
    if (!native) native = n;
    else {
      for (const m of MODELS) {
        const [best, now] = [native.kiln[m], n.kiln[m]];
        if (best?.medianMs !== undefined && now?.medianMs !== undefined && now.medianMs < best.medianMs) {
          best.medianMs = now.medianMs;
          best.threads = threads;
        }
      }
    }
  }
}
const webgpuModels = TARGETS.includes('webgpu') ? WEBGPU : [];
const tfjsModels = TARGETS.includes('tfjs') ? TFJS : [];
const webgpu = webgpuModels.length || tfjsModels.length ? kilnChild('webgpu', webgpuModels, tfjsModels) : undefined;

// ---- the table ----
const ms = (r?: Result) => (r?.error ? 'error' : r?.medianMs === undefined ? '' : `${fmt(r.medianMs)} ms`);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}x` : '');
const rows: string[][] = [
  [
    'model',
    'kiln native (threads)',
    'kiln webgpu',
    'PyTorch (threads)',
    'tfjs webgpu',
    'PyTorch/native',
    'tfjs/webgpu',
    'check: first loss',
  ],
];
const notes: string[] = [];
for (const m of MODELS) {
  const n = native?.kiln[m],
    w = webgpu?.kiln[m],
    tj = webgpu?.tfjs[m];
  const t = torch?.models[m];
  for (const [who, r] of [
    ['kiln native', n],
    ['kiln webgpu', w],
    ['tfjs', tj],
  ] as const) {
    if (r?.error) notes.push(`${LABELS[m]}, ${who}: ${r.error}`);
  }
  const torchCell = t ? `${fmt(t.median_ms)} ms (${t.threads})` : torchError ? 'error' : '';
  const losses = [n, w, tj].map((r) => r?.firstLoss).filter((x): x is number => x !== undefined);
  const worst = t ? Math.max(...losses.map((l) => Math.abs(l - t.first_loss) / t.first_loss)) : NaN;
  const check =
    t && losses.length ? `${worst < 0.05 ? 'ok' : 'DIFFERS'} (max ${(100 * worst).toFixed(1)}% off torch)` : '';
  rows.push([
    LABELS[m],
    n?.medianMs !== undefined && n.threads ? `${ms(n)} (${n.threads})` : ms(n),
    webgpuModels.includes(m) ? ms(w) : TARGETS.includes('webgpu') ? 'skipped' : '',
    torchCell,
    tfjsModels.includes(m) ? ms(tj) : TARGETS.includes('tfjs') ? 'n/a' : '',
    ratio(t?.median_ms, n?.medianMs),
    ratio(tj?.medianMs, w?.medianMs),
    check,
  ]);
}
const table = (rs: string[][]) => {
  const width = rs[0].map((_, j) => Math.max(...rs.map((r) => r[j].length)));
  return rs
    .map((r) => r.map((x, j) => (j === 0 || j === r.length - 1 ? x.padEnd(width[j]) : x.padStart(width[j]))))
    .map((l) => l.join('  ').trimEnd());
};

const cpu = cpus();
console.log(
  `kiln models bench: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, load average ` +
    `${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at the end; node ${process.version}`,
);
if (torch) {
  const lib = torch.blas.libraries.find((l) => /openblas|mkl|blis/.test(l)) ?? torch.blas.libraries[0] ?? 'none';
  const threads = MODELS.map((m) => {
    const bt = torch!.models[m]?.by_threads ?? {};
    return `${m} ${Object.entries(bt)
      .map(([k, v]) => `${k}t ${fmt(v.median_ms)}`)
      .join(' / ')} ms`;
  });
  console.log(`PyTorch ${torch.torch} eager, CPU: torch.__config__.show(): ${torch.blas.config}; BLAS mapped: ${lib}`);
  console.log(`  threads (1 and 2 tried, the faster kept): ${threads.join('; ')}`);
} else if (torchError) console.log(`PyTorch: ${torchError}`);
if (webgpu?.device)
  console.log(
    `webgpu: Dawn llvmpipe (${webgpu.device}); tfjs ${webgpu.tfjsVersion ?? ''} webgpu backend on the same GPUDevice`,
  );
console.log(
  `per training step (forward, loss, backward, optimizer update, loss read back): median of ${STEPS} steps after ` +
    `the first call and 2 warm-up steps (PyTorch, kiln native: the fastest of ${ROUNDS} rounds at 1 and 2 threads); ` +
    `GPTs: AdamW + clipping + lr schedule, dropout ` +
    `${env('DROPOUT', '0.1')}; CNN: Adam, dropout 0.25, batch norm in training mode`,
);
for (const l of table(rows)) console.log(l);
const compileRows = [['kiln first call, cold caches (compile() + first step)', 'native', 'webgpu']];
const first = (r?: Result) =>
  r?.firstMs === undefined
    ? ''
    : `${(r.firstMs / 1000).toFixed(1)} s (compile() ${((r.compileMs ?? 0) / 1000).toFixed(1)} s)`;
const kernels = (r?: Result) => (r?.kernels === undefined ? '' : `, ${r.kernels} kernels`);
for (const m of MODELS)
  compileRows.push([
    LABELS[m],
    first(native?.kiln[m]) + kernels(native?.kiln[m]),
    first(webgpu?.kiln[m]) + kernels(webgpu?.kiln[m]),
  ]);
for (const l of table(compileRows)) console.log(l);
for (const n of notes) console.log(`note: ${n}`);
if (TARGETS.includes('tfjs')) {
  const none = MODELS.filter((m) => !tfjsModels.includes(m));
  if (none.length) console.log(`tfjs n/a: ${none.join(', ')} (not in TFJS)`);
}
if (TARGETS.includes('webgpu')) {
  const none = MODELS.filter((m) => !webgpuModels.includes(m));
  if (none.length) console.log(`kiln webgpu skipped: ${none.join(', ')} (not in WEBGPU)`);
}
const knobs = ['STEPS', 'ROUNDS', 'MODELS', 'TARGETS', 'TFJS', 'WEBGPU', 'DROPOUT'].filter(
  (k) => process.env[k] !== undefined,
);
console.log(
  `reproduce: ${knobs.map((k) => `${k}=${process.env[k]} `).join('')}npx tsx --conditions=kiln-source bench/models.mts`,
);
if (process.argv.includes('--json')) console.log(JSON.stringify({ torch, native, webgpu }));
