export { Module, type StateDict } from './module.js';
export { Parameter, type TensorData } from './parameter.js';
export { GELU, Linear, ReLU, Sequential } from './layers.js';
export { CrossEntropyLoss, MSELoss, NLLLoss, type Reduction } from './loss.js';
export { BCELoss, BCEWithLogitsLoss, KLDivLoss } from './loss-prob.js';
export { L1Loss, SmoothL1Loss, HuberLoss } from './loss-elementwise.js';
export {
  ELU,
  Flatten,
  Identity,
  LeakyReLU,
  LogSoftmax,
  SiLU,
  Sigmoid,
  Softmax,
  Softplus,
  Tanh,
  Unflatten,
} from './activations.js';
export * as functional from './functional/index.js';
// normattn (norms, dropout, attention)
export { GroupNorm, LayerNorm } from './normalization.js';
export { Dropout } from './dropout.js';
export { MultiheadAttention } from './attention.js';
export { TransformerEncoder, TransformerEncoderLayer } from './transformer.js';
