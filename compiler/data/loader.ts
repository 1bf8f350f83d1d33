// PyTorch's DataLoader: batches of a dataset, optionally shuffled in PyTorch 1.13's order (see
// epochOrder), optionally dropping the last incomplete batch. A batch is one concrete Tensor per
// field, which `step.run(x, y)` takes as is.
import { KilnError, fmtShape } from '../errors.js';
import { Generator, defaultGenerator, randomInt64, randperm } from '../random.js';
import { Tensor, tensor } from '../tensor.js';
import { TensorDataset, type Dataset } from './dataset.js';
import { checkOptions } from '../options.js';

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** torch.Generator for the shuffle order and the base seed (default: the global generator) */
  generator?: Generator;
}

export class DataLoader implements Iterable<Tensor[]> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | null;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions = {},
  ) {
    checkOptions('DataLoader', opts, ['batchSize', 'shuffle', 'dropLast', 'generator']);
    if (opts.generator !== undefined && !(opts.generator instanceof Generator)) {
      throw new KilnError('DataLoader: generator must be a kiln Generator');
    }
    this.batchSize = opts.batchSize ?? 1;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? null;
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new KilnError(`batch_size should be a positive integer value, but got batch_size=${opts.batchSize}`);
    }
  }

  /** number of batches per epoch */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * The draws PyTorch 1.13 makes per epoch, so that kiln's order equals torch's after the same
   * manual_seed: the iterator draws `_base_seed` (an int64 random_) from the loader's generator;
   * RandomSampler without a generator seeds a fresh one from an int64 random_ of the default
   * generator and takes randperm(n) from it; with a generator it takes randperm(n) from that one,
   * then a second randperm(n) for its `[:num_samples % n]` tail, empty but drawn all the same.
   */
  private epochOrder(): Int32Array {
    const n = this.dataset.length;
    randomInt64(this.generator ?? defaultGenerator());
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    if (this.generator === null) return randperm(n, new Generator(randomInt64()));
    const order = randperm(n, this.generator);
    randperm(n, this.generator);
    return order;
  }

  *[Symbol.iterator](): Iterator<Tensor[]> {
    const n = this.dataset.length;
    const order = this.epochOrder();
    for (let b = 0; b < this.length; b++) {
      const idx = order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      yield this.dataset instanceof TensorDataset
        ? this.dataset.rows(idx)
        : collate(Array.from(idx, (i) => this.dataset.get(i)));
    }
  }
}

/** stacks samples (each a list of tensors) into batched tensors, field by field */
function collate(samples: Tensor[][]): Tensor[] {
  return samples[0].map((first, j) => {
    const size = first.numel();
    const out =
      first.dtype === 'float32' ? new Float32Array(samples.length * size) : new Int32Array(samples.length * size);
    samples.forEach((s, i) => {
      if (s[j].shape.join() !== first.shape.join()) {
        throw new KilnError(
          'DataLoader: stack expects each tensor to be equal size, ' +
            `but got ${fmtShape(first.shape)} and ${fmtShape(s[j].shape)}`,
        );
      }
      out.set(s[j].data, i * size);
    });
    return tensor(out, {
      shape: [samples.length, ...first.shape],
      dtype: first.dtype === 'bool' ? 'int32' : first.dtype,
    });
  });
}
