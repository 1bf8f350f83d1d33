// The char GPT's training step (examples/char-gpt-model.ts, 4 blocks D64 T32 B16, AdamW + clipping):
// compile time, ms per step, and the kernels moving the most bytes.
//   npx tsx --conditions=kiln-source bench/gpt-probe.mts [dropout=0] [target=native]
//   env STEPS=20 B=16 T=32 D=64 H=4 L=4
//   PROFILE=25: also the 25 slowest kernels, each timed alone beside the whole step (native)
import { compile, Generator, manualSeed, type Tensor } from '../compiler/index.js';
import { CharCodec, getBatch, Gpt, makeOptimizer, trainStepFn } from '../examples/char-gpt-model.js';
import { readFileSync } from 'node:fs';
const [dropout, target] = [Number(process.argv[2] ?? '0'), process.argv[3] ?? 'native'];
const text = readFileSync(new URL('../examples/data/gpl-3.txt', import.meta.url), 'utf8');
const codec = new CharCodec(text);
const data = codec.encode(text);
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const B = env('B', 16),
  T = env('T', 32);
manualSeed(1);
const model = new Gpt({
  vocabSize: codec.size,
  blockSize: T,
  nEmbd: env('D', 64),
  nHead: env('H', 4),
  nLayer: env('L', 4),
  dropout,
  tied: true,
});
const tc = {
  lr: 3e-3,
  minLr: 3e-4,
  warmupIters: 5,
  maxIters: 100,
  weightDecay: 0.1,
  betas: [0.9, 0.95] as [number, number],
  gradClip: 1,
};
const opt = makeOptimizer(model, tc);
let t0 = performance.now();
const step = await compile(trainStepFn(model, opt, tc), {
  inputs: [
    { shape: [B, T], dtype: 'int32' },
    { shape: [B, T], dtype: 'int32' },
  ],
  target,
});
console.log('compile', ((performance.now() - t0) / 1000).toFixed(1));
const g = new Generator(7);
for (let i = 0; i < 3; i++) await step.run(...(getBatch(data, T, B, g).slice(0, 2) as [Int32Array, Int32Array]));
t0 = performance.now();
const N = Number(process.env.STEPS ?? 20);
for (let i = 0; i < N; i++) await step.run(...(getBatch(data, T, B, g).slice(0, 2) as [Int32Array, Int32Array]));
console.log('ms/step', ((performance.now() - t0) / N).toFixed(1));
const st = step.stats();
console.log('kernels', st.kernels, 'MB/run', (st.bytesPerRun / 1e6).toFixed(1));
const pk = [...st.perKernel].map((k: any) => ({
  n: k.name,
  f: k.flops,
  b: k.bytesRead + k.bytesWritten,
  r: k.reason,
  ms: k.ms ?? k.timeMs,
}));
pk.sort((a, b) => b.b - a.b);
for (const k of pk.slice(0, 12))
  console.log(k.n, (k.f / 1e6).toFixed(2), 'MFLOP', (k.b / 1e6).toFixed(2), 'MB', k.ms ?? '', String(k.r).slice(0, 80));
if (process.env.PROFILE && target === 'native') {
  // each kernel alone beside the whole step (bench/timing.ts): the slowest first
  await (await import('./timing.js')).printKernelProfile(step, Number(process.env.PROFILE) || 25);
}
