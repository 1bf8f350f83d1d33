// What bench/models.mts's kiln and tfjs sides share: the knobs, the workloads' configurations, their batches
// (the same as bench/models_peer.py's) and the timing loop. No top-level await here: both sides import it.
import { readFileSync } from 'node:fs';
import { Generator, manualSeed } from '../compiler/index.js';
import { BATCH_SIZE, gather, loadDigits, splitIndices } from '../examples/digits-cnn-model.js';
import { CharCodec, getBatch, Gpt, type TrainConfig } from '../examples/char-gpt-model.js';

export const WARMUP = 2;
export const STEPS = Number(process.env.STEPS ?? 10);
export const DROPOUT = Number(process.env.DROPOUT ?? 0.1);
/** the char GPT's configurations: examples/char-gpt.ts's defaults, and issue #12's D128 T64 GPT */
export const GPTS: Record<string, { D: number; H: number; L: number; T: number; B: number }> = {
  gpt: { D: 64, H: 4, L: 4, T: 32, B: 16 },
  gpt128: { D: 128, H: 4, L: 4, T: 64, B: 16 },
};
/** examples/char-gpt.ts's training configuration at its default 600 steps */
export const GPT_TRAIN: TrainConfig = {
  lr: 3e-3,
  minLr: 3e-4,
  warmupIters: 30,
  maxIters: 600,
  weightDecay: 0.1,
  betas: [0.9, 0.95],
  gradClip: 1.0,
};

export type Batch = [Float32Array | Int32Array, Int32Array];

/** n CNN batches: the fixed split's training rows in order, BATCH_SIZE at a time (as bench/models_peer.py) */
export function cnnBatches(n: number): Batch[] {
  const digits = loadDigits();
  const { train } = splitIndices(digits.n);
  const B = BATCH_SIZE;
  return Array.from({ length: n }, (_, k) => {
    const at = (k * B) % (train.length - B);
    return gather(digits, train.subarray(at, at + B));
  });
}

/** the vocabulary and n batches of nanoGPT's get_batch on the first 90% of the text, Generator(7) */
export function gptData(name: string, n: number, rows = GPTS[name].B): { vocab: number; batches: Batch[] } {
  const text = readFileSync(new URL('../examples/data/gpl-3.txt', import.meta.url), 'utf8');
  const codec = new CharCodec(text);
  const all = codec.encode(text);
  const train = all.subarray(0, Math.floor(0.9 * all.length));
  const { T } = GPTS[name];
  const g = new Generator(7);
  return {
    vocab: codec.size,
    batches: Array.from({ length: n }, () => getBatch(train, T, rows, g).slice(0, 2) as Batch),
  };
}

export interface Timing {
  /** compile() alone, and compile() + the first run (the first call) */
  compileMs?: number;
  firstMs: number;
  firstLoss: number;
  medianMs: number;
  kernels?: number;
  launches?: number;
}

/** the first step (timed from `t0`), WARMUP more, then STEPS timed steps: their median */
export async function timeSteps(step: (k: number) => Promise<number>, t0: number): Promise<Timing> {
  const firstLoss = await step(0);
  const firstMs = performance.now() - t0;
  for (let k = 1; k <= WARMUP; k++) await step(k);
  const times: number[] = [];
  for (let k = 1 + WARMUP; k < 1 + WARMUP + STEPS; k++) {
    const t = performance.now();
    await step(k);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianMs = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { firstMs, firstLoss, medianMs };
}

/** the GPT of config `name` from examples/char-gpt.ts's seed (the twin's torch.manual_seed(1337)), training */
export function benchGpt(name: string, vocab: number): { model: Gpt; tokens: { shape: number[]; dtype: 'int32' } } {
  const { D, H, L, T, B } = GPTS[name];
  manualSeed(1337);
  const model = new Gpt({
    vocabSize: vocab,
    blockSize: T,
    nEmbd: D,
    nHead: H,
    nLayer: L,
    dropout: DROPOUT,
    tied: true,
  });
  model.train();
  return { model, tokens: { shape: [B, T], dtype: 'int32' } };
}
