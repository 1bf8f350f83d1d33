// The char GPT (examples/char-gpt-model.ts) in TensorFlow.js for bench/models.mts: the same pre-norm blocks
// (causal attention, exact-erf GELU MLP), tied head, dropout, cross-entropy; then what kiln's compiled step
// does after backward: global-norm clipping, AdamW (decoupled decay on the matrices only, betas 0.9/0.95) with
// the example's warm-up + cosine learning rate. tfjs has neither AdamW nor clipping: written out here from
// tf.variableGrads, the decay as p *= 1 - lr * wd before tf.train.adam's update (PyTorch's order).
import * as tf from '@tensorflow/tfjs-core';
import { manualSeed } from '../compiler/index.js';
import { Gpt, makeOptimizer, makeScheduler } from '../examples/char-gpt-model.js';
import { DROPOUT, GPT_TRAIN, GPTS, gptData, STEPS, timeSteps, WARMUP, type Timing } from './models-common.mjs';

/** a tfjs variable holding kiln's initial value of a parameter, optionally permuted */
export function fromKiln(p: { data: ArrayLike<number>; shape: number[] }, perm?: number[]): tf.Variable {
  const t = tf.tensor(Float32Array.from(p.data), p.shape);
  const v = tf.variable(perm ? tf.transpose(t, perm) : t);
  t.dispose();
  return v;
}

export async function tfGpt(name: string): Promise<Timing> {
  const { D, H, L, T, B } = GPTS[name];
  const hs = D / H;
  const { vocab, batches } = gptData(name, 1 + WARMUP + STEPS);
  manualSeed(1337); // kiln's initial weights, the same as the twin's
  const ref = new Gpt({ vocabSize: vocab, blockSize: T, nEmbd: D, nHead: H, nLayer: L, dropout: DROPOUT, tied: true });
  // kiln's optimizer object only carries the schedule here: its paramGroups[0].lr, stepped on the host
  const schedOpt = makeOptimizer(ref, GPT_TRAIN);
  const scheduler = makeScheduler(schedOpt, GPT_TRAIN);
  const P: Record<string, tf.Variable> = {};
  for (const [k, p] of ref.namedParameters()) P[k] = fromKiln(p);
  const decay = Object.keys(P).filter((k) => P[k].shape.length >= 2);
  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9)); // -1e9 above
  const drop = (x: tf.Tensor) => (DROPOUT > 0 ? tf.dropout(x, DROPOUT) : x);
  const ln = (x: tf.Tensor, pre: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const norm = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(norm, P[`${pre}.weight`]), P[`${pre}.bias`]);
  };
  const lin = (x: tf.Tensor, pre: string) =>
    tf.add(tf.matMul(x as tf.Tensor2D, P[`${pre}.weight`] as tf.Tensor2D, false, true), P[`${pre}.bias`]);
  const heads = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]), [B * H, T, hs]);
  const forward = (idx: tf.Tensor1D) => {
    // x stays [B*T, D] between the blocks
    const emb = tf.add(tf.reshape(tf.gather(P['wte.weight'], idx), [B, T, D]), P['wpe.weight']);
    let x = drop(tf.reshape(emb, [B * T, D]));
    for (let i = 0; i < L; i++) {
      const p = `h.${i}`;
      const [q, k, v] = tf.split(lin(ln(x, `${p}.ln1`), `${p}.attn.cAttn`), 3, 1).map(heads);
      const scores = tf.mul(tf.matMul(q as tf.Tensor3D, k as tf.Tensor3D, false, true), 1 / Math.sqrt(hs));
      const att = tf.add(tf.reshape(scores, [B, H, T, T]), mask);
      const probs = tf.reshape(drop(tf.softmax(att)), [B * H, T, T]) as tf.Tensor3D;
      const y = tf.transpose(tf.reshape(tf.matMul(probs, v as tf.Tensor3D), [B, H, T, hs]), [0, 2, 1, 3]);
      x = tf.add(x, drop(lin(tf.reshape(y, [B * T, D]), `${p}.attn.cProj`)));
      const h = lin(ln(x, `${p}.ln2`), `${p}.mlp.cFc`);
      const gelu = tf.mul(tf.mul(h, 0.5), tf.add(tf.erf(tf.mul(h, Math.SQRT1_2)), 1));
      x = tf.add(x, drop(lin(gelu, `${p}.mlp.cProj`)));
    }
    return tf.matMul(ln(x, 'lnF') as tf.Tensor2D, P['wte.weight'] as tf.Tensor2D, false, true); // the tied head
  };
  const { betas, gradClip, weightDecay } = GPT_TRAIN;
  const adam = tf.train.adam(schedOpt.paramGroups[0].lr as number, betas[0], betas[1], 1e-8);
  const step = async (k: number) => {
    const [x, y] = batches[k];
    const lr = schedOpt.paramGroups[0].lr as number;
    (adam as unknown as { learningRate: number }).learningRate = lr;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = forward(tf.tensor1d(x as Int32Array, 'int32'));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(y, 'int32'), vocab), logits) as tf.Scalar;
      }, Object.values(P));
      // clip_grad_norm_: scale by clip / (norm + 1e-6) where that is below 1 (a chain of adds: tf.addN of 53
      // tensors needs 53 storage buffers in one shader, over llvmpipe's 16)
      const norm = tf.sqrt(
        Object.values(grads)
          .map((g) => tf.sum(tf.square(g)))
          .reduce((a, b) => tf.add(a, b)),
      );
      const scale = tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6)));
      for (const key of decay) P[key].assign(tf.mul(P[key], 1 - lr * weightDecay));
      adam.applyGradients(Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, tf.mul(g, scale)])));
      return value;
    });
    const out = (await loss.data())[0];
    loss.dispose();
    scheduler.step();
    return out;
  };
  const r = await timeSteps(step, performance.now());
  adam.dispose();
  tf.dispose([...Object.values(P), mask]);
  return r;
}
