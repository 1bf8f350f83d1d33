// Random training steps: an MLP of random widths and activations, a loss, an optimizer with random
// options, a few steps on fresh batches. Run on a target, it returns the losses and final weights.
import { compile, manualSeed, nn, optim, type Tensor } from '../../compiler/index.js';
import { fillInput } from './build.js';
import { prng } from './recipe.js';

type Act = 'relu' | 'tanh' | 'sigmoid' | 'none';
export interface TrainRecipe {
  kind: 'train';
  seed: number;
  widths: number[];
  acts: Act[];
  batch: number;
  loss: 'mse' | 'ce' | 'ce-smooth';
  optimizer: { name: 'Adam' | 'AdamW' | 'SGD' | 'RMSprop' | 'Adagrad'; options: Record<string, unknown> };
  steps: number;
}

export function randomTrainRecipe(seed: number): TrainRecipe {
  const r = prng(seed ^ 0x5bd1e995);
  const depth = 1 + r.int(3);
  const widths = Array.from({ length: depth + 1 }, () => 1 + r.int(9));
  const acts = Array.from({ length: depth - 1 }, () => r.pick(['relu', 'tanh', 'sigmoid', 'none'] as Act[]));
  const name = r.pick(['Adam', 'AdamW', 'SGD', 'RMSprop', 'Adagrad'] as const);
  const options: Record<string, unknown> = { lr: r.pick([1e-3, 1e-2, 0.1]) };
  if (r.chance(0.4)) options.weightDecay = r.pick([0, 1e-2, 0.1]);
  if (name === 'Adam' || name === 'AdamW') {
    if (r.chance(0.4)) options.amsgrad = true;
    if (r.chance(0.3)) options.betas = [r.pick([0.8, 0.9]), r.pick([0.99, 0.999])];
    if (r.chance(0.2)) options.maximize = true;
  } else if (name === 'SGD') {
    if (r.chance(0.6)) options.momentum = r.pick([0.5, 0.9]);
    if (options.momentum && r.chance(0.4)) options.nesterov = true;
    else if (options.momentum && r.chance(0.3)) options.dampening = 0.1;
  } else if (name === 'RMSprop') {
    if (r.chance(0.4)) options.momentum = 0.9;
    if (r.chance(0.4)) options.centered = true;
  } else if (r.chance(0.4)) options.lrDecay = 0.01;
  const loss = widths[depth] >= 2 ? r.pick(['mse', 'ce', 'ce-smooth'] as const) : 'mse';
  return { kind: 'train', seed, widths, acts, batch: 1 + r.int(8), loss, optimizer: { name, options }, steps: 3 };
}

export interface TrainResult {
  losses: Float32Array;
  params: Record<string, Float32Array>;
}

export async function runTrainRecipe(rec: TrainRecipe, target: string): Promise<TrainResult> {
  manualSeed(rec.seed);
  const layers: nn.Module[] = [];
  for (let i = 0; i + 1 < rec.widths.length; i++) {
    layers.push(new nn.Linear(rec.widths[i], rec.widths[i + 1]));
    const act = rec.acts[i];
    if (act === 'relu') layers.push(new nn.ReLU());
    else if (act === 'tanh' || act === 'sigmoid') layers.push(new Activation(act));
  }
  const model = new nn.Sequential(...layers);
  const criterion =
    rec.loss === 'mse'
      ? new nn.MSELoss()
      : new nn.CrossEntropyLoss(rec.loss === 'ce-smooth' ? { labelSmoothing: 0.1 } : {});
  const Opt = optim[rec.optimizer.name] as unknown as new (
    p: Iterable<nn.Parameter>,
    o: object,
  ) => optim.Optimizer<object>;
  const opt = new Opt(model.parameters(), rec.optimizer.options);
  const out = rec.widths[rec.widths.length - 1],
    inW = rec.widths[0];
  const yDType = rec.loss === 'mse' ? 'float32' : 'int32';
  const yShape = rec.loss === 'mse' ? [rec.batch, out] : [rec.batch];
  const step = await compile(
    (x: Tensor, y: Tensor) => {
      const l = criterion.forward(model.forward(x), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l;
    },
    {
      inputs: [
        { shape: [rec.batch, inW], dtype: 'float32' },
        { shape: yShape, dtype: yDType },
      ],
      target,
    },
  );
  const losses = new Float32Array(rec.steps);
  for (let s = 0; s < rec.steps; s++) {
    const x = fillInput({ shape: [rec.batch, inW], dtype: 'float32', fill: 'normal' }, rec.seed, 100 + s);
    const y = fillInput({ shape: yShape, dtype: yDType, fill: 'index', range: out }, rec.seed, 200 + s);
    losses[s] = (await step.run(x, y)).item();
  }
  await step.sync();
  const params: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(model.stateDict())) params[k] = Float32Array.from(v.data);
  return { losses, params };
}

class Activation extends nn.Module {
  constructor(private readonly f: 'tanh' | 'sigmoid') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x[this.f]();
  }
}
