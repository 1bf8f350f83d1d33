export { Optimizer, ParamState, type ParamGroup, type ParamGroupInput } from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
