export { Module, type StateDict } from './module.js';
export { Parameter, type TensorData } from './parameter.js';
export { GELU, Linear, ReLU } from './layers.js';
export { ModuleDict, ModuleList, Sequential, type NamedModules } from './containers.js';
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
// buffers and batch normalisation
export { Buffer } from './buffer.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormModuleOptions } from './batchnorm.js';
// gradient clipping (nn.utils.clipGradNorm_, clipGradValue_)
export * as utils from './utils.js';
export * as init from './init.js';
export { Embedding } from './embedding.js';
// convolution and pooling
export { Conv1d, Conv2d } from './conv.js';
export { AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d } from './pooling.js';
export { TransformerEncoder, TransformerEncoderLayer } from './transformer.js';
// data-parallel training over a process group (nn.parallel.DistributedDataParallel)
export * as parallel from './parallel.js';
