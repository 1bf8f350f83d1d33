// First-step start-up on WebGPU (Dawn on Mesa llvmpipe by default) vs native, phase by phase.
//   npx tsx bench/webgpu-startup.ts                 # every workload, 3 fresh processes per target
//   ROUNDS=5 WORKLOADS=seed1,mlp64 npx tsx bench/webgpu-startup.ts
// Every measurement is one fresh child process (Dawn and llvm-bindings never share one, and
// nothing is warm): compile() of the training step, then its first run. Mesa's and kiln's on-disk
// caches are off (MESA_SHADER_CACHE_DISABLE, a fresh KILN_CACHE_DIR), so each run is a first run.
// Phases: trace (kiln's trace, inside compile()), schedule (graph -> kernels), render (WGSL, or
// LLVM IR -> opt/llc/cc for native), shader modules (createShaderModule), pipelines
// (createComputePipelineAsync until all resolved), first run (dispatch + readback). The table is
// the median of each phase over the rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, nn, optim, type Tensor } from '../compiler/index.js';
import { getBackend } from '../compiler/backend.js';
import type { DeviceTarget } from '../compiler/device-backend.js';
import type { WebGPUDevice } from '../runtime/webgpu/index.js';

interface Workload {
  label: string;
  inputs: { shape: number[]; dtype: 'float32' | 'int32' }[];
  /** the traced step and the arrays of its first run */
  make(): { fn: (...a: Tensor[]) => Tensor | void; args: (Float32Array | Int32Array)[] };
}

const rand = (n: number, seed: number) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
};

