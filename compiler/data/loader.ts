// PyTorch's DataLoader: batches of a dataset, optionally shuffled (seeded by manualSeed: every
// epoch draws a fresh permutation from the global generator), optionally dropping the last
// incomplete batch. A batch is one concrete Tensor per field, which `step.run(x, y)` takes as is.
import { KilnError, fmtShape } from '../errors.js';
import { randperm } from '../random.js';
import { Tensor, tensor } from '../tensor.js';
import { TensorDataset, type Dataset } from './dataset.js';
import { checkOptions } from '../options.js';

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
}

export class DataLoader implements Iterable<Tensor[]> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions = {},
  ) {
    checkOptions('DataLoader', opts, ['batchSize', 'shuffle', 'dropLast']);
    this.batchSize = opts.batchSize ?? 1;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new KilnError(`batch_size should be a positive integer value, but got batch_size=${opts.batchSize}`);
    }
  }

  /** number of batches per epoch */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<Tensor[]> {
    const n = this.dataset.length;
    const order = this.shuffle ? randperm(n) : Int32Array.from({ length: n }, (_, i) => i);
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
