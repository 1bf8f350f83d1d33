// PyTorch's DataLoader: batches of a dataset, optionally shuffled in PyTorch 1.13's order (see
// epochOrder) or in a sampler's order (a DistributedSampler's, say), optionally dropping the last
// incomplete batch. A batch is one concrete Tensor per field, which `step.run(x, y)` takes as is.
import { KilnError, fmtShape } from '../errors.js';
import { Generator, defaultGenerator, randomInt64, randperm } from '../random.js';
import { Tensor, tensor } from '../tensor.js';
import { TensorDataset, type Dataset } from './dataset.js';
import type { Sampler } from './sampler.js';
import { checkOptions } from '../options.js';

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** the indices of each epoch, in order (mutually exclusive with shuffle); batches group them batchSize at a time */
  sampler?: Sampler;
  /** torch.Generator for the shuffle order and the base seed (default: the global generator) */
  generator?: Generator;
}

export class DataLoader implements Iterable<Tensor[]> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | null;
  readonly sampler: Sampler | null;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions = {},
  ) {
    checkOptions('DataLoader', opts, ['batchSize', 'shuffle', 'dropLast', 'sampler', 'generator']);
    if (opts.generator !== undefined && !(opts.generator instanceof Generator)) {
      throw new KilnError('DataLoader: generator must be a kiln Generator');
    }
    this.batchSize = opts.batchSize ?? 1;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? null;
    this.sampler = opts.sampler ?? null;
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new KilnError(`batch_size should be a positive integer value, but got batch_size=${opts.batchSize}`);
    }
    if (this.sampler !== null) {
      if (typeof this.sampler[Symbol.iterator] !== 'function') {
        throw new KilnError('DataLoader: sampler must be an iterable of indices (a Sampler or an array)');
      }
      if (this.shuffle) throw new KilnError('sampler option is mutually exclusive with shuffle');
    }
  }

  /** number of batches per epoch: of the sampler's length when there is a sampler, else of the dataset's */
  get length(): number {
    const n = this.sampler === null ? this.dataset.length : this.sampler.length;
    if (!Number.isSafeInteger(n) || n < 0) throw new KilnError(`DataLoader: the sampler has no length (got ${n})`);
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * The draws PyTorch 1.13 makes per epoch, so that kiln's order equals torch's after the same
   * manual_seed: the iterator draws `_base_seed` (an int64 random_) from the loader's generator;
   * RandomSampler without a generator seeds a fresh one from an int64 random_ of the default
   * generator and takes randperm(n) from it; with a generator it takes randperm(n) from that one,
   * then a second randperm(n) for its `[:num_samples % n]` tail, empty but drawn all the same.
   * With a sampler, `_base_seed` is drawn all the same, then the sampler's indices are taken (after
   * the draw: torch's BatchSampler iterates its sampler at the first batch).
   */
  private epochOrder(): Int32Array {
    const n = this.dataset.length;
    randomInt64(this.generator ?? defaultGenerator());
    if (this.sampler !== null) return Int32Array.from(this.sampler, (i) => datasetIndex(i, n));
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    if (this.generator === null) return randperm(n, new Generator(randomInt64()));
    const order = randperm(n, this.generator);
    randperm(n, this.generator);
    return order;
  }

  *[Symbol.iterator](): Iterator<Tensor[]> {
    const order = this.epochOrder();
    const n = order.length;
    const batches = this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      yield this.dataset instanceof TensorDataset
        ? this.dataset.rows(idx)
        : collate(Array.from(idx, (i) => this.dataset.get(i)));
    }
  }
}

/** a sampler's index as a row of a dataset of n samples: an integer in [-n, n), negative ones from the end */
function datasetIndex(i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) {
    throw new KilnError(`DataLoader: the sampler's index ${i} is out of range for a dataset of ${n} samples`);
  }
  return i < 0 ? i + n : i;
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