/** Linear-ReLU-Linear, cross-entropy, Adam: the seed's step at any sizes */
function mlp(i: number, h: number, o: number, batch: number): Workload {
  return {
    label: `MLP ${i}-${h}-${o}, batch ${batch}, Adam`,
    inputs: [
      { shape: [batch, i], dtype: 'float32' },
      { shape: [batch], dtype: 'int32' },
    ],
    make() {
      const model = new nn.Sequential(new nn.Linear(i, h), new nn.ReLU(), new nn.Linear(h, o));
      const criterion = new nn.CrossEntropyLoss();
      const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
      const fn = (x: Tensor, y: Tensor) => {
        const loss = criterion.forward(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      };
      return { fn, args: [rand(batch * i, 7), Int32Array.from({ length: batch }, (_, k) => k % o)] };
    },
  };
}

const WORKLOADS: Record<string, Workload> = {
  seed1: { ...mlp(10, 5, 2, 1), label: 'seed step, batch 1' },
  seed64: { ...mlp(10, 5, 2, 64), label: 'seed step, batch 64' },
  mlp64: mlp(784, 256, 10, 64),
  adam1e6: {
    label: 'Adam step, 1e6 params',
    inputs: [],
    make() {
      const p = new nn.Parameter({ shape: [1e6], data: rand(1e6, 1) });
      const g = new nn.Parameter({ shape: [1e6], data: rand(1e6, 2) }, false);
      const opt = new optim.Adam([p], { lr: 1e-3 });
      return {
        fn: () => {
          p.grad = g as Tensor;
          opt.step();
        },
        args: [],
      };
    },
  },
};

type Phases = Record<string, number>;
const now = () => performance.now();

/** wraps `obj[key]` (a method) so each call adds its duration (until settled, if async) to `into[phase]` */
function timeMethod<T extends object>(obj: T, key: keyof T & string, into: Phases, phase: string): void {
  const f = (obj as Record<string, unknown>)[key] as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[key] = function (this: unknown, ...a: unknown[]) {
    const t = now();
    const add = () => {
      into[phase] = (into[phase] ?? 0) + now() - t;
    };
    const r = f.apply(obj, a);
    if (r instanceof Promise) return r.finally(add);
    add();
    return r;
  };
}

/** one fresh-process measurement: compile() with its phases timed, then the first run */
async function child(target: 'webgpu' | 'native', name: string): Promise<Phases> {
  const w = WORKLOADS[name];
  const ph: Phases = {};
  let t = now();
  const backend = await getBackend(target);
  ph['device open'] = now() - t;
  const tgt = (backend as unknown as { target: DeviceTarget }).target;
  timeMethod(tgt, 'lower', ph, 'schedule');
  timeMethod(tgt, 'build', ph, 'render');
  if (target === 'webgpu') {
    const gpu = (tgt.device as WebGPUDevice).device;
    timeMethod(gpu, 'createShaderModule', ph, 'shader modules');
    // pipelines are created concurrently: time the window from the first call to the last settle
    const create = gpu.createComputePipelineAsync.bind(gpu);
    let first = 0,
      open = 0;
    gpu.createComputePipelineAsync = (d) => {
      if (!open++) first = now();
      const p = create(d);
      void p
        .finally(() => {
          if (!--open) ph['pipelines'] = (ph['pipelines'] ?? 0) + now() - first;
        })
        .catch(() => undefined);
      return p;
    };
  }
  const loadPhase = target === 'webgpu' ? 'load' : 'load (dlopen)';
  timeMethod(tgt.device, 'load', ph, loadPhase);
  const { fn, args } = w.make();
  t = now();
  const step = await compile(fn, { inputs: w.inputs, target });
  ph['compile()'] = now() - t;
  ph['trace'] = ph['compile()'] - ph['schedule'] - (ph['render'] ?? 0) - (ph[loadPhase] ?? 0);
  t = now();
  const out = await step.run(...args);
  ph['first run'] = now() - t;
  if (out && !Number.isFinite((out as Tensor).item())) throw new Error(`${name}: the first loss is not finite`);
  ph['first step'] = ph['compile()'] + ph['first run'];
  return ph;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

function parent(): void {
  const rounds = Number(process.env.ROUNDS ?? 3);
  const names = (process.env.WORKLOADS ?? Object.keys(WORKLOADS).join(',')).split(',');
  const rows: string[][] = [
    [
      'workload',
      'target',
      'trace',
      'schedule',
      'render',
      'modules',
      'pipelines',
      'load',
      'first run',
      'first step',
      'webgpu/native',
    ],
  ];
  for (const name of names) {
    const med: Record<string, Phases> = {};
    for (const target of ['native', 'webgpu'] as const) {
      const runs: Phases[] = [];
      for (let r = 0; r < rounds; r++) {
        const cache = mkdtempSync(join(tmpdir(), 'kiln-startup-'));
        const env = { ...process.env, KILN_CACHE_DIR: cache, MESA_SHADER_CACHE_DISABLE: 'true' };
        const res = spawnSync(process.execPath, ['--import', 'tsx', process.argv[1], '--child', target, name], {
          env,
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        });
        rmSync(cache, { recursive: true, force: true });
        const line = res.stdout.split('\n').find((l) => l.startsWith('{'));
        if (res.status !== 0 || !line) throw new Error(`${target} ${name}: child failed\n${res.stderr}`);
        runs.push(JSON.parse(line) as Phases);
      }
      med[target] = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((p) => p[k] ?? 0))]));
    }
    for (const target of ['native', 'webgpu'] as const) {
      const p = med[target];
      const ms = (k: string) => (p[k] === undefined ? '-' : `${Math.round(p[k])} ms`);
      const ratio = target === 'webgpu' ? `${(p['first step'] / med.native['first step']).toFixed(2)}x` : '';
      rows.push([
        target === 'native' ? WORKLOADS[name].label : '',
        target,
        ms('trace'),
        ms('schedule'),
        ms('render'),
        ms('shader modules'),
        ms('pipelines'),
        ms(target === 'webgpu' ? 'load' : 'load (dlopen)'),
        ms('first run'),
        ms('first step'),
        ratio,
      ]);
    }
  }
  console.log(
    `first step (compile() + first run), median of ${rounds} fresh processes per cell; ` +
      'load includes modules and pipelines',
  );
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  for (const r of rows) console.log(r.map((x, j) => (j >= 2 ? x.padStart(w[j]) : x.padEnd(w[j]))).join('  '));
  console.log('reproduce: npx tsx bench/webgpu-startup.ts');
}

if (process.argv[2] === '--child') {
  const ph = await child(process.argv[3] as 'webgpu' | 'native', process.argv[4]);
  console.log(JSON.stringify(ph));
  process.exit(0); // Dawn keeps the event loop alive
} else {
  parent();
}
