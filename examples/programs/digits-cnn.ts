// The digits CNN (examples/digits-cnn-model.ts) as a kiln program, for `kiln build` and `kiln inspect`:
//   kiln build examples/programs/digits-cnn.ts --target all --out build/kiln-digits-cnn
// The bundle ships torch.manual_seed(0)'s initial weights (kiln's manualSeed(0) draws the same) and
// Adam's state; a user feeds it batches (x / 16 pixel values, as examples/digits-cnn.ts does) and
// changes `program.optimizer.paramGroups[0].lr` for a schedule, as StepLR would.
import { defineProgram, manualSeed, noGrad, type Tensor } from 'kiln';
import { BATCH_SIZE, DigitsCNN, digitsOptimizer, digitsTrainStep, imageSpec, labelSpec } from '../digits-cnn-model.js';

manualSeed(0);
const model = new DigitsCNN();
const { optimizer } = digitsOptimizer(model);
const named = (name: string, spec: { shape: number[]; dtype: 'float32' | 'int32' }) => ({ name, ...spec });

export default defineProgram({
  name: 'kiln-digits-cnn',
  description: 'A LeNet-style CNN for the 8x8 UCI handwritten digits (conv-bn-relu-pool x2, dropout, linear), Adam',
  model,
  optimizer,
  functions: {
    trainStep: {
      doc: `One training step on a batch of ${BATCH_SIZE} (forward, cross-entropy, backward, Adam); returns the loss.`,
      inputs: [named('x', imageSpec(BATCH_SIZE)), named('y', labelSpec(BATCH_SIZE))],
      fn: (x: Tensor, y: Tensor) => {
        model.train();
        return digitsTrainStep(model, optimizer)(x, y);
      },
    },
    predict: {
      doc: 'The class logits of one image (evaluation mode: running batch statistics, no dropout).',
      inputs: [named('x', imageSpec(1))],
      fn: (x: Tensor) => {
        model.eval();
        const logits = noGrad(() => model.forward(x));
        model.train();
        return logits;
      },
    },
  },
});
