// Buffers past one storage binding (maxStorageBufferBindingSize) are bound as windows (targets/wgsl/windows.ts):
// with the limit lowered to 400 kB the state arena here is past it, and training on webgpu must give the
// numbers of whole bindings (and the reference's); each window starts 256-byte aligned, never overlaps another
// of its buffer, and stays within the limit. (An Adam over 1e7 parameters, 160 MB of state, runs this way at
// the real 128 MiB limit: bench/webgpu.ts.)
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, registerBackend } from '../compiler/index.js';
import { trainingStep } from './helpers/seed.js';
import { createWebGPUBackend } from '../compiler/targets/webgpu.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { buildWGSL } from '../targets/wgsl/index.js';

// 400 kB: each role of the optimizer's state (all weights, all grads, ...: 78k floats each, 256-byte aligned as
// every placement of 64k elements or more is) fits one window; the arena of four roles does not
const LIMIT = 400_000;
registerBackend('webgpu:windows', () =>
  createWebGPUBackend({ name: 'webgpu:windows', wgsl: { maxBindingBytes: LIMIT } }),
);

async function train(target: string) {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(256, 300), new nn.ReLU(), new nn.Linear(300, 3));
  const crit = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const step = await compile(trainingStep(model, crit, opt), {
    inputs: [
      { shape: [8, 256], dtype: 'float32' },
      { shape: [8], dtype: 'int32' },
    ],
    target,
  });
  const losses: number[] = [];
  for (let s = 0; s < 5; s++) {
    const x = Float32Array.from({ length: 8 * 256 }, (_, i) => Math.sin(i * 0.3 + s));
    const y = Int32Array.from({ length: 8 }, (_, i) => (i + s) % 3);
    losses.push((await step.run(x, y)).item());
  }
  await step.sync();
  return { losses, weights: Object.values(model.stateDict()).flatMap((v) => Array.from(v.data)), step };
}

describe('binding windows', () => {
  it('training with the state arena past the binding limit gives the numbers of whole bindings', async () => {
    const ref = await train('reference');
    const whole = await train('webgpu');
    const win = await train('webgpu:windows');
    // windows change where a kernel indexes, not what it computes: the same numbers as whole bindings
    expect(win.losses).toEqual(whole.losses);
    expect(win.weights).toEqual(whole.weights);
    win.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i])).toBeLessThan(1e-4));
    // the kernels really were windowed: aligned, disjoint, within the limit
    const kp = schedule(win.step.programs[0].graph, new StateLayout());
    const art = buildWGSL(kp, { maxBindingBytes: LIMIT });
    const windows = art.code.kernels.flatMap((k) => k.bindings.filter((b) => b.size !== undefined));
    expect(windows.length).toBeGreaterThan(0);
    expect(art.code.requirements.maxStorageBufferBindingSize).toBeLessThanOrEqual(LIMIT);
    for (const k of art.code.kernels) {
      const mine = k.bindings.filter((b) => b.size !== undefined).sort((a, b) => a.offset! - b.offset!);
      for (const [i, w] of mine.entries()) {
        expect(w.offset! % 256).toBe(0);
        expect(w.size!).toBeLessThanOrEqual(LIMIT);
        const next = mine[i + 1];
        if (next && next.buf === w.buf) expect(w.offset! + w.size!).toBeLessThanOrEqual(next.offset!);
      }
    }
  });

  it('refuses, naming the access, a load whose own span is larger than one binding', () => {
    manualSeed(0);
    const p = new nn.Parameter({ shape: [200_000], data: new Float32Array(200_000) });
    const opt = new optim.SGD([p], { lr: 0.1 });
    return compile(
      () => {
        p.grad = p.mul(2);
        opt.step();
      },
      { inputs: [], target: 'reference' },
    ).then((step) => {
      const kp = schedule(step.programs[0].graph, new StateLayout());
      expect(() => buildWGSL(kp, { maxBindingBytes: LIMIT })).toThrow(/more than one storage binding may hold/);
    });
  });
});
