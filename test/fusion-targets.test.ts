// The fusion programs on the real targets: every random graph of fusion-random.test.ts (with and
// without graph passes and multi-tensor grouping) and every fixed graph (fusion-basic's, the
// seed's training step) is scheduled once, rendered by the LLVM target and run on the native
// device, and rendered to WGSL and run on WebGPU (llvmpipe), and compared with the kernel
// interpreter (targets/reference/kernels.ts) on the same memories: elementwise relative error
// <= 1e-6 on native (float32 rounding: libm exp, reductions in 8 partial sums), <= 1e-5 on WebGPU
// (WGSL's exp and log are allowed a few ulp); elements far below their tensor's scale are measured
// against 0.1% (native) or 1% (WebGPU) of it (see relErr). The pure elementwise maximum is printed.
// Inputs and cells hold negatives, exact zeros and ties, and also NaN and +-inf: both targets define
// them as the interpreter does (IEEE arithmetic, NaN-propagating max/min; WGSL leaves them
// unspecified, so the WGSL target computes the special cases itself: targets/wgsl/ieee.ts).
// A native library takes ~0.5 s to build: random graphs are batched, several scheduled programs
// concatenated into one library (mergePrograms). On WebGPU each kernel is a shader llvmpipe compiles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphProgram } from '../compiler/ir/graph.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { numel } from '../compiler/ir/graph.js';
import { schedule, type ScheduleOptions } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import type { Device, HostArray } from '../runtime/device.js';
import { storageOf } from '../runtime/manifest.js';
import { compileNativeAsync } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { buildWGSL } from '../targets/wgsl/index.js';
import { createWebGPUDevice, type WebGPUDevice } from '../runtime/webgpu/index.js';
import { randomEnv, runScheduled, type Env } from './kernels-util.js';
import { fixedCases, mergePrograms, randomGraph, type FusionCase } from './helpers/fusion-cases.js';

/**
 * tolerances, and the fraction of a tensor's scale below which an element's error is measured
 * against that fraction: WGSL's exp/log (a few ulp) move a gradient that cancelled to 1e-4 of its
 * scale by a third of an ulp of the scale, 2e-5 of the element (seed step, batch 3)
 */
const NATIVE = { tol: 1e-6, floor: 1e-3 },
  WEBGPU = { tol: 1e-5, floor: 1e-2 };
/** koffi calls take at most 64 arguments: one per buffer of a merged program */
const MAX_BUFFERS = 64;

/** a scheduled graph with its environments and the interpreter's results on each */
interface Scheduled {
  name: string;
  prog: KernelProgram;
  envs: { env: Env; want: { outputs: HostArray[]; cells: Map<number, HostArray> } }[];
}

/**
 * randomEnv (uniform in [-1, 1)) with every 5th value an exact zero and every 7th a copy of its
 * neighbour (ties for max/min and where); `special` also puts NaN, +inf and -inf in float values.
 */
function envOf(gp: GraphProgram, seed: number, special: boolean, adjust?: (e: Env) => void): Env {
  const e = randomEnv(gp, seed);
  const SPECIAL = [NaN, Infinity, -Infinity];
  const edit = (a: Float32Array | Int32Array, salt: number) => {
    if (!(a instanceof Float32Array)) return;
    for (let i = 0; i < a.length; i++) {
      if ((i + salt) % 5 === 0) a[i] = 0;
      else if ((i + salt) % 7 === 0 && i > 0) a[i] = a[i - 1];
      else if (special && (i * 13 + salt) % 11 === 3) a[i] = SPECIAL[(i + salt) % 3];
    }
  };
  e.inputs.forEach((x, i) => edit(x as Float32Array | Int32Array, seed + i));
  for (const [id, x] of e.cells) edit(x, seed + id);
  adjust?.(e);
  return e;
}

function prepare(
  name: string,
  gp: GraphProgram,
  layout: StateLayout,
  seed: number,
  opts: ScheduleOptions = {},
  adjust?: (e: Env) => void,
): Scheduled {
  const prog = schedule(gp, layout, opts);
  const envs = [false, true].map((special) => {
    const env = envOf(gp, seed, special, adjust);
    return { env, want: runScheduled(prog, env) as Scheduled['envs'][number]['want'] };
  });
  return { name, prog, envs };
}

