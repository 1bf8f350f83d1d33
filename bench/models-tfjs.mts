// TensorFlow.js 4.22's side of bench/models.mts (webgpu backend), loaded by bench/models-kiln.mts in its 'webgpu'
// child only: one Dawn GPU (llvmpipe, as kiln's Node default) as navigator.gpu and ONE GPUDevice shared by kiln's
// target and tfjs's WebGPUBackend (set up as bench/webgpu.ts does, gradients registered the same way).
// The models start from kiln's initial weights (the same manualSeed), and see the same batches as kiln's side.
import { create, globals } from 'webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { manualSeed, registerBackend } from '../compiler/index.js';
import { createWebGPUBackend } from '../compiler/targets/webgpu.js';
import { createWebGPUDevice } from '../runtime/webgpu/index.js';
import { BATCH_SIZE, CLASSES, DigitsCNN, DROPOUT as CNN_DROPOUT, LR as CNN_LR } from '../examples/digits-cnn-model.js';
import { cnnBatches, STEPS, timeSteps, WARMUP, type Timing } from './models-common.mjs';
import { fromKiln, tfGpt } from './models-tfjs-gpt.mjs';
import { registerTfjsGradients } from './tfjs-gradients.js';

export const TARGET = 'webgpu:bench';

/** the shared device: kiln's target TARGET on it, and tfjs's 'webgpu' backend on it */
export async function setup(): Promise<{ name: string; target: string; tfjsVersion: string }> {
  await registerTfjsGradients();
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create(['backend=opengles']);
  Object.assign(globalThis, globals); // GPUBufferUsage & co., which tfjs reads as globals
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const dev = await createWebGPUDevice({ gpu, featureLevel: 'compatibility' });
  registerBackend(TARGET, () => createWebGPUBackend({ name: TARGET, device: dev }));
  tf.env().set('WEBGPU_CPU_FORWARD', false); // small ops stay on the GPU, like kiln's
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => new WebGPUBackend(dev.device, dev.adapter.info));
  await tf.setBackend('webgpu');
  return { name: dev.name.replace(/^webgpu:browser:/, ''), target: TARGET, tfjsVersion: tf.version_core };
}

/** the digits CNN in tfjs (NHWC): conv (no bias), batch norm in training mode with running statistics, relu,
 * max pool, twice; flatten in kiln's (C, H, W) order; dropout; linear; softmax cross-entropy; Adam(LR) */
async function tfCnn(): Promise<Timing> {
  const batches = cnnBatches(1 + WARMUP + STEPS);
  manualSeed(0);
  const P = Object.fromEntries(new DigitsCNN().namedParameters());
  const conv = (k: string) => fromKiln(P[k], [2, 3, 1, 0]); // [out, in, kh, kw] -> [kh, kw, in, out]
  const [w1, w2] = [conv('conv1.weight'), conv('conv2.weight')];
  const [g1, b1, g2, b2] = ['bn1.weight', 'bn1.bias', 'bn2.weight', 'bn2.bias'].map((k) => fromKiln(P[k]));
  const [fcW, fcB] = [fromKiln(P['fc.weight']), fromKiln(P['fc.bias'])];
  const running = [8, 16].map((c) => ({
    mean: tf.variable(tf.zeros([c]), false),
    v: tf.variable(tf.ones([c]), false),
  }));
  const opt = tf.train.adam(CNN_LR, 0.9, 0.999, 1e-8);
  const B = BATCH_SIZE;
  let stash: tf.Tensor[] = [];
  const bn = (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    stash.push(tf.keep(mean), tf.keep(variance));
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b) as tf.Tensor4D;
  };
  const forward = (x: tf.Tensor4D) => {
    let h = tf.maxPool(tf.relu(bn(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), g1, b1)), 2, 2, 'valid');
    h = tf.maxPool(tf.relu(bn(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), g2, b2)), 2, 2, 'valid');
    const flat = tf.dropout(tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [B, 64]), CNN_DROPOUT);
    return tf.add(tf.matMul(flat, fcW, false, true), fcB);
  };
  const step = async (k: number) => {
    const [x, y] = batches[k];
    stash = [];
    const loss = tf.tidy(() =>
      opt.minimize(() => {
        // [B, 1, 8, 8] and [B, 8, 8, 1] are the same array when C = 1
        const logits = forward(tf.tensor4d(x as Float32Array, [B, 8, 8, 1]));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(y, 'int32'), CLASSES), logits) as tf.Scalar;
      }, true)!,
    );
    tf.tidy(() => {
      // batch norm's running statistics, momentum 0.1, the unbiased batch variance (PyTorch's and kiln's rule)
      running.forEach((r, i) => {
        const n = (B * 64) / 4 ** i;
        r.mean.assign(tf.add(tf.mul(r.mean, 0.9), tf.mul(stash[2 * i], 0.1)));
        r.v.assign(tf.add(tf.mul(r.v, 0.9), tf.mul(stash[2 * i + 1], (0.1 * n) / (n - 1))));
      });
    });
    tf.dispose(stash);
    const out = (await loss.data())[0];
    loss.dispose();
    return out;
  };
  const r = await timeSteps(step, performance.now());
  opt.dispose();
  return r;
}

export async function run(m: string): Promise<Timing> {
  return m === 'cnn' ? tfCnn() : tfGpt(m);
}
