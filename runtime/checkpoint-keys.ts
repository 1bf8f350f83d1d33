// The checkpoint key scheme, PyTorch's state_dict flattened into safetensors names. Every writer
// and reader of checkpoints and bundle state goes through this module, so the scheme lives once:
//   model.safetensors      the model's state_dict() keys (`0.weight`, `bn.running_mean`); a
//                          parameter the model does not name is `params.<i>` (its optimizer index)
//   optimizer.safetensors  `state.<i>.<key>` per tensor of parameter i's state, snake_case as
//                          PyTorch names it (`state.0.exp_avg`, `state.0.momentum_buffer`);
//                          `state.<i>.step` an F32 scalar (shape []), as torch 1.13 keeps it;
//                          `__metadata__.param_groups` the JSON of `param_groups`, snake_case keys
//   extra.safetensors      gradients (`<key>.grad`) and cells no checkpoint names
// The bundle runtime ships this file, so it imports nothing.

export type CheckpointFile = 'model' | 'optimizer' | 'extra';

/** PyTorch's name for a kiln (camelCase) key: `expAvgSq` -> `exp_avg_sq` */
export const snakeKey = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** kiln's name for a PyTorch (snake_case) key: `weight_decay` -> `weightDecay` */
export const camelKey = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** optimizer state `key` (camelCase; `step` too) of parameter `param`: `state.0.exp_avg` */
export const stateKey = (param: number | string, key: string): string => `state.${param}.${snakeKey(key)}`;

const STATE_KEY = /^state\.(\d+)\.(\w+)$/;

/** `state.<i>.<name>` as parameter index and camelCase key, or undefined for any other name */
export function parseStateKey(name: string): { param: number; key: string } | undefined {
  const m = STATE_KEY.exec(name);
  return m ? { param: Number(m[1]), key: camelKey(m[2]) } : undefined;
}

/** a parameter's step counter (a host value, not a tensor cell) */
export const isStepKey = (name: string): boolean => parseStateKey(name)?.key === 'step';

/** the gradient of the tensor named `key` */
export const gradKey = (key: string): string => `${key}.grad`;

/** a parameter the model does not name, by its index in the optimizer's param groups */
export const unnamedParamKey = (index: number): string => `params.${index}`;

/** which checkpoint file a key belongs to */
export const checkpointFileOf = (key: string): CheckpointFile =>
  /^state\.\d+\./.test(key) ? 'optimizer' : key.endsWith('.grad') ? 'extra' : 'model';

/** optimizer.safetensors' `__metadata__`: `param_groups` is already JSON (paramGroupsJson) */
export const optimizerMetadata = (paramGroups: string): Record<string, string> => ({
  format: 'pt',
  param_groups: paramGroups,
});

/** the `param_groups` metadata entry of an optimizer file, if it has one */
export const paramGroupsOf = (metadata: Record<string, string>): string | undefined => metadata.param_groups;

/** kiln's param groups (camelCase keys, `params` as indices) as the JSON PyTorch's keys spell */
export const paramGroupsJson = (groups: Record<string, unknown>[]): string =>
  JSON.stringify(groups.map((g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [snakeKey(k), v]))));

/** a param group read back from that JSON, with kiln's camelCase keys */
export const camelGroup = (g: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(g).map(([k, v]) => [camelKey(k), v]));
