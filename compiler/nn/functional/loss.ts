// nn.functional's losses: the functional form of each loss layer (same options, same formula).
import type { Tensor } from '../../tensor.js';
import {
  CrossEntropyLoss,
  MSELoss,
  NLLLoss,
  type CrossEntropyOptions,
  type NLLLossOptions,
  type Reduction,
} from '../loss.js';

export const crossEntropy = (input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor =>
  new CrossEntropyLoss(opts).forward(input, target);
export const mseLoss = (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor =>
  new MSELoss(opts).forward(input, target);
export { l1Loss, smoothL1Loss, huberLoss } from '../loss-elementwise.js';
export { binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv } from '../loss-prob.js';
export const nllLoss = (input: Tensor, target: Tensor, opts: NLLLossOptions = {}): Tensor =>
  new NLLLoss(opts).forward(input, target);
