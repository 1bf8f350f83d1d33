// Optimizer hyperparameters as a compiled program refers to them, as records: a live value (a host
// cell the host program reads each run) and a guard (a structural choice traced into the graph,
// that compile() re-traces on and a bundle refuses to flip). The optimizer's live hyperparameters
// (optim/live.ts) make them; kiln build (build/hyper.ts) and the bundle runtime (bundle/hyper.ts)
// read their fields. `hyperName` derives the one printed name a record has (host program
// variables, a bundle's host values, `kiln inspect`, error messages). The runtime ships this file
// in bundles, so it imports nothing.

/** `paramGroups[group][key]` of optimizer number `optimizer`, or element `index` of it (betas) */
export interface HyperValueRef {
  optimizer: number;
  group: number;
  key: string;
  index?: number;
}

/** how a guard reads its hyperparameter: truthy, `!= 0` (PyTorch's `if weight_decay != 0:`), `> 0` */
export type GuardRule = 'flag' | 'nonzero' | 'positive';

/** a structural choice on `paramGroups[group][key]` baked into a trace */
export interface HyperGuardRef {
  optimizer: number;
  group: number;
  key: string;
  rule: GuardRule;
}

/** the optimizer still has the param groups a trace saw (`layout` counts groups ever added) */
export interface LayoutGuardRef {
  optimizer: number;
  layout: number;
}

export type OptimizerGuardRef = HyperGuardRef | LayoutGuardRef;

/** each rule's truth for a hyperparameter's value: one definition for tracing and for bundles */
export const GUARD_RULES: Record<GuardRule, (value: unknown) => boolean> = {
  flag: (v) => Boolean(v),
  nonzero: (v) => Number(v) !== 0,
  positive: (v) => Number(v) > 0,
};

const RULE_SUFFIX: Record<GuardRule, string> = { flag: '', nonzero: '!=0', positive: '>0' };

/** the printed name: `opt0.group1.betas[0]`, `opt0.group1.weightDecay!=0`, `opt0.layout@2` */
export function hyperName(ref: HyperValueRef | OptimizerGuardRef): string {
  const opt = `opt${ref.optimizer}`;
  if ('layout' in ref) return `${opt}.layout@${ref.layout}`;
  const tail = 'rule' in ref ? RULE_SUFFIX[ref.rule] : ref.index === undefined ? '' : `[${ref.index}]`;
  return `${opt}.group${ref.group}.${ref.key}${tail}`;
}

/** where a user sets the value: `paramGroups[1].betas[0]` */
export function paramGroupPath(ref: { group: number; key: string; index?: number }): string {
  return `paramGroups[${ref.group}].${ref.key}${ref.index === undefined ? '' : `[${ref.index}]`}`;
}

/** what a guard on `key` held at build, for messages: `amsgrad true`, `weightDecay != 0`, `momentum <= 0` */
export function guardText(key: string, rule: GuardRule, holds: boolean): string {
  switch (rule) {
    case 'flag':
      return `${key} ${holds}`;
    case 'nonzero':
      return `${key} ${holds ? '!=' : '=='} 0`;
    case 'positive':
      return `${key} ${holds ? '>' : '<='} 0`;
  }
}
