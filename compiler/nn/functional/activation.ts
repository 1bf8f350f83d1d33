// nn.functional's activations: each the functional form of the layer of the same name (one
// formula, kept in the layer or the Tensor method; these wrappers add no arithmetic of their own).
import type { Tensor } from '../../tensor.js';
import { ELU, LeakyReLU, LogSoftmax, SiLU, Softmax, Softplus } from '../activations.js';
import { gelu as geluImpl } from '../layers.js';

export const relu = (input: Tensor): Tensor => input.relu();
export const gelu = (input: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor => geluImpl(input, opts);
export const leakyRelu = (input: Tensor, negativeSlope = 0.01): Tensor =>
  new LeakyReLU({ negativeSlope }).forward(input);
export const elu = (input: Tensor, alpha = 1): Tensor => new ELU({ alpha }).forward(input);
export const silu = (input: Tensor): Tensor => new SiLU().forward(input);
export const sigmoid = (input: Tensor): Tensor => input.sigmoid();
export const tanh = (input: Tensor): Tensor => input.tanh();
export const softplus = (input: Tensor, beta = 1, threshold = 20): Tensor =>
  new Softplus({ beta, threshold }).forward(input);
export const softmax = (input: Tensor, dim: number | null = null): Tensor => new Softmax({ dim }).forward(input);
export const logSoftmax = (input: Tensor, dim: number | null = null): Tensor => new LogSoftmax({ dim }).forward(input);
