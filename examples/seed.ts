// The seed: PyTorch's classic training loop, in kiln. A 10-5-2 MLP learns a synthetic two-class
// problem (seeded, so every run prints the same numbers) with Adam, batch by batch from a
// DataLoader; the training step and the evaluation step are each traced once and compiled.
//   npm start -- --target reference|native|webgpu [--epochs N]
// The default target is 'native' where the LLVM toolchain is present, else 'reference' (said once).
import { arg, targetArg } from './cli.js';
import { compile, data, manualSeed, nn, noGrad, optim, randn, type Tensor } from 'kiln';

const target = await targetArg();
const epochs = Number(arg('epochs', '20'));
const batchSize = 16;

// Synthetic data: points in R^10, labelled by which side of a fixed random hyperplane they fall.
manualSeed(0);
function makeSet(n: number, w: Tensor): [Tensor, Tensor] {
  const x = randn([n, 10]);
  return [x, x.matmul(w).add(0.25).gt(0).int()];
}
const w = randn([10]);
const [xTrain, yTrain] = makeSet(512, w);
const [xVal, yVal] = makeSet(128, w);
const loader = new data.DataLoader(new data.TensorDataset(xTrain, yTrain), {
  batchSize,
  shuffle: true,
  dropLast: true,
});

const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });

const trainStep = await compile(
  (x: Tensor, y: Tensor) => {
    const loss = criterion.forward(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  },
  {
    inputs: [
      { shape: [batchSize, 10], dtype: 'float32' },
      { shape: [batchSize], dtype: 'int32' },
    ],
    target,
  },
);

// evaluation: no backward, no gradients; it reads the parameters the training step updates
const evalStep = await compile((x: Tensor, y: Tensor) => noGrad(() => model.forward(x).argmax(1).eq(y).int().sum()), {
  inputs: [
    { shape: [128, 10], dtype: 'float32' },
    { shape: [128], dtype: 'int32' },
  ],
  target,
});

const start = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  let total = 0;
  for (const [x, y] of loader) total += (await trainStep.run(x, y)).item();
  console.log(`Epoch ${epoch}, Loss: ${(total / loader.length).toFixed(4)}`);
}
model.eval();
const correct = (await evalStep.run(xVal, yVal)).item();
console.log(
  `Validation accuracy: ${((100 * correct) / 128).toFixed(1)}% (${correct}/128) on target '${target}' ` +
    `in ${((performance.now() - start) / 1000).toFixed(1)} s`,
);
