// examples/char-gpt-model.ts against its PyTorch twin's golden (examples/char_gpt.py --golden, committed
// as test/fixtures/examples/char-gpt.json): builds the GPT from kiln's own manualSeed init, trains it on
// one target for the golden's steps with the example's AdamW groups, schedule and clipping, then samples
// with a compiled inference function. The tests compare every number with PyTorch's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { compile, Generator, manualSeed, noGrad, type Tensor } from '../../compiler/index.js';
import {
  CharCodec,
  getBatch,
  Gpt,
  makeOptimizer,
  makeScheduler,
  sampleToken,
  trainStepFn,
  type TrainConfig,
} from '../../examples/char-gpt-model.js';
import { maxRelErr, relErr } from './golden.js';

const here = path.dirname(fileURLToPath(import.meta.url));
interface B64Tensor {
  shape: number[];
  b64: string;
}
export interface GptVariantGolden {
  losses: number[];
  norms: number[];
  lrs: number[];
  ix: number[][];
  final: Record<string, B64Tensor>;
  sample: string;
}
export interface GptGolden {
  torch: string;
  seed: number;
  dataSeed: number;
  sampleSeed: number;
  steps: number;
  config: { vocab_size: number; block_size: number; n_embd: number; n_head: number; n_layer: number };
  train: {
    lr: number;
    min_lr: number;
    warmup_iters: number;
    max_iters: number;
    weight_decay: number;
    betas: [number, number];
    grad_clip: number;
    batch_size: number;
  };
  init: Record<string, B64Tensor>;
  variants: Record<'tied' | 'untied', GptVariantGolden>;
}

export const gptGolden = (): GptGolden =>
  JSON.parse(readFileSync(path.join(here, '../fixtures/examples/char-gpt.json'), 'utf8')) as GptGolden;
export const gptText = (): string => readFileSync(path.join(here, '../../examples/data/gpl-3.txt'), 'utf8');

export const floats = (t: B64Tensor): Float32Array => {
  const bytes = Buffer.from(t.b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
/** kiln's camelCase module fields as the twin's snake_case state dict keys (cProj -> c_proj, ln1 -> ln_1) */
export const torchKey = (k: string): string => k.replace(/([a-z])([A-Z0-9])/g, '$1_$2').toLowerCase();

export interface GptRun {
  /** kiln's state dict right after construction (before any step), by PyTorch key */
  init: Record<string, Float32Array>;
  losses: number[];
  norms: number[];
  lrs: number[];
  ix: number[][];
  final: Record<string, Float32Array>;
  sample: string;
}

export function trainConfigOf(g: GptGolden): TrainConfig {
  const t = g.train;
  return {
    lr: t.lr,
    minLr: t.min_lr,
    warmupIters: t.warmup_iters,
    maxIters: t.max_iters,
    weightDecay: t.weight_decay,
    betas: t.betas,
    gradClip: t.grad_clip,
  };
}

/** the golden's GPT as kiln's manualSeed(seed) builds it, dropout off */
export function gptModel(g: GptGolden, variant: 'tied' | 'untied'): Gpt {
  const c = g.config;
  manualSeed(g.seed);
  return new Gpt({
    vocabSize: c.vocab_size,
    blockSize: c.block_size,
    nEmbd: c.n_embd,
    nHead: c.n_head,
    nLayer: c.n_layer,
    dropout: 0,
    tied: variant === 'tied',
  });
}
/** a state dict's values by the twin's keys */
export const byTorchKey = (sd: Record<string, { data: Float32Array }>) =>
  Object.fromEntries(Object.entries(sd).map(([k, v]) => [torchKey(k), Float32Array.from(v.data)]));

/** trains the golden's GPT on `target` for `steps` steps (the golden's by default) and samples 20 characters */
export async function runGpt(target: string, variant: 'tied' | 'untied', steps?: number): Promise<GptRun> {
  const g = gptGolden();
  const text = gptText();
  const codec = new CharCodec(text);
  const data = codec.encode(text);
  const c = g.config,
    t = trainConfigOf(g);
  const model = gptModel(g, variant);
  const init = byTorchKey(model.stateDict());
  const optimizer = makeOptimizer(model, t);
  const scheduler = makeScheduler(optimizer, t);
  const B = g.train.batch_size,
    T = c.block_size;
  const step = await compile(trainStepFn(model, optimizer, t), {
    inputs: [
      { shape: [B, T], dtype: 'int32' },
      { shape: [B, T], dtype: 'int32' },
    ],
    target,
  });
  const gen = new Generator(g.dataSeed);
  const run: GptRun = { init, losses: [], norms: [], lrs: [], ix: [], final: {}, sample: '' };
  for (let k = 0; k < (steps ?? g.steps); k++) {
    const [x, y, ix] = getBatch(data, T, B, gen);
    run.lrs.push(optimizer.paramGroups[0].lr as number);
    const [loss, norm] = (await step.run(x, y)) as Tensor[];
    scheduler.step();
    run.losses.push(loss.item());
    run.norms.push(norm.item());
    run.ix.push(ix);
  }
  await step.sync();
  run.final = byTorchKey(model.stateDict());
  model.eval();
  const lastLogits = await compile((idx: Tensor) => noGrad(() => model.forward(idx).select(1, T - 1)), {
    inputs: [{ shape: [1, T], dtype: 'int32' }],
    target,
  });
  const sampler = new Generator(g.sampleSeed);
  let ctx = Array.from(data.subarray(0, T));
  const out: number[] = [];
  for (let i = 0; i < 20; i++) {
    const logits = (await lastLogits.run(Int32Array.from(ctx))) as Tensor;
    const tok = sampleToken(logits.data, 1.0, sampler);
    out.push(tok);
    ctx = [...ctx.slice(1), tok];
  }
  run.sample = codec.decode(out);
  return run;
}

/**
 * Final weights are held to 1e-3 (norm-wise, per tensor): Adam turns rounding noise in near-zero
 * gradients (the key bias's, which softmax cancels) into steps of up to lr, so PyTorch itself, run in
 * float64 from the same float32 init, ends 2.6e-4 away from its own float32 weights on this golden.
 */
export function expectMatchesTwin(run: GptRun, variant: 'tied' | 'untied'): void {
  const want = gptGolden().variants[variant];
  expect(run.ix).toEqual(want.ix); // the same batches: kiln's randint is torch's
  expect(maxRelErr(run.lrs, want.lrs, 0)).toBeLessThan(1e-12);
  expect(maxRelErr(run.losses, want.losses)).toBeLessThan(1e-5); // the bar is 1e-4
  expect(maxRelErr(run.norms, want.norms)).toBeLessThan(1e-5);
  expect(Object.keys(run.final).sort()).toEqual(Object.keys(want.final).sort());
  const worst = Object.entries(want.final).map(([k, t]) => [k, relErr(run.final[k], floats(t))] as const);
  expect(worst.filter(([, e]) => !(e < 1e-3))).toEqual([]);
  expect(run.sample).toBe(want.sample);
}
