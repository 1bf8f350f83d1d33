// nn.functional's dropout: the one formula of nn.Dropout (compiler/nn/dropout.ts calls it).
import { KilnError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { rand, type Tensor } from '../../tensor.js';

export function checkDropoutP(p: number): void {
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new KilnError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
}

/**
 * PyTorch's F.dropout: in training, each element is kept with probability 1 - p and scaled by
 * 1/(1-p), so the expectation is unchanged; p = 1 gives zeros, p = 0 or training false the input.
 * The mask comes from kiln's own counter-based generator (`rand`: inside compile() a fresh draw every
 * run, random-traced.ts), NOT PyTorch's, so the kept elements differ from PyTorch's for the same seed.
 * The gradient is g * mask / (1-p): autodiff of the product with the same mask the forward used.
 */
export function dropout(input: Tensor, opts: { p?: number; training?: boolean; inplace?: boolean } = {}): Tensor {
  checkOptions('dropout', opts, ['p', 'training', 'inplace']);
  const p = opts.p ?? 0.5;
  checkDropoutP(p);
  if (!(opts.training ?? true) || p === 0 || input.numel() === 0) return input;
  if (p === 1) return input.mul(0);
  const keep = rand(input.shape).lt(1 - p);
  return input.mul(keep.float().mul(1 / (1 - p)));
}
