// The flagship CNN: a LeNet-style network (examples/digits-cnn-model.ts) learns the real UCI
// handwritten digits (1,797 8x8 images, examples/data/) with Adam and a StepLR schedule, batch by
// batch from a shuffled DataLoader, with accuracy on a fixed validation split after every epoch,
// and a checkpoint (PyTorch's safetensors keys) at the end. The PyTorch twin: examples/digits_cnn.py.
//   npm run example:cnn -- [--target reference|native|webgpu] [--epochs N] [--out DIR]
// The default target is 'native' where the LLVM toolchain is present, else 'reference' (said once).
// --out: the checkpoint's directory (created if missing; existing checkpoint files there are never
// overwritten); default: a fresh directory under the system's temporary directory.
import { arg, checkpointDir, targetArg } from './cli.js';
import { compile, manualSeed, noGrad, saveCheckpoint, type Tensor } from 'kiln';
import {
  BATCH_SIZE,
  DigitsCNN,
  digitsOptimizer,
  digitsTrainStep,
  gather,
  imageSpec,
  labelSpec,
  loadDigits,
  splitIndices,
  trainLoader,
} from './digits-cnn-model.js';

const target = await targetArg();
const epochs = Number(arg('epochs', '10'));
if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer, got ${epochs}`);
const outDir = checkpointDir(arg('out', ''), 'kiln-digits-cnn-');

const digits = loadDigits();
const { train, val } = splitIndices(digits.n);
const loader = trainLoader(digits, train);
const [xVal, yVal] = gather(digits, val);
console.log(
  `digits: ${train.length} training and ${val.length} validation images (8x8), ` +
    `${loader.length} batches of up to ${BATCH_SIZE} per epoch, target '${target}'`,
);

manualSeed(0); // the same initial weights as the twin's torch.manual_seed(0)
const model = new DigitsCNN();
const { optimizer, scheduler } = digitsOptimizer(model);
// traced once per batch size: the last, partial batch of an epoch gets its own variant
const trainStep = await compile(digitsTrainStep(model, optimizer), {
  inputs: [imageSpec(BATCH_SIZE), labelSpec(BATCH_SIZE)],
  target,
});
// evaluation: batch norm's running statistics, dropout off (model.eval()), no gradients
const correctCount = await compile(
  (x: Tensor, y: Tensor) => noGrad(() => model.forward(x).argmax(1).eq(y).int().sum()),
  { inputs: [imageSpec(val.length), labelSpec(val.length)], target },
);

const start = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  let total = 0;
  for (const [x, y] of loader) total += (await trainStep.run(x, y)).item() * y.shape[0];
  const lr = optimizer.paramGroups[0].lr;
  scheduler.step();
  model.eval();
  const correct = (await correctCount.run(xVal, yVal)).item();
  console.log(
    `Epoch ${epoch}: loss ${(total / train.length).toFixed(4)}, validation accuracy ` +
      `${((100 * correct) / val.length).toFixed(1)}% (${correct}/${val.length}), lr ${lr}`,
  );
}
const seconds = (performance.now() - start) / 1000;
await saveCheckpoint(outDir, { model, optimizer });
console.log(`${epochs} epochs in ${seconds.toFixed(1)} s on target '${target}'; checkpoint saved in ${outDir}`);
