// `await step.sync()` and the upload after `loadStateDict` against TypedArray.prototype.set over the same bytes
// (issue #13 §2): Adam over N parameters (10 tensors), one step, then sync() brings p, grad, exp_avg and
// exp_avg_sq back to the host; loadStateDict + one run sends the parameters back. Median of ROUNDS.
//   npx tsx --conditions=kiln-source bench/sync.mts [native|webgpu] [N=1e7]
import { compile, nn, optim, type Tensor } from '../compiler/index.js';

const target = process.argv[2] ?? 'native';
const N = Number(process.argv[3] ?? 1e7);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const parts = 10;
const params = Array.from(
  { length: parts },
  () => new nn.Parameter({ shape: [N / parts], data: new Float32Array(N / parts).fill(0.5) }),
);
const opt = new optim.Adam(params, { lr: 1e-3 });
const step = await compile(
  (x: Tensor) => {
    opt.zeroGrad();
    params.reduce((acc: Tensor | null, p) => (acc ? acc.add(p.mul(x).sum()) : p.mul(x).sum()), null)!.backward();
    opt.step();
    return x;
  },
  { inputs: [{ shape: [1], dtype: 'float32' }], target },
);
const x = Float32Array.from([1]);
const median = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
const syncMs: number[] = [],
  uploadMs: number[] = [],
  stepMs: number[] = [],
  setMs: number[] = [];
const bytes = 4 * N * 4; // p, grad, exp_avg, exp_avg_sq
const src = new Float32Array(bytes / 4),
  dst = new Float32Array(bytes / 4);
await step.run(x);
for (let r = 0; r < ROUNDS; r++) {
  await step.run(x);
  let t = performance.now();
  await step.sync();
  syncMs.push(performance.now() - t);
  t = performance.now();
  dst.set(src);
  setMs.push(performance.now() - t);
  t = performance.now();
  await step.run(x); // a step alone
  const alone = performance.now() - t;
  const values = new Float32Array(N / parts).fill(0.25);
  for (const p of params) p.data = values; // host writes: the next run uploads them
  t = performance.now();
  await step.run(x); // the upload of N floats, then the step
  uploadMs.push(performance.now() - t - alone);
  stepMs.push(alone);
}
const s = median(syncMs),
  set = median(setMs);
console.log(
  `${target}: Adam over ${N.toExponential(0)} params; sync() of ${(bytes / 1e6).toFixed(0)} MB: ${s.toFixed(1)} ms ` +
    `(${(bytes / 1e6 / s).toFixed(2)} GB/s); TypedArray.set of the same bytes ${set.toFixed(1)} ms: ` +
    `${(s / set).toFixed(2)}x; ` +
    `upload of the ${((4 * N) / 1e6).toFixed(0)} MB of parameters a run makes after host writes ` +
    `${median(uploadMs).toFixed(1)} ms (a step alone ${median(stepMs).toFixed(1)} ms; ` +
    `TypedArray.set of ${((4 * N) / 1e6).toFixed(0)} MB ${(set / 4).toFixed(1)} ms)`,
);
