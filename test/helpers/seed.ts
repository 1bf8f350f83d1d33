// The seed's training setup (Linear-ReLU-Linear, CrossEntropyLoss, Adam) built from a training
// golden (seed_example.json, train_mlp_batch.json), compiled for any target: shared by the WebGPU
// golden, compile and browser tests so they all train the model the same way.
import { nn, optim, compile, type CompiledFunction, type Tensor } from '../../compiler/index.js';
import { getBackend } from '../../compiler/backend.js';
import { camelOptions, f32, i32, loadGolden, relErr, toStateDict, type GoldenTensor } from './golden.js';

export interface TrainingGolden {
  dims: [number, number, number];
  options: Record<string, unknown>;
  init: Record<string, GoldenTensor>;
  inputs: GoldenTensor[];
  targets: GoldenTensor[];
  losses: number[];
  final: Record<string, GoldenTensor>;
}

export interface Seed {
  golden: TrainingGolden;
  model: nn.Sequential;
  optimizer: optim.Adam;
  criterion: nn.CrossEntropyLoss;
  /** the training step as a traceable function */
  fn: (x: Tensor, y: Tensor) => Tensor;
  inputs: { shape: number[]; dtype: 'float32' | 'int32' }[];
  /** step k's (x, y) as typed arrays */
  batch(k: number): [Float32Array, Int32Array];
}

export function seedSetup(name = 'seed_example'): Seed {
  const golden = loadGolden<TrainingGolden>(name);
  const [i, h, o] = golden.dims;
  const model = new nn.Sequential(new nn.Linear(i, h), new nn.ReLU(), new nn.Linear(h, o));
  model.loadStateDict(toStateDict(golden.init));
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new optim.Adam(model.parameters(), camelOptions(golden.options));
  const fn = trainingStep(model, criterion, optimizer);
  const inputs = [
    { shape: [...golden.inputs[0].shape], dtype: 'float32' as const },
    { shape: [...golden.targets[0].shape], dtype: 'int32' as const },
  ];
  return {
    golden,
    model,
    optimizer,
    criterion,
    fn,
    inputs,
    batch: (k) => [f32(golden.inputs[k]), i32(golden.targets[k])],
  };
}

/** PyTorch's training step for any model, loss and optimizer, as a function compile() traces */
export function trainingStep(
  model: { forward(x: Tensor): Tensor },
  criterion: { forward(out: Tensor, target: Tensor): Tensor },
  optimizer: { zeroGrad(): void; step(): void },
): (x: Tensor, y: Tensor) => Tensor {
  return (x, y) => {
    const loss = criterion.forward(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  };
}

export const compileSeed = (s: Seed, target: string): Promise<CompiledFunction> =>
  compile(s.fn, { inputs: s.inputs, target });

/** runs steps [from, to) and returns their losses */
export async function trainSteps(s: Seed, step: CompiledFunction, from: number, to: number): Promise<number[]> {
  const losses: number[] = [];
  for (let k = from; k < to; k++) losses.push((await step.run(...s.batch(k))).item());
  return losses;
}

/** norm-wise relative error of every parameter against the golden's final values, by key */
export function finalErrors(s: Seed): Record<string, number> {
  const sd = s.model.stateDict();
  return Object.fromEntries(Object.entries(s.golden.final).map(([k, t]) => [k, relErr(sd[k].data, t.data)]));
}

/** which adapter a WebGPU target runs on (reference targets: their name) */
export async function adapterOf(target: string): Promise<string> {
  const b = (await getBackend(target)) as { adapter?: string; name: string };
  return b.adapter ?? b.name;
}
