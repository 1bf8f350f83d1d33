// kiln vs TensorFlow.js (tfjs-backend-webgpu 4.22) and jax-js (webgpu backend) on ONE Dawn device, in one
// run: the seed's training step (10-5-2 MLP, cross-entropy, Adam; inputs uploaded and the loss read back every
// step) and the Adam update at 1e4-1e7 parameters (one tensor, and ten of 1e5), gradients already on the
// device. Per step = wall time of a step including waiting for the GPU; kernels = compute dispatches per step,
// counted by wrapping GPUComputePassEncoder.dispatchWorkgroups.
//   npx tsx bench/webgpu.ts                                  # Dawn on Mesa llvmpipe (OpenGL ES)
//   KILN_WEBGPU_BACKEND=swiftshader npx tsx bench/webgpu.ts  # Dawn on SwiftShader (Vulkan)
// tfjs runs with WEBGPU_CPU_FORWARD=false, so its small ops stay on the GPU like kiln's. jax-js: bench/jaxjs-peer.ts
// (its jit + valueAndGrad, Adam written in its ops), its init('webgpu') handed the same GPUDevice.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { compile, nn, optim, registerBackend, type Tensor } from '../compiler/index.js';
import { createWebGPUBackend } from '../compiler/targets/webgpu.js';
import { createWebGPUDevice, SWIFTSHADER_ICDS } from '../runtime/webgpu/index.js';
import { compileSeed, seedSetup } from '../test/helpers/seed.js';
import { registerTfjsGradients } from './tfjs-gradients.js';
import { handAdam } from './adam-wgsl.js';
import { initJaxWebGPU, jaxAdam, jaxMlpStep, jaxVersion } from './jaxjs-peer.js';

await registerTfjsGradients();

const BACKEND = process.env.KILN_WEBGPU_BACKEND ?? 'llvmpipe';
const ROUNDS = 5;

// ---- one Dawn GPU, handed to both libraries as navigator.gpu; one GPUDevice shared by both ----
if (BACKEND === 'llvmpipe') process.env.EGL_PLATFORM ??= 'surfaceless';
else process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICDS.find((p) => existsSync(p));
const gpu = create([`backend=${BACKEND === 'llvmpipe' ? 'opengles' : 'vulkan'}`]);
Object.assign(globalThis, globals); // GPUBufferUsage & co., which tfjs reads as globals
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
const dev = await createWebGPUDevice({ gpu, featureLevel: BACKEND === 'llvmpipe' ? 'compatibility' : 'core' });
registerBackend('webgpu:bench', () => createWebGPUBackend({ name: 'webgpu:bench', device: dev }));
tf.env().set('WEBGPU_CPU_FORWARD', false);
if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu'); // its own device: not this one
tf.registerBackend('webgpu', async () => new WebGPUBackend(dev.device, dev.adapter.info));
await tf.setBackend('webgpu');
const tfb = tf.backend() as unknown as { commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void };
const TARGET = 'webgpu:bench';
await initJaxWebGPU(dev.device, dev.adapter);
const gpuDone = () => dev.device.queue.onSubmittedWorkDone();

// ---- dispatch counter ----
let dispatches = 0;
const passProto = (globals as unknown as { GPUComputePassEncoder: { prototype: GPUComputePassEncoder } })
  .GPUComputePassEncoder.prototype;
const dispatch = passProto.dispatchWorkgroups;
passProto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof dispatch>) {
  dispatches++;
  return dispatch.apply(this, a);
};

/** tfjs batches dispatches into a pending command buffer: submit it and wait for the GPU */
async function tfFinish(): Promise<void> {
  if (tfb.commandEncoder) {
    tfb.endComputePassEncoder();
    tfb.submitQueue();
  }
  await dev.device.queue.onSubmittedWorkDone();
}

