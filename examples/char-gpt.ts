// A character-level GPT (examples/char-gpt-model.ts) trained on the GNU GPL v3 text that every Debian
// system ships (examples/data/SOURCE.md): AdamW with decay on the matrices, linear warm-up then cosine
// decay, gradient clipping inside the compiled step, a held-out validation loss, then text sampled from
// the trained model through a compiled inference function. examples/char_gpt.py is the PyTorch twin.
//   npm run example:gpt -- [--target native|webgpu|reference] [--steps 600] [--dim 64] [--heads 4]
//     [--blocks 4] [--block-size 32] [--batch 16] [--dropout 0.1] [--untied] [--lr 3e-3] [--checkpoint DIR]
//     [--resume DIR] [--log-every N] [--digits 4] [--samples 300]
// Data-parallel over MPI: `mpirun -np 2 npx tsx --conditions=kiln-source examples/char-gpt.ts --distributed`
// (many hosts: `mpirun --hostfile hosts -np 8 ...`). Every rank draws the same global batch of `--batch` rows
// per rank and trains on its own slice; DistributedDataParallel averages the gradients inside the compiled
// step, so N ranks train exactly as one process on the N slices together. Rank 0 logs, samples and writes
// the checkpoint; every rank can `--resume` from it.
import { readFileSync } from 'node:fs';
import { arg, checkpointDir, flag, targetArg } from './cli.js';
import { compile, distributed, Generator, loadCheckpoint, manualSeed, nn, noGrad, saveCheckpoint, tensor } from 'kiln';
import type { Tensor } from 'kiln';
import {
  CharCodec,
  getBatch,
  Gpt,
  makeOptimizer,
  makeScheduler,
  sampleToken,
  trainStepFn,
  type TrainConfig,
} from './char-gpt-model.js';

const target = await targetArg();
const ddp = flag('distributed');
if (ddp) distributed.initProcessGroup({ backend: 'mpi' });
const rank = ddp ? distributed.getRank() : 0,
  world = ddp ? distributed.getWorldSize() : 1;
const log = (line: string) => rank === 0 && console.log(line);
// checked before any work: an existing checkpoint there is never overwritten (rank 0 writes it)
const checkpoint = rank === 0 && arg('checkpoint', '') && checkpointDir(arg('checkpoint', ''), 'kiln-char-gpt-');
const steps = Number(arg('steps', '600'));
const B = Number(arg('batch', '16')),
  T = Number(arg('block-size', '32'));
const text = readFileSync(new URL('./data/gpl-3.txt', import.meta.url), 'utf8');
const codec = new CharCodec(text);
const all = codec.encode(text);
const split = Math.floor(0.9 * all.length); // nanoGPT's split: the first 90% trains, the rest validates
const trainData = all.subarray(0, split),
  valData = all.subarray(split);

manualSeed(1337);
const model = new Gpt({
  vocabSize: codec.size,
  blockSize: T,
  nEmbd: Number(arg('dim', '64')),
  nHead: Number(arg('heads', '4')),
  nLayer: Number(arg('blocks', '4')),
  dropout: Number(arg('dropout', '0.1')),
  tied: !flag('untied'),
});
const lr = Number(arg('lr', '3e-3'));
const tc: TrainConfig = {
  lr,
  minLr: lr / 10,
  warmupIters: Math.max(1, Math.floor(steps / 20)),
  maxIters: steps,
  weightDecay: 0.1,
  betas: [0.9, 0.95],
  gradClip: 1.0,
};
const optimizer = makeOptimizer(model, tc);
const scheduler = makeScheduler(optimizer, tc);
if (arg('resume', '')) await loadCheckpoint(arg('resume', ''), { model, optimizer });
// wrapping broadcasts rank 0's weights: every rank starts from the same model
const net = ddp ? new nn.parallel.DistributedDataParallel(model) : model;
const nParams = model.parameters().reduce((n, p) => n + p.numel(), 0);
log(
  `GPT: ${model.cfg.nLayer} blocks, ${model.cfg.nHead} heads, D=${model.cfg.nEmbd}, T=${T}, ` +
    `vocabulary ${codec.size}, ${nParams} parameters (${model.cfg.tied ? 'tied' : 'untied'} head); ` +
    `${trainData.length} training / ${valData.length} validation characters; target '${target}'` +
    (ddp ? `; ${world} ranks, batch ${B} each` : ''),
);

