// kiln's public API: PyTorch's names, in camelCase. See ../shared/CONTRACT.md.

export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as distributed from './distributed/index.js';
export { save, load } from './io.js';
export { compile, CompiledFunction, type CompileOptions } from './compile.js';
export {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  arange,
  where,
  noGrad,
  randn,
  rand,
  oneHot,
  type NestedList,
} from './tensor.js';
export { randint, randperm } from './tensor-create.js';
export { cat, stack, cumsum, indexSelect, norm, type NormOrder } from './tensor.js';
export { manualSeed, Generator } from './random.js';
export { KilnError } from './errors.js';
export { registerBackend, availableTargets, type Backend, type ProgramStats } from './backend.js';
export type { InputSpec } from './trace.js';
export { defineProgram, type ProgramDefinition, type FunctionSpec } from './build/define.js';
export { saveCheckpoint, loadCheckpoint, saveModel, loadModel, saveOptimizer, loadOptimizer } from './checkpoint.js';
