// jax-js (@jax-js/jax) as a benchmark peer: an MLP training step (Linear, ReLU, ..., Linear; cross-entropy; Adam)
// and Adam alone, written with jax-js's jit + valueAndGrad, on any jax-js device ('webgpu' or 'wasm').
// jax-js has an optimizer library (@jax-js/optax), but it is not a dependency here: Adam is written out in jax-js
// ops, PyTorch's formula (torch.optim.Adam, weight decay 0), inside the same jit as the step.
// Ownership: jax-js arrays are reference-counted and every function consumes its arguments (`x.ref` keeps one).
import { readFileSync } from 'node:fs';
import { init, jit, nn, numpy as np, valueAndGrad, type Device } from '@jax-js/jax';

type A = np.Array;

/** the installed @jax-js/jax's version (its package.json is not in its exports map) */
export function jaxVersion(): string {
  const pkg = new URL('../node_modules/@jax-js/jax/package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
const B1 = 0.9,
  B2 = 0.999,
  EPS = 1e-8;

/**
 * jax-js's WebGPU backend on an existing GPUDevice: jax-js's init('webgpu') asks navigator.gpu for an adapter
 * and the adapter for a device; a navigator whose adapter hands back `device` makes it run on that one.
 */
export async function initJaxWebGPU(device: GPUDevice, adapter: GPUAdapter): Promise<void> {
  const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const shared = {
    limits: adapter.limits,
    features: adapter.features,
    info: adapter.info,
    requestDevice: async () => device,
  };
  const gpu = { requestAdapter: async () => shared };
  // jax-js reads navigator.userAgent (browser checks) while it prepares kernels: a fixed string
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'Node.js' }, configurable: true });
  try {
    const got = await init('webgpu');
    if (!got.includes('webgpu')) throw new Error(`jax-js init('webgpu') gave ${got.join(', ')}`);
  } finally {
    // back to what it was, plus the userAgent jax-js keeps reading
    const old = (nav?.value ?? {}) as object;
    Object.defineProperty(globalThis, 'navigator', { value: { ...old, userAgent: 'Node.js' }, configurable: true });
  }
}

/** torch.optim.Adam's step-dependent scalars, in double as PyTorch computes them: [lr / bc1, sqrt(bc2)] */
function adamScalars(t: number, lr: number): [number, number] {
  return [lr / (1 - B1 ** t), Math.sqrt(1 - B2 ** t)];
}

/** one parameter's Adam update: [p', m', v'] (consumes p, g, m, v, ss, bs) */
function adamLeaf(p: A, g: A, m: A, v: A, ss: A, bs: A): [A, A, A] {
  const m2 = m.mul(B1).add(g.ref.mul(1 - B1));
  const v2 = v.mul(B2).add(g.ref.mul(g).mul(1 - B2));
  const den = np.sqrt(v2.ref).div(bs).add(EPS);
  return [p.sub(m2.ref.div(den).mul(ss)), m2, v2];
}

/** Adam over every leaf (consumes all of its arguments) */
function adamAll(ps: A[], gs: A[], ms: A[], vs: A[], ss: A, bs: A): [A[], A[], A[]] {
  const out: [A[], A[], A[]] = [[], [], []];
  ps.forEach((p, i) => {
    const [p2, m2, v2] = adamLeaf(p, gs[i], ms[i], vs[i], ss.ref, bs.ref);
    out[0].push(p2);
    out[1].push(m2);
    out[2].push(v2);
  });
  ss.dispose();
  bs.dispose();
  return out;
}

export interface JaxStep {
  /** one step; resolves when the device has finished it (the MLP: with its loss read back) */
  step(x?: Float32Array, y?: Int32Array): Promise<number>;
  /** the parameters now, read back */
  params(): Promise<Float32Array[]>;
  dispose(): void;
}

const arr = (d: Float32Array, shape: number[], device: Device) => np.array(d, { shape, device });

