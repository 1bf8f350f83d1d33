// nn.Dropout: F.dropout with the module's training flag (train() / eval()).
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import { checkDropoutP, dropout } from './functional/dropout.js';
import { Module } from './module.js';

/** PyTorch's nn.Dropout; masks come from kiln's own generator, not PyTorch's (see F.dropout) */
export class Dropout extends Module {
  readonly inplace: boolean;
  constructor(
    readonly p = 0.5,
    opts: { inplace?: boolean } = {},
  ) {
    super();
    checkOptions('Dropout', opts, ['inplace']);
    checkDropoutP(p);
    // kiln's tensors are values: inplace changes nothing observable, so it is accepted and recorded
    this.inplace = opts.inplace ?? false;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }
}
