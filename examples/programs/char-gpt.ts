// The char GPT (examples/char-gpt-model.ts) as a kiln program: `kiln build` writes a package with its
// training step (AdamW, clipping; returns [loss, grad norm]) and its next-token logits, at the golden's
// small config so that a build takes seconds. The learning rate schedule runs on the host: set
// `program.optimizer.paramGroups[i].lr` before each step (the bundle reads it every run).
import { defineProgram, manualSeed, noGrad, type Tensor } from 'kiln';
import { Gpt, makeOptimizer, trainStepFn, type TrainConfig } from '../char-gpt-model.js';

const T = 8,
  B = 2;
manualSeed(1337);
const model = new Gpt({ vocabSize: 76, blockSize: T, nEmbd: 16, nHead: 2, nLayer: 4, dropout: 0, tied: true });
const tc: TrainConfig = {
  lr: 1e-2,
  minLr: 1e-3,
  warmupIters: 5,
  maxIters: 20,
  weightDecay: 0.1,
  betas: [0.9, 0.95],
  gradClip: 1.0,
};
const optimizer = makeOptimizer(model, tc);

export default defineProgram({
  name: 'kiln-char-gpt',
  description: 'A 4-block character GPT (GPL-3 text, 76 characters), AdamW with clipping',
  model,
  optimizer,
  functions: {
    trainStep: {
      doc: 'One training step on B windows of T token ids; returns [loss, total gradient norm before clipping].',
      inputs: [
        { name: 'x', shape: [B, T], dtype: 'int32' },
        { name: 'y', shape: [B, T], dtype: 'int32' },
      ],
      fn: trainStepFn(model, optimizer, tc),
    },
    nextLogits: {
      doc: 'The logits of the token after a window of T token ids.',
      inputs: [{ name: 'idx', shape: [1, T], dtype: 'int32' }],
      fn: (idx: Tensor) => noGrad(() => model.forward(idx).select(1, T - 1)),
    },
  },
});