/** median over rounds of seconds per step, and dispatches per step */
async function measure(step: (k: number) => Promise<unknown>, steps: number): Promise<{ s: number; kernels: number }> {
  for (let k = 0; k < 3; k++) await step(k); // warm-up: pipelines, buffer pools
  const d0 = dispatches;
  await step(3);
  const kernels = dispatches - d0;
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let k = 0; k < steps; k++) await step(k);
    times.push((performance.now() - t) / 1e3 / steps);
  }
  return { s: times.sort((a, b) => a - b)[ROUNDS >> 1], kernels };
}

const rand = (n: number, seed: number) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
};
const rows: string[][] = [['workload', 'library', 'per step', 'kernels/step', 'check']];
const ms = (s: number) => `${(s * 1e3).toFixed(3)} ms`;

// ---- the seed's training step ----
{
  const s = seedSetup('seed_example');
  const g = s.golden,
    n = g.losses.length;
  const step = await compileSeed(s, TARGET);
  const kLoss: number[] = [];
  for (let k = 0; k < n; k++) kLoss.push((await step.run(...s.batch(k))).item());
  const kErr = Math.max(...kLoss.map((l, k) => Math.abs(l - g.losses[k]) / g.losses[k]));
  const r = await measure((k) => step.run(...s.batch(k % n)), 50);
  rows.push([
    'seed step (1x10 -> 5 -> 2, Adam)',
    'kiln',
    ms(r.s),
    String(r.kernels),
    `loss vs PyTorch ${kErr.toExponential(1)}`,
  ]);

  const v = (k: string, shape: number[]) => tf.variable(tf.tensor(g.init[k].data, shape));
  const [w1, b1, w2, b2] = [v('0.weight', [5, 10]), v('0.bias', [5]), v('2.weight', [2, 5]), v('2.bias', [2])];
  const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const tfStep = async (k: number) => {
    const loss = tf.tidy(() =>
      opt.minimize(() => {
        const x = tf.tensor2d(g.inputs[k % n].data, [1, 10]),
          y = tf.tensor1d(g.targets[k % n].data, 'int32');
        const h = tf.relu(tf.add(tf.matMul(x, w1, false, true), b1));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), tf.add(tf.matMul(h, w2, false, true), b2)) as tf.Scalar;
      }, true)!,
    );
    const out = (await loss.data())[0];
    loss.dispose();
    return out;
  };
  const tLoss: number[] = [];
  for (let k = 0; k < n; k++) tLoss.push(await tfStep(k));
  const tErr = Math.max(...tLoss.map((l, k) => Math.abs(l - g.losses[k]) / g.losses[k]));
  const t = await measure(tfStep, 50);
  rows.push(['', 'tfjs', ms(t.s), String(t.kernels), `loss vs PyTorch ${tErr.toExponential(1)}`]);
  opt.dispose();

  // jax-js: one jit of forward, valueAndGrad and Adam; x, y uploaded and the loss read back every step
  const layer = (i: number, shape: [number, number]) => ({
    weight: Float32Array.from(g.init[`${i}.weight`].data),
    bias: Float32Array.from(g.init[`${i}.bias`].data),
    shape,
  });
  const jx = jaxMlpStep([layer(0, [5, 10]), layer(2, [2, 5])], { lr: 1e-3, batch: 1, device: 'webgpu' });
  const jLoss: number[] = [];
  for (let k = 0; k < n; k++) jLoss.push(await jx.step(...s.batch(k)));
  const jErr = Math.max(...jLoss.map((l, k) => Math.abs(l - g.losses[k]) / g.losses[k]));
  const j = await measure((k) => jx.step(...s.batch(k % n)), 50);
  rows.push(['', 'jax-js', ms(j.s), String(j.kernels), `loss vs PyTorch ${jErr.toExponential(1)}`]);
  jx.dispose();
}

