// nn.functional's attention: PyTorch 2's F.scaled_dot_product_attention (PyTorch 1.13 has only the
// private _scaled_dot_product_attention), composed from matmul, softmax and where so autodiff gives
// its backward. MultiheadAttention (when it lands) calls this one formula.
import { KilnError, fmtShape } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { arange, where, type Tensor } from '../../tensor.js';
import { dropout } from './dropout.js';

export interface ScaledDotProductAttentionOptions {
  /** bool: keep where true (a false entry gets -inf before the softmax); float: added to the scores */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
}

/**
 * softmax(q k^T / sqrt(E) + mask) v over q [..., L, E], k [..., S, E], v [..., S, Ev]; isCausal
 * keeps key j for query i only where j <= i (PyTorch 2's lower-triangular mask; with attnMask it is
 * an error, as there). dropoutP drops attention weights with kiln's own generator (see F.dropout).
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  opts: ScaledDotProductAttentionOptions = {},
): Tensor {
  checkOptions('scaledDotProductAttention', opts, ['attnMask', 'dropoutP', 'isCausal']);
  if (query.ndim < 2 || key.ndim < 2 || value.ndim < 2 || query.shape[query.ndim - 1] !== key.shape[key.ndim - 1]) {
    throw new KilnError(
      `scaledDotProductAttention: expected query [..., L, E], key [..., S, E] and value [..., S, Ev], got ` +
        `${fmtShape(query.shape)}, ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`,
    );
  }
  if (opts.isCausal && opts.attnMask) {
    throw new KilnError('_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True');
  }
  const L = query.shape[query.ndim - 2],
    S = key.shape[key.ndim - 2],
    E = query.shape[query.ndim - 1];
  let scores = query.matmul(key.transpose(-2, -1)).mul(1 / Math.sqrt(E));
  let keep: Tensor | null = null;
  if (opts.isCausal)
    keep = arange(S)
      .reshape([1, S])
      .le(arange(L).reshape([L, 1]));
  else if (opts.attnMask && opts.attnMask.dtype === 'bool') keep = opts.attnMask;
  else if (opts.attnMask) scores = scores.add(opts.attnMask);
  if (keep) scores = where(keep, scores, -Infinity);
  return attend(scores, value, opts.dropoutP ?? 0);
}

/** softmax(scores) v with dropout on the weights: the step SDPA and MultiheadAttention share */
export function attend(scores: Tensor, value: Tensor, dropoutP: number): Tensor {
  return attendWithWeights(scores, value, dropoutP)[0];
}
export function attendWithWeights(scores: Tensor, value: Tensor, dropoutP: number): [Tensor, Tensor] {
  const weights = scores.softmax(-1);
  const dropped = dropoutP ? dropout(weights, { p: dropoutP }) : weights;
  return [dropped.matmul(value), weights];
}
