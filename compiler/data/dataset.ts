// Datasets: PyTorch's `TensorDataset` (rows of equally long tensors) and the Dataset interface
// the DataLoader reads. Samples are concrete (host) tensors; batches are built by copying rows.
import { KilnError, fmtShape } from '../errors.js';
import { Tensor, tensor } from '../tensor.js';
import { numel, type DType } from '../ir/graph.js';

export interface Dataset {
  readonly length: number;
  /** sample i: one tensor per field (PyTorch's `dataset[i]`) */
  get(i: number): Tensor[];
}

type Rows = Float32Array | Int32Array | Uint8Array;
/** a batchable source: `[N, ...]` data of one dtype */
export type TensorSource = Tensor | { shape: number[]; data: ArrayLike<number>; dtype?: DType };

function toTensor(x: TensorSource, i: number): Tensor {
  if (x instanceof Tensor) return x;
  if (!x || !Array.isArray(x.shape) || !x.data) {
    throw new KilnError(`TensorDataset: argument ${i} is not a tensor or { shape, data }`);
  }
  const dtype = x.dtype ?? (x.data instanceof Int32Array ? 'int32' : 'float32');
  return tensor(x.data as ArrayLike<number>, { shape: x.shape, dtype });
}

export class TensorDataset implements Dataset {
  readonly tensors: Tensor[];
  private readonly values: Rows[];

  constructor(...tensors: TensorSource[]) {
    if (tensors.length === 0) throw new KilnError('TensorDataset: at least one tensor is required');
    this.tensors = tensors.map(toTensor);
    const n = this.tensors[0].shape[0];
    this.tensors.forEach((t) => {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new KilnError(
          `TensorDataset: Size mismatch between tensors: ${this.tensors.map((x) => fmtShape(x.shape)).join(', ')} ` +
            '(the first dimensions must be equal)',
        );
      }
    });
    this.values = this.tensors.map((t) => t.data);
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(i: number): Tensor[] {
    if (!Number.isInteger(i) || i < -this.length || i >= this.length) {
      throw new KilnError(`TensorDataset: index ${i} is out of range for ${this.length} samples`);
    }
    return this.rows([i < 0 ? i + this.length : i]).map((t) => t.reshape(t.shape.slice(1)));
  }

  /** the rows at `indices` of every tensor, as batched tensors `[indices.length, ...]` */
  rows(indices: ArrayLike<number>): Tensor[] {
    return this.tensors.map((t, k) => {
      const rowShape = t.shape.slice(1);
      const size = numel(rowShape);
      const src = this.values[k];
      const out = new (src.constructor as { new (n: number): Rows })(indices.length * size);
      for (let r = 0; r < indices.length; r++) {
        out.set(src.subarray(indices[r] * size, (indices[r] + 1) * size), r * size);
      }
      return tensor(out, { shape: [indices.length, ...rowShape], dtype: t.dtype });
    });
  }
}
