// F.embedding: rows of `weight` picked by an int32 index tensor. Built as a one-hot matmul (iota + eq,
// then [..., V] x [V, D]) so no new IR op is needed and autodiff's matmul rule gives the scatter-add of
// gradient rows; every output row is one weight row plus exact zeros, so the values are exact.
import { KilnError, fmtShape } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { arange } from '../../tensor-create.js';
import { checkIndices } from '../../tensor-index.js';
import type { Tensor } from '../../tensor.js';

export interface EmbeddingOptions {
  /** that row gets no gradient (its lookups still return it) */
  paddingIdx?: number;
}

/** PyTorch's padding_idx rule: in [-V, V), negative counts from the end */
export function normPaddingIdx(paddingIdx: number | undefined, num: number): number | undefined {
  if (paddingIdx === undefined) return undefined;
  if (!Number.isInteger(paddingIdx)) throw new KilnError(`padding_idx must be an integer, got ${paddingIdx}`);
  if (paddingIdx >= num) throw new KilnError('Padding_idx must be within num_embeddings');
  if (paddingIdx < -num) throw new KilnError('Padding_idx must be within num_embeddings');
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

export function embedding(input: Tensor, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  checkOptions('embedding', opts, ['paddingIdx']);
  if (input.dtype !== 'int32') {
    throw new KilnError(
      "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; " +
        `but got ${input.dtype}${fmtShape(input.shape)} instead (while checking arguments for embedding)`,
    );
  }
  if (weight.ndim !== 2) throw new KilnError("'weight' must be 2-D");
  const [num] = weight.shape;
  const pad = normPaddingIdx(opts.paddingIdx, num);
  checkIndices(input, { kind: 'index_select', size: num }); // PyTorch's embedding is an index_select
  const k = arange(num).reshape([...input.shape.map(() => 1), num]);
  const idx = input.unsqueeze(-1);
  if (pad === undefined) return k.eq(idx).float().matmul(weight);
  // lookups of the padding row read a detached weight: they pass no gradient to it
  const isPad = idx.eq(pad);
  const live = k.eq(idx).logicalAnd(isPad.logicalNot()).float();
  const padded = k.eq(idx).logicalAnd(isPad).float();
  return live.matmul(weight).add(padded.matmul(weight.detach()));
}
