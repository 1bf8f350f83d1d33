// Optimizer state dicts in PyTorch's layout with camelCase keys:
//   { state: { 0: { step, expAvg, expAvgSq, ... } }, paramGroups: [{ lr, betas, ..., params: [0, 1] }] }
// Tensors are { shape, data: Float32Array } (as module state dicts); a state tensor that is
// PyTorch's None (SGD's momentumBuffer without momentum) is null. Values are the host copies:
// call `sync()` on a compiled function first when a device has run it.
import { KilnError, fmtShape } from '../errors.js';
import type { Parameter } from '../nn/parameter.js';
import type { ParamState } from './param-state.js';
import { assertHostCurrent, stateQueue } from '../state.js';

export interface StateTensor {
  shape: number[];
  data: Float32Array | ArrayLike<number>;
}
export interface OptimizerStateDict {
  state: Record<number | string, Record<string, any>>;
  paramGroups: Record<string, any>[];
}

type Group = Record<string, any> & { params: Parameter[] };

/** what a state dict reads and writes of an optimizer (optimizer.ts's Optimizer, whose methods call these) */
export interface StatefulOptimizer {
  readonly paramGroups: Group[];
  readonly state: Map<Parameter, ParamState>;
  readonly hasStep: boolean;
  hasState(st: ParamState): boolean;
  stateOf(p: Parameter): ParamState;
  stateKeys(group: Group): string[];
  requiredStateKeys(group: Group): string[];
  checkGroup(group: Record<string, unknown>, owner: string): void;
  checkGroupKeys(group: Record<string, unknown>, owner: string): void;
}

export function optimizerStateDict(opt: StatefulOptimizer): OptimizerStateDict {
  assertHostCurrent('optimizer.stateDict()'); // step counters too
  const state: OptimizerStateDict['state'] = {};
  let index = 0;
  const paramGroups = opt.paramGroups.map((g) => {
    const { params, ...opts } = g;
    const ids = (params as Parameter[]).map((p) => {
      const st = opt.state.get(p);
      if (st && opt.hasState(st)) {
        const entry: Record<string, unknown> = opt.hasStep ? { step: st.step.value } : {};
        for (const k of opt.stateKeys(g)) {
          const c = st.tensors.get(k);
          const data = c && c.defined ? Float32Array.from(c.read('optimizer.stateDict()')) : null;
          entry[k] = data && { shape: [...c!.shape], data };
        }
        state[index] = entry;
      }
      return index++;
    });
    return { ...structuredClone(opts), params: ids };
  });
  return { state, paramGroups };
}

const isTensor = (v: any): v is StateTensor =>
  v !== null && typeof v === 'object' && Array.isArray(v.shape) && v.data !== undefined;

export function loadOptimizerState(opt: StatefulOptimizer, sd: OptimizerStateDict): void {
  if (
    !sd ||
    typeof sd !== 'object' ||
    !Array.isArray(sd.paramGroups) ||
    sd.state === null ||
    typeof sd.state !== 'object'
  ) {
    throw new KilnError('loaded state dict is not an optimizer state dict ({ state, paramGroups })');
  }
  const groups = opt.paramGroups;
  if (sd.paramGroups.length !== groups.length) {
    throw new KilnError('loaded state dict has a different number of parameter groups');
  }
  if (sd.paramGroups.some((g, i) => !Array.isArray(g?.params) || g.params.length !== groups[i].params.length)) {
    throw new KilnError(
      "loaded state dict contains a parameter group that doesn't match the size of optimizer's group",
    );
  }
  // the groups as they will be: hyperparameters checked as the constructor checks them
  const name = opt.constructor.name;
  const merged = sd.paramGroups.map((g, i) => {
    const { params: _ids, ...opts } = structuredClone(g);
    opt.checkGroupKeys(opts, `${name} (loaded param group ${i})`);
    const candidate = { ...groups[i], ...opts };
    opt.checkGroup(candidate, `${name} (loaded param group ${i})`);
    return { opts, candidate };
  });
  // saved ids -> our parameters and their groups, in group order (PyTorch's id_map); state of other ids is ignored
  const byId = new Map<string, [Parameter, number]>();
  sd.paramGroups.forEach((g, gi) =>
    g.params.forEach((id: number, i: number) => {
      byId.set(String(id), [groups[gi].params[i], gi]);
    }),
  );
  const entries: [Parameter, Record<string, any>][] = [];
  for (const [id, entry] of Object.entries(sd.state)) {
    const found = byId.get(id);
    if (!found || entry === null || typeof entry !== 'object') continue;
    const [p, gi] = found;
    // what a step reads: PyTorch's `state['step']` raises KeyError when it is not there
    const required = opt.requiredStateKeys(merged[gi].candidate);
    for (const k of required) {
      if (entry[k] === undefined || entry[k] === null) {
        const why = `the loaded state of parameter ${id} has no ${k}; ${name} keeps ${required.join(', ')}`;
        throw new KilnError(`KeyError: '${k}' (${why})`);
      }
    }
    if (entry.step !== undefined) {
      const step = isTensor(entry.step) ? Number(entry.step.data[0]) : entry.step;
      if (typeof step !== 'number' || !(step >= 0) || !Number.isFinite(step)) {
        const got = JSON.stringify(entry.step);
        throw new KilnError(`loaded state dict: step of parameter ${id} must be a non-negative number, got ${got}`);
      }
    }
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'step' || v === null) continue;
      if (!isTensor(v) || v.shape.join() !== p.cell.shape.join() || v.data.length !== p.cell.data.length) {
        const got = isTensor(v) ? `shape ${fmtShape(v.shape)}` : typeof v;
        const want = `a tensor of shape ${fmtShape(p.cell.shape)}`;
        throw new KilnError(`loaded state dict: state '${k}' of parameter ${id} must be ${want}, got ${got}`);
      }
    }
    entries.push([p, entry]);
  }
  // validated: apply. Hyperparameters come from the dict (compiled steps read them live);
  // state is reset and refilled in place, since compiled programs keep reading the same cells.
  merged.forEach(({ opts }, i) => Object.assign(groups[i], opts));
  // the state itself after every run issued before this call (copied now: the caller may reuse it)
  const loaded = entries.map(([p, entry]) => ({
    p,
    step: entry.step === undefined ? 1 : Number(isTensor(entry.step) ? entry.step.data[0] : entry.step),
    tensors: Object.entries(entry)
      .filter(([k]) => k !== 'step')
      .map(([k, v]) => [k, v === null ? null : Float32Array.from((v as StateTensor).data)] as const),
  }));
  stateQueue.apply(() => {
    for (const st of opt.state.values()) st.reset();
    for (const { p, step, tensors } of loaded) {
      const st = opt.stateOf(p);
      st.step.value = step;
      for (const [k, v] of tensors) {
        const cell = st.tensor(k, 0, v !== null);
        if (v === null) {
          cell.defined = false;
          continue;
        }
        cell.write(v);
        cell.defined = true;
      }
    }
  });
}
