// Browser entry (bundled by test/browser-webgpu.test.ts with esbuild): runs the seed's prebuilt
// training step (WGSL + manifest, built in Node by the test, as an AOT bundle would ship it)
// with runtime/webgpu alone on navigator.gpu, and shows each step's loss beside PyTorch's.
// Imports nothing from compiler/: the page needs no tracer, scheduler, LLVM or fs.
import { createWebGPUDevice } from '../../runtime/webgpu/index.js';
import type { WebGPUExecutable, WGSLArtifact } from '../../runtime/webgpu/index.js';

/** what the test serves at /seed.json */
export interface SeedBundle {
  artifact: WGSLArtifact;
  /** the initial state arenas (parameters, zero gradients and moments at their offsets) */
  state: { f32: number[]; i32: number[] };
  inputs: number[][];
  targets: number[][];
  /** PyTorch 1.13's losses */
  losses: number[];
  /** PyTorch's final parameters and where they live in the f32 state arena */
  final: { name: string; offset: number; data: number[] }[];
  tolerance: number;
}

export interface PageResult {
  adapter: string;
  losses: number[];
  maxRelErr: number;
  paramErr: number;
  ok: boolean;
  kernels: number;
  error?: string;
}

const $ = (id: string) => document.getElementById(id)!;

async function main(): Promise<PageResult> {
  const b = (await (await fetch('/seed.json')).json()) as SeedBundle;
  if (!navigator.gpu) throw new Error('navigator.gpu is missing: WebGPU is not enabled');
  const dev = await createWebGPUDevice({ gpu: navigator.gpu });
  $('adapter').textContent = dev.name;
  for (const dt of ['f32', 'i32'] as const) {
    if (!b.state[dt].length) continue;
    dev.ensureState(dt, b.state[dt].length);
    dev.writeState(dt, 0, dt === 'f32' ? Float32Array.from(b.state.f32) : Int32Array.from(b.state.i32));
  }
  const exe = (await dev.load(b.artifact)) as WebGPUExecutable;
  const rows = $('steps');
  const losses: number[] = [];
  let worst = 0;
  for (let k = 0; k < b.losses.length; k++) {
    // no scalars given: the executable runs the manifest's host program (Adam's bias corrections)
    const [loss] = await exe.run([Float32Array.from(b.inputs[k]), Int32Array.from(b.targets[k])]);
    const err = Math.abs(loss[0] - b.losses[k]) / Math.abs(b.losses[k]);
    worst = Math.max(worst, err);
    losses.push(loss[0]);
    const tr = document.createElement('tr');
    tr.className = err <= b.tolerance ? 'ok' : 'bad';
    for (const c of [String(k), loss[0].toFixed(7), b.losses[k].toFixed(7), err.toExponential(2)]) {
      tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    }
    rows.append(tr);
  }
  // final parameters, read back from the device: norm-wise relative error max|a-b| / max|b|
  let paramErr = 0;
  for (const p of b.final) {
    const got = await dev.readState('f32', p.offset, p.data.length);
    const diff = Math.max(...p.data.map((v, i) => Math.abs(got[i] - v))),
      scale = Math.max(...p.data.map(Math.abs));
    paramErr = Math.max(paramErr, diff / scale);
  }
  $('params').textContent = `final parameters: relative error ${paramErr.toExponential(2)}`;
  const ok = worst <= b.tolerance && paramErr <= b.tolerance;
  return { adapter: dev.name, losses, maxRelErr: worst, paramErr, ok, kernels: b.artifact.code.kernels.length };
}

main()
  .then(
    (r) => {
      $('status').textContent =
        `${r.ok ? 'PASS' : 'FAIL'}: ${r.losses.length} steps, max relative error ${r.maxRelErr.toExponential(2)}`;
      return r;
    },
    (e: Error) => {
      $('status').textContent = `ERROR: ${e.message}`;
      return {
        adapter: '',
        losses: [],
        maxRelErr: Infinity,
        paramErr: Infinity,
        ok: false,
        kernels: 0,
        error: String(e.stack ?? e),
      };
    },
  )
  .then((r) => {
    (window as unknown as { kilnResult: PageResult }).kilnResult = r;
    document.body.dataset.done = '1';
  });
