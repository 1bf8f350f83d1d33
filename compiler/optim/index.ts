export {
  Optimizer,
  ParamState,
  GroupView,
  type ParamGroup,
  type ParamGroupInput,
  type Params,
  type OptimizerStateDict,
} from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { SGD, type SGDOptions } from './sgd.js';
export * as lrScheduler from './lr-scheduler.js';