/**
 * Largest elementwise |got - want| / max(|want|, floor * max|want|) (max over finite values). The
 * floor keeps an element that cancelled far below its tensor's scale (a gradient summed over a
 * batch, say) from turning an ulp of the summands into a large relative error: such an element is
 * measured against `floor` of the scale. NaN must match NaN and an infinity itself.
 */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>, floor: number): number {
  if (got.length !== want.length) return Infinity;
  let scale = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]));
  const low = Math.max(floor * scale, Number.MIN_VALUE);
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i],
      b = want[i];
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const r = Math.abs(a - b) / Math.max(Math.abs(b), low);
    m = Number.isNaN(r) ? Infinity : Math.max(m, r);
  }
  return m;
}

/** worst error per target, printed at the end */
const worst: Record<string, { err: number; where: string; pure: number; pureWhere: string; values: number }> = {};
function record(target: string, where: string, err: number, pure: number, values: number) {
  const w = (worst[target] ??= { err: 0, where: '-', pure: 0, pureWhere: '-', values: 0 });
  w.values += values;
  if (err > w.err) {
    w.err = err;
    w.where = where;
  }
  if (pure > w.pure) {
    w.pure = pure;
    w.pureWhere = where;
  }
}
afterAll(() => {
  for (const [t, w] of Object.entries(worst)) {
    console.log(
      `[fusion-targets] ${t}: ${w.values} values, max error ${w.err.toExponential(2)} (${w.where}); ` +
        `pure elementwise relative ${w.pure.toExponential(2)} (${w.pureWhere})`,
    );
  }
});

/**
 * Runs the programs as one executable (`merged`) on `dev` with each environment and compares
 * every output and updated cell with the interpreter's. Returns the worst relative error.
 */
async function runOn(
  dev: Device,
  target: string,
  parts: Scheduled[],
  merged: KernelProgram,
  layout: ReturnType<typeof mergePrograms>['parts'],
  load: (p: KernelProgram) => Promise<Awaited<ReturnType<Device['load']>>>,
  specialToo: boolean,
  { tol, floor }: { tol: number; floor: number },
): Promise<void> {
  const exe = await load(merged);
  for (const d of merged.buffers) if (d.kind === 'state') dev.ensureState(d.dtype, d.size);
  for (const envIdx of specialToo ? [0, 1] : [0]) {
    const inputs: HostArray[] = new Array(merged.inputs.length);
    const scalars = new Float32Array(merged.host.scalarCount);
    let slot = 0;
    parts.forEach((s, k) => {
      const { env } = s.envs[envIdx];
      layout[k].inputs.forEach((j, i) => {
        inputs[j] = env.inputs[i] as HostArray;
      });
      for (const c of s.prog.cells) dev.writeState(storageOf(c.dtype), c.offset, env.cells.get(c.cell)! as HostArray);
      scalars.set(env.scalars.subarray(0, s.prog.host.scalarCount), slot);
      slot += s.prog.host.scalarCount;
    });
    const out = await exe.run(inputs, scalars);
    for (let k = 0; k < parts.length; k++) {
      const s = parts[k],
        { want } = s.envs[envIdx];
      const label = `${s.name}${envIdx ? ' (NaN/inf inputs)' : ''}`;
      for (const [i, j] of layout[k].outputs.entries()) {
        const err = relErr(out[j], want.outputs[i], floor);
        record(target, `${label} output ${i}`, err, relErr(out[j], want.outputs[i], 0), want.outputs[i].length);
        expect(
          err,
          `${target}: ${label} output ${i}: ${Array.from(out[j]).slice(0, 8)} ` +
            `vs ${Array.from(want.outputs[i]).slice(0, 8)}`,
        ).toBeLessThanOrEqual(tol);
      }
      for (const c of s.prog.cells) {
        const got = await dev.readState(storageOf(c.dtype), c.offset, numel(c.shape));
        const err = relErr(got, want.cells.get(c.cell)!, floor);
        record(target, `${label} cell ${c.name}`, err, relErr(got, want.cells.get(c.cell)!, 0), got.length);
        expect(err, `${target}: ${label} cell ${c.name}`).toBeLessThanOrEqual(tol);
      }
    }
  }
}

// ---- the programs, scheduled once for both targets ----

