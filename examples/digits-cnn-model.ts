// The digits CNN, its data and its training setup, shared by the CLI (examples/digits-cnn.ts), the
// `kiln build` program (examples/programs/digits-cnn.ts) and the tests against the PyTorch twin
// (examples/digits_cnn.py, which spells the same model, split and loader in torch).
// Data: examples/data/digits.u8 (the UCI handwritten digits as scikit-learn ships them; see
// examples/data/DIGITS-SOURCE.md): 1,797 records of a label byte and 64 pixel bytes (0..16).
import { readFileSync } from 'node:fs';
import { Generator, data, nn, optim, randperm, tensor, type Tensor } from 'kiln';

export const DIGITS_FILE = new URL('./data/digits.u8', import.meta.url);
export const IMAGE_SIZE = 8;
export const CLASSES = 10;
export const BATCH_SIZE = 32;
/** the fixed train/validation split: a randperm from this seed, the first TRAIN_SIZE to training */
export const SPLIT_SEED = 0;
export const TRAIN_SIZE = 1437; // 80% of 1,797
/** the training loader's shuffle generator seed (torch.Generator().manual_seed(LOADER_SEED)) */
export const LOADER_SEED = 1;
/** Adam's learning rate, and StepLR's decay: lr *= GAMMA every STEP_EPOCHS epochs */
export const LR = 0.01;
export const STEP_EPOCHS = 4;
export const GAMMA = 0.5;
export const DROPOUT = 0.25;

/**
 * LeNet in miniature: two conv-batchnorm-relu-pool stages (8x8 -> 4x4 -> 2x2), dropout, a linear head.
 * The convolutions have no bias, as is usual before batch norm: its mean subtraction cancels a bias,
 * whose gradient is then rounding noise that Adam would scale up into lr-sized random steps.
 */
export class DigitsCNN extends nn.Module {
  conv1 = new nn.Conv2d(1, 8, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(8);
  conv2 = new nn.Conv2d(8, 16, 3, { padding: 1, bias: false });
  bn2 = new nn.BatchNorm2d(16);
  relu = new nn.ReLU();
  pool = new nn.MaxPool2d(2);
  flatten = new nn.Flatten();
  dropout: nn.Dropout;
  fc = new nn.Linear(16 * 2 * 2, CLASSES);
  constructor(dropout = DROPOUT) {
    super();
    this.dropout = new nn.Dropout(dropout);
  }
  forward(x: Tensor): Tensor {
    x = this.pool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    x = this.pool.forward(this.relu.forward(this.bn2.forward(this.conv2.forward(x))));
    return this.fc.forward(this.dropout.forward(this.flatten.forward(x)));
  }
}

export interface Digits {
  /** [n, 1, 8, 8], pixels scaled to 0..1 (x / 16) */
  images: Float32Array;
  labels: Int32Array;
  n: number;
}

/** reads digits.u8 (label byte, then 64 pixel bytes, per record) */
export function loadDigits(file: string | URL = DIGITS_FILE): Digits {
  const bytes = readFileSync(file);
  const record = 1 + IMAGE_SIZE * IMAGE_SIZE;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new Error(`${file}: ${bytes.length} bytes is not a whole number of ${record}-byte records`);
  }
  const n = bytes.length / record;
  const images = new Float32Array(n * (record - 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * record];
    for (let j = 1; j < record; j++) images[i * (record - 1) + j - 1] = bytes[i * record + j] / 16;
  }
  return { images, labels, n };
}

/** the rows `indices` of the data set, as a batch [k, 1, 8, 8] and its labels */
export function gather(d: Digits, indices: ArrayLike<number>): [Float32Array, Int32Array] {
  const px = IMAGE_SIZE * IMAGE_SIZE;
  const x = new Float32Array(indices.length * px);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    x.set(d.images.subarray(indices[k] * px, (indices[k] + 1) * px), k * px);
    y[k] = d.labels[indices[k]];
  }
  return [x, y];
}

/** torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED)): the same split as the twin */
export function splitIndices(n: number): { train: Int32Array; val: Int32Array } {
  const order = randperm(n, { generator: new Generator(SPLIT_SEED) }).data as Int32Array;
  return { train: order.slice(0, TRAIN_SIZE), val: order.slice(TRAIN_SIZE) };
}

/** the shuffled training loader over the split's training rows, in PyTorch's order for LOADER_SEED */
export function trainLoader(d: Digits, train: Int32Array): data.DataLoader {
  const [x, y] = gather(d, train);
  const shape = [train.length, 1, IMAGE_SIZE, IMAGE_SIZE];
  return new data.DataLoader(new data.TensorDataset(tensor(x, { shape }), tensor(y, { shape: [train.length] })), {
    batchSize: BATCH_SIZE,
    shuffle: true,
    generator: new Generator(LOADER_SEED),
  });
}

/** Adam, with StepLR stepped once per epoch */
export function digitsOptimizer(model: nn.Module): { optimizer: optim.Adam; scheduler: optim.lrScheduler.StepLR } {
  const optimizer = new optim.Adam(model.parameters(), { lr: LR });
  return { optimizer, scheduler: new optim.lrScheduler.StepLR(optimizer, STEP_EPOCHS, { gamma: GAMMA }) };
}

/** PyTorch's training step: forward, cross-entropy, zero_grad, backward, Adam step; returns the loss */
export function digitsTrainStep(model: DigitsCNN, optimizer: optim.Adam): (x: Tensor, y: Tensor) => Tensor {
  const criterion = new nn.CrossEntropyLoss();
  return (x, y) => {
    const loss = criterion.forward(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  };
}

export const imageSpec = (batch: number) => ({ shape: [batch, 1, IMAGE_SIZE, IMAGE_SIZE], dtype: 'float32' as const });
export const labelSpec = (batch: number) => ({ shape: [batch], dtype: 'int32' as const });