/**
 * An MLP's training step: layers[i] = [weight (out x in, PyTorch's layout), bias]; loss = mean cross-entropy;
 * Adam lr. One jit: forward, backward (valueAndGrad) and the update; x, y uploaded and the loss read back.
 */
export function jaxMlpStep(
  layers: { weight: Float32Array; bias: Float32Array; shape: [number, number] }[],
  opts: { lr: number; batch: number; device: Device },
): JaxStep {
  const { device, batch } = opts;
  const classes = layers[layers.length - 1].shape[0],
    inputs = layers[0].shape[1];
  let ps: A[] = layers.flatMap((l) => [arr(l.weight, l.shape, device), arr(l.bias, [l.shape[0]], device)]);
  let ms: A[] = ps.map((p) => np.zeros(p.shape, { device }));
  let vs: A[] = ps.map((p) => np.zeros(p.shape, { device }));
  const loss = (params: A[], x: A, y: A): A => {
    let h = x;
    for (let i = 0; i < params.length; i += 2) {
      h = np.matmul(h, params[i].transpose()).add(params[i + 1]);
      if (i + 2 < params.length) h = nn.relu(h);
    }
    const picked = nn.logSoftmax(h).mul(nn.oneHot(y, classes)).sum(-1);
    return picked.mean().mul(-1);
  };
  const fn = jit(
    (params: A[], m: A[], v: A[], x: A, y: A, ss: A, bs: A) => {
      const [l, grads] = valueAndGrad(loss)(
        params.map((p) => p.ref),
        x,
        y,
      );
      return [l, ...adamAll(params, grads, m, v, ss, bs)];
    }, // runs where its inputs are (JitOpts has no device in this version)
  );
  let t = 0;
  return {
    async step(x, y) {
      const [ss, bs] = adamScalars(++t, opts.lr);
      const xa = arr(x!, [batch, inputs], device),
        ya = np.array(y!, { dtype: np.int32, device });
      const [l, p2, m2, v2] = fn(ps, ms, vs, xa, ya, np.array(ss, { device }), np.array(bs, { device })) as [
        A,
        A[],
        A[],
        A[],
      ];
      [ps, ms, vs] = [p2, m2, v2];
      return (await l.data())[0];
    },
    params: () => Promise.all(ps.map(async (p) => (await p.ref.data()) as Float32Array)),
    dispose() {
      [...ps, ...ms, ...vs].forEach((a) => a.dispose());
      fn.dispose();
    },
  };
}

/** Adam alone over `params` (gradients `grads` resident on the device, not consumed); `finish` waits for the device */
export function jaxAdam(
  params: Float32Array[],
  grads: Float32Array[],
  opts: { lr: number; device: Device; finish?: () => Promise<void> },
): JaxStep {
  const { device } = opts;
  let ps: A[] = params.map((p) => arr(p, [p.length], device));
  let ms: A[] = ps.map((p) => np.zeros(p.shape, { device }));
  let vs: A[] = ps.map((p) => np.zeros(p.shape, { device }));
  const gs: A[] = grads.map((g) => arr(g, [g.length], device));
  const fn = jit((p: A[], g: A[], m: A[], v: A[], ss: A, bs: A) => adamAll(p, g, m, v, ss, bs));
  let t = 0;
  return {
    async step() {
      const [ss, bs] = adamScalars(++t, opts.lr);
      const g = gs.map((a) => a.ref);
      [ps, ms, vs] = fn(ps, g, ms, vs, np.array(ss, { device }), np.array(bs, { device })) as [A[], A[], A[]];
      await ps[0].blockUntilReady(); // one program: this submits all of its kernels and waits for them
      await opts.finish?.();
      return NaN;
    },
    params: () => Promise.all(ps.map(async (p) => (await p.ref.data()) as Float32Array)),
    dispose() {
      [...ps, ...ms, ...vs, ...gs].forEach((a) => a.dispose());
      fn.dispose();
    },
  };
}