const tokens = [
  { shape: [B, T], dtype: 'int32' as const },
  { shape: [B, T], dtype: 'int32' as const },
];
const criterion = new nn.CrossEntropyLoss();
let t0 = performance.now();
// traced in eval mode (dropout off), as they run; a function traced in the other mode would re-trace on
// its first run
model.eval();
const valLoss = await compile(
  (x: Tensor, y: Tensor) =>
    noGrad(() => criterion.forward(model.forward(x).view([B * T, codec.size]), y.view([B * T]))),
  { inputs: tokens, target },
);
const lastLogits = await compile((idx: Tensor) => noGrad(() => model.forward(idx).select(1, T - 1)), {
  inputs: [{ shape: [1, T], dtype: 'int32' }],
  target,
});
model.train();
const trainStep = await compile(trainStepFn(model, optimizer, tc, criterion, net), { inputs: tokens, target });
const allReduced = trainStep.stats().allReducedBytesPerRun;
log(
  `compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${trainStep.stats().kernels} kernels a step` +
    (allReduced ? `, ${allReduced} bytes all-reduced` : ''),
);

const batches = new Generator(7);
/** this rank's rows of a global batch (all of it in one process) */
const mine = (a: Int32Array) => a.subarray(rank * B * T, (rank + 1) * B * T);
async function evaluate(iters = 10): Promise<number> {
  model.eval();
  const g = new Generator(99); // the same validation batches every time
  let total = 0;
  for (let i = 0; i < iters; i++) {
    const [xs, ys] = getBatch(valData, T, B * world, g);
    total += (await valLoss.run(mine(xs), mine(ys))).item();
  }
  model.train();
  return ddp ? meanOverRanks(total / iters) : total / iters;
}

t0 = performance.now();
const every = Number(arg('log-every', String(Math.max(1, Math.floor(steps / 10)))));
const digits = Number(arg('digits', '4'));
for (let step = 0; step < steps; step++) {
  // the global batch, the same on every rank; this rank trains on its slice of B rows
  const [xs, ys] = getBatch(trainData, T, B * world, batches);
  const [loss, norm] = (await trainStep.run(mine(xs), mine(ys))) as Tensor[];
  scheduler.step();
  if (step % every === 0 || step === steps - 1) {
    const lrNow = (optimizer.paramGroups[0].lr as number).toExponential(2);
    const l = ddp ? meanOverRanks(loss.item()) : loss.item(); // the loss of the global batch
    const val = await evaluate();
    log(
      `step ${step}: loss ${l.toFixed(digits)}, grad norm ${norm.item().toFixed(digits - 1)}, ` +
        `lr ${lrNow}, val loss ${val.toFixed(digits)}`,
    );
  }
}
function meanOverRanks(v: number): number {
  const t = tensor([v]);
  distributed.allReduce(t);
  return t.item() / world;
}
const ms = (performance.now() - t0) / steps;
log(`trained ${steps} steps in ${((ms * steps) / 1000).toFixed(1)} s (${ms.toFixed(1)} ms a step)`);

if (rank === 0) await sampleText();
async function sampleText(): Promise<void> {
  model.eval();
  const sampler = new Generator(11);
  let ctx = Array.from(all.subarray(0, T));
  let out = '';
  for (let i = 0; i < Number(arg('samples', '300')); i++) {
    const logits = (await lastLogits.run(Int32Array.from(ctx))) as Tensor;
    const tok = sampleToken(logits.data, Number(arg('temperature', '0.8')), sampler);
    out += codec.chars[tok];
    ctx = [...ctx.slice(1), tok];
  }
  console.log(`--- sample (prompt ${JSON.stringify(text.slice(0, T))}) ---\n${out}\n---`);
}

if (checkpoint) {
  await trainStep.sync();
  await saveCheckpoint(checkpoint, { model, optimizer });
  console.log(`checkpoint written to ${checkpoint} (model.safetensors, optimizer.safetensors)`);
}
if (ddp) distributed.destroyProcessGroup();
