// nn.functional's normalisations: the one formula of LayerNorm (compiler/nn/normalization.ts calls it).
import { KilnError, fmtShape } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { Tensor } from '../../tensor.js';

export interface LayerNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/**
 * PyTorch's F.layer_norm over the last normalizedShape.length dims, as its CPU kernel: the mean, the
 * biased variance, rstd = 1/sqrt(var + eps), (x - mean) * rstd, then * weight + bias. The gradient is
 * autodiff's of that composition (the same function PyTorch's layer_norm_backward differentiates).
 */
export function layerNorm(input: Tensor, normalizedShape: number[] | number, opts: LayerNormOptions = {}): Tensor {
  checkOptions('layerNorm', opts, ['weight', 'bias', 'eps']);
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  const k = shape.length,
    tail = input.shape.slice(input.ndim - k);
  if (k === 0 || input.ndim < k || tail.some((d, i) => d !== shape[i])) {
    throw new KilnError(
      `Given normalized_shape=${fmtShape(shape)}, expected input with shape [${['*', ...shape].join(', ')}], ` +
        `but got input of size${fmtShape(input.shape)}`,
    );
  }
  for (const [name, p] of [
    ['weight', opts.weight],
    ['bias', opts.bias],
  ] as const) {
    if (p && (p.ndim !== k || p.shape.some((d, i) => d !== shape[i]))) {
      throw new KilnError(
        `layerNorm: Expected ${name} to be of same shape as normalized_shape, but got ${name} of shape ` +
          `${fmtShape(p.shape)} and normalized_shape = ${fmtShape(shape)}`,
      );
    }
  }
  const eps = opts.eps ?? 1e-5;
  const dims = shape.map((_, i) => input.ndim - k + i);
  const mean = input.mean(dims, true);
  const centred = input.sub(mean);
  const rstd = centred.mul(centred).mean(dims, true).add(eps).sqrt().reciprocal();
  let y = centred.mul(rstd);
  if (opts.weight) y = y.mul(opts.weight);
  if (opts.bias) y = y.add(opts.bias);
  return y;
}

/**
 * PyTorch's F.group_norm: input [N, C, *] in numGroups groups of C/numGroups channels, each group
 * normalised as layerNorm normalises (the same mean, biased variance and rstd), then per-channel
 * weight and bias.
 */
export function groupNorm(input: Tensor, numGroups: number, opts: LayerNormOptions = {}): Tensor {
  checkOptions('groupNorm', opts, ['weight', 'bias', 'eps']);
  const [n, c] = input.shape;
  if (input.ndim < 2 || c % numGroups !== 0) {
    throw new KilnError(
      `Expected number of channels in input to be divisible by num_groups, but got input of shape ` +
        `${fmtShape(input.shape)} and num_groups=${numGroups}`,
    );
  }
  const grouped = input.reshape([n, numGroups, input.numel() / (n * numGroups)]);
  let y = layerNorm(grouped, [grouped.shape[2]], { eps: opts.eps }).reshape(input.shape);
  const perChannel = [c, ...input.shape.slice(2).map(() => 1)];
  if (opts.weight) y = y.mul(opts.weight.reshape(perChannel));
  if (opts.bias) y = y.add(opts.bias.reshape(perChannel));
  return y;
}