// ---- Adam at 1e6 parameters, gradients resident on the device ----
for (const [count, size] of [
  [1, 1e4],
  [1, 1e6],
  [10, 1e5],
  [1, 1e7],
]) {
  const steps = size >= 1e7 ? 5 : 20;
  const params = Array.from({ length: count }, (_, i) => new nn.Parameter({ shape: [size], data: rand(size, i + 1) }));
  const grads = Array.from(
    { length: count },
    (_, i) => new nn.Parameter({ shape: [size], data: rand(size, 100 + i) }, false),
  );
  const opt = new optim.Adam(params, { lr: 1e-3 });
  const label = `Adam, ${count} x ${size.toExponential(0)} params`;
  let r = { s: NaN, kernels: 0 };
  try {
    const step = await compile(
      () => {
        params.forEach((p, i) => {
          p.grad = grads[i] as Tensor;
        });
        opt.step();
      },
      { inputs: [], target: TARGET },
    );
    r = await measure(() => step.run(), steps);
    await step.sync(); // tfjs starts from the values kiln's runs left on the device (p.data below)
    rows.push([
      label,
      'kiln',
      ms(r.s),
      String(r.kernels),
      `${((28 * count * size) / r.s / 1e9).toFixed(2)} GB/s (28 B/param)`,
    ]);
  } catch (e) {
    // a kernel whose own access spans more than one binding (128 MiB) is refused (targets/wgsl/windows.ts)
    rows.push([label, 'kiln', 'refused', '', (e as Error).message.replace(/^webgpu: /, '').slice(0, 90)]);
  }
  if (count === 1) {
    // the ceiling: one hand-written fused kernel over the same number of parameters, same device
    const hand = handAdam(dev.device, size, (i) => (i ? grads[0].data : params[0].data));
    const hr = await measure(() => hand.step(), steps);
    hand.destroy();
    const vs = Number.isNaN(r.s) ? '' : `kiln / hand = ${(r.s / hr.s).toFixed(2)}x`;
    rows.push(['', 'hand WGSL', ms(hr.s), String(hr.kernels), vs]);
  }

  const vars = params.map((p, i) => tf.variable(tf.tensor1d(p.data), true, `adam${count}_${i}`));
  const gts = grads.map((gr) => tf.tensor1d(gr.data));
  const topt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const named = vars.map((v, i) => ({ name: v.name, tensor: gts[i] }));
  const t = await measure(async () => {
    topt.applyGradients(named);
    await tfFinish();
  }, steps);
  rows.push([
    '',
    'tfjs',
    ms(t.s),
    String(t.kernels),
    `${((28 * count * size) / t.s / 1e9).toFixed(2)} GB/s (28 B/param)`,
  ]);
  topt.dispose();
  vars.forEach((x) => x.dispose());
  gts.forEach((x) => x.dispose());

  // jax-js: one jit of the update over every tensor; each step waits for its program to finish
  const jx = jaxAdam(
    params.map((p) => p.data as Float32Array),
    grads.map((gr) => gr.data as Float32Array),
    { lr: 1e-3, device: 'webgpu', finish: gpuDone },
  );
  const j = await measure(() => jx.step(), steps);
  jx.dispose();
  const jGBs = `${((28 * count * size) / j.s / 1e9).toFixed(2)} GB/s (28 B/param)`;
  rows.push(['', 'jax-js', ms(j.s), String(j.kernels), jGBs]);
}

console.log(
  `kiln vs TensorFlow.js ${tf.version_core} and jax-js ${jaxVersion()} (webgpu backends), one shared GPUDevice: ` +
    `Dawn ${BACKEND}, ${dev.name.replace(/^webgpu:browser:/, '')}`,
);
console.log(
  `median of ${ROUNDS} rounds; per step includes waiting for the GPU ` + '(seed: upload x, y and read the loss back)',
);
const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((x, j) => (j >= 2 && j <= 3 ? x.padStart(w[j]) : x.padEnd(w[j]))).join('  '));
console.log(`reproduce: ${BACKEND === 'llvmpipe' ? '' : `KILN_WEBGPU_BACKEND=${BACKEND} `}npx tsx bench/webgpu.ts`);
process.exit(0); // Dawn keeps the event loop alive