/** random graphs in groups sharing a StateLayout (cells renumbered apart), merged for native */
function randomGroups(seeds: number[], opts: ScheduleOptions, label: string): Scheduled[][] {
  const groups: Scheduled[][] = [];
  let cur: Scheduled[] = [],
    layout = new StateLayout(),
    buffers = 1;
  for (const seed of seeds) {
    const s = prepare(`${label} seed ${seed}`, randomGraph(seed, 10 * seed), layout, seed, opts);
    const nb = s.prog.buffers.filter((b) => b.kind !== 'state').length;
    if (cur.length && buffers + nb > MAX_BUFFERS - 2) {
      groups.push(cur);
      cur = [];
      buffers = 1;
      // a fresh layout for the next group: reschedule this graph on it
      layout = new StateLayout();
      cur.push(prepare(`${label} seed ${seed}`, randomGraph(seed, 10 * seed), layout, seed, opts));
    } else cur.push(s);
    buffers += nb;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

const RANDOM = Array.from({ length: 60 }, (_, i) => i + 1);
const RANDOM_PLAIN = Array.from({ length: 20 }, (_, i) => i + 100);
const groups = [
  ...randomGroups(RANDOM, {}, 'random'),
  ...randomGroups(RANDOM_PLAIN, { passes: false, multiTensor: false }, 'random, no passes/multi-tensor'),
];
// fixed cases are scheduled and interpreted when first used: one failing case fails its own test
const fixedList = fixedCases();
const fixedMemo = new Map<FusionCase, Scheduled>();
const fixedOf = (c: FusionCase): Scheduled => {
  let s = fixedMemo.get(c);
  if (!s) {
    fixedMemo.set(
      c,
      (s = prepare(c.name, c.graph, c.layout?.() ?? new StateLayout(), 1000 + fixedList.indexOf(c), {}, c.env)),
    );
  }
  return s;
};

const span = (g: Scheduled[]) => `${g[0].name} .. ${g[g.length - 1].name.replace(/^.* seed /, '')}`;

describe('fused programs on native (LLVM target, native device)', () => {
  const dev = createNativeDevice();
  // fixed cases: one library each, built concurrently with the first group's
  const fixedBuilt = new Map<FusionCase, ReturnType<typeof compileNativeAsync>>();
  beforeAll(() => {
    for (const c of fixedList) {
      try {
        const p = compileNativeAsync(fixedOf(c).prog);
        p.catch(() => {}); // reported by the case's test
        fixedBuilt.set(c, p);
      } catch {
        /* scheduling failed: the case's test reports it */
      }
    }
  });

  for (const g of groups) {
    it(`${g.length} random graphs in one library: ${span(g)}`, async () => {
      const m = mergePrograms(g.map((s) => s.prog));
      expect(m.prog.buffers.length).toBeLessThanOrEqual(MAX_BUFFERS);
      await runOn(dev, 'native', g, m.prog, m.parts, async (p) => dev.load(await compileNativeAsync(p)), true, NATIVE);
    });
  }
  for (const c of fixedList) {
    it(c.name, async () => {
      const s = fixedOf(c);
      const m = mergePrograms([s.prog], { hostFromCaller: true });
      await runOn(
        dev,
        'native',
        [s],
        s.prog,
        m.parts,
        async (p) => dev.load(await (fixedBuilt.get(c) ?? compileNativeAsync(p))),
        true,
        { ...NATIVE, tol: c.nativeTol ?? NATIVE.tol },
      );
    });
  }
});

// The default WGSL rendering, and the serial one ({ workgroupReduce: false, tile: false }) where
// it differs: today these programs are too small for tree reductions and tiles, so it never does
// (webgpu-suite.ts runs both on larger programs). Each kernel is a shader llvmpipe compiles
// (~0.1 s each with a cold Mesa shader cache, ~1 ms warm), the slow half of this file when cold.
const SERIAL = { workgroupReduce: false, tile: false };
const differs = (p: KernelProgram) => {
  const a = buildWGSL(p).code.kernels,
    b = buildWGSL(p, SERIAL).code.kernels;
  return a.some((k, i) => k.wgsl !== b[i].wgsl);
};

describe('fused programs on WebGPU (WGSL, llvmpipe)', () => {
  let dev: WebGPUDevice;
  beforeAll(async () => {
    dev = await createWebGPUDevice({ backend: 'llvmpipe' });
  });
  afterAll(() => dev?.destroy());

  const check = async (s: Scheduled) => {
    const m = mergePrograms([s.prog], { hostFromCaller: true });
    await runOn(dev, 'webgpu', [s], s.prog, m.parts, (p) => dev.load(buildWGSL(p)), true, WEBGPU);
    if (differs(s.prog)) {
      await runOn(dev, 'webgpu serial', [s], s.prog, m.parts, (p) => dev.load(buildWGSL(p, SERIAL)), true, WEBGPU);
    }
  };
  it(`${RANDOM.length + RANDOM_PLAIN.length} random graphs`, async () => {
    for (const s of groups.flat()) await check(s);
  });
  for (const c of fixedList)
    it(c.name, async () => {
      await check(fixedOf(c));
    });
});
