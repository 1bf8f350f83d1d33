// A LeNet-style training step (conv 1->8 3x3 pad 1, relu, maxpool 2, conv 8->16 3x3 pad 1, relu, maxpool 2,
// flatten, linear 784->10, cross-entropy, SGD) on 32 28x28 images: ms per compiled step, kernels and bytes
// moved per step, on one target.
//   npx tsx bench/cnn-step.ts [native|webgpu|reference]     PROFILE=N: the N slowest kernels, each alone (native)
// PyTorch's CPU time for the same step: the Python snippet at the end of this file (/usr/bin/python3).
import { compile, manualSeed, nn, optim, randn, type Tensor } from '../compiler/index.js';

const target = process.argv[2] ?? 'native';
const batch = 32;
manualSeed(0);
const model = new nn.Sequential(
  new nn.Conv2d(1, 8, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Conv2d(8, 16, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Flatten(),
  new nn.Linear(16 * 7 * 7, 10),
);
const criterion = new nn.CrossEntropyLoss();
const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
const t0 = performance.now();
const step = await compile(
  (x: Tensor, y: Tensor) => {
    const loss = criterion.forward(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  },
  {
    inputs: [
      { shape: [batch, 1, 28, 28], dtype: 'float32' },
      { shape: [batch], dtype: 'int32' },
    ],
    target,
  },
);
const x = randn([batch, 1, 28, 28]).data as Float32Array;
const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
/** the loss a run returns (one tensor, or a list of one) */
const lossOf = (r: unknown) => (Array.isArray(r) ? r[0] : (r as Tensor)).data[0];
const first = lossOf(await step.run(x, y));
const compileMs = performance.now() - t0;
const times: number[] = [];
let loss = first;
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  loss = lossOf(await step.run(x, y));
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const s = step.stats();
console.log(
  `${target}: compile+first step ${compileMs.toFixed(0)} ms, median step ${times[10].toFixed(2)} ms, ` +
    `${s.kernels} kernels, ${s.launchesPerRun} launches, ${(s.bytesPerRun / 1e6).toFixed(1)} MB/step, ` +
    `loss ${first.toFixed(4)} -> ${loss.toFixed(4)} after 20 steps`,
);

if (process.env.PROFILE && target === 'native') {
  await (await import('./timing.js')).printKernelProfile(step, Number(process.env.PROFILE) || 25);
}

/* PyTorch 1.13 CPU, same step (median of 20 after warm-up):
import torch, time
nn = torch.nn
torch.manual_seed(0); torch.set_num_threads(1)
m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01); x = torch.randn(32, 1, 28, 28); y = torch.arange(32) % 10
def step():
    loss = nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step(); return loss
for _ in range(3): step()
ts = []
for _ in range(20):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(sorted(ts)[10] * 1e3, 'ms')
*/
