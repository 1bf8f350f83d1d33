// The Optimizer base, with PyTorch's behaviour: param groups filled from defaults, lazily created
// per-parameter state, parameters whose grad is None skipped (their state does not advance),
// state dicts in PyTorch's layout. `step()` is traced like the model: each in-place update
// becomes a state assignment, and step counters live in host cells.
import { KilnError } from '../errors.js';
import { HostCell, TensorCell } from '../state.js';
import { Tensor, noGrad } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { HostScalar } from '../host-scalar.js';
import { Parameter } from '../nn/parameter.js';

export type ParamGroup<O> = O & { params: Parameter[] };
export type ParamGroupInput<O> = Partial<O> & { params: Iterable<Parameter> };

/** one parameter's optimizer state: a step counter on the host and tensors on the device */
export class ParamState {
  readonly step: HostCell;
  readonly tensors = new Map<string, TensorCell>();
  private readonly inits = new Map<string, number | Float32Array>();
  constructor(readonly param: Parameter) { this.step = new HostCell(`${param.cell.name}.step`, 0); }

  /** the state tensor `key`, created with `init` on first use (PyTorch's lazy state init) */
  tensor(key: string, init: number | Float32Array = 0): TensorCell {
    let c = this.tensors.get(key);
    if (!c) {
      c = TensorCell.zeros(`${this.param.cell.name}.${key}`, this.param.cell.shape);
      if (typeof init === 'number') c.data.fill(init); else c.data.set(init);
      this.tensors.set(key, c);
      this.inits.set(key, init);
    }
    return c;
  }
  read(key: string, init?: number): Tensor {
    return Tensor.fromNode(currentTrace()!.read(this.tensor(key, init))!);
  }
  /** back to the state before the first step (compiled programs keep pointing at these cells) */
  reset(): void {
    this.step.value = 0;
    for (const [k, c] of this.tensors) {
      const init = this.inits.get(k)!;
      c.write(typeof init === 'number' ? new Float32Array(c.data.length).fill(init) : init);
    }
  }
  write(key: string, value: Tensor): void { currentTrace()!.assign(this.tensor(key), value.node); }
  /** `state['step'] += 1` on the host; returns the new step as a host scalar */
  incrementStep(): HostScalar {
    const t = currentTrace()!;
    t.hostAssign(this.step, t.hostRead(this.step).add(1));
    return t.hostRead(this.step);
  }
}

export abstract class Optimizer<O extends object> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Parameter, ParamState>();

  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<O>>, readonly defaults: O) {
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new KilnError('optimizer got an empty parameter list');
    const groups = list[0] instanceof Parameter ? [{ params: list as Parameter[] } as unknown as ParamGroupInput<O>] : (list as ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  addParamGroup(group: ParamGroupInput<O>): void {
    if (group === null || typeof group !== 'object' || !('params' in group)) throw new KilnError('param group must be a dict');
    const params = group.params instanceof Parameter ? [group.params] : [...group.params];
    for (const p of params) {
      if (!(p instanceof Parameter)) throw new KilnError(`optimizer can only optimize Tensors, but one of the params is ${typeof p}`);
    }
    if (new Set(params).size !== params.length) {
      console.warn('optimizer contains a parameter group with duplicate parameters; in future, this will cause an error');
    }
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p))) throw new KilnError('some parameters appear in more than one parameter group');
    const filled = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validate(filled);
    this.paramGroups.push(filled);
  }

  /** throws PyTorch's messages for invalid hyperparameters */
  protected abstract validate(group: O): void;

  /** the update of one parameter inside a trace (grad is already `maximize`-negated if needed) */
  protected abstract update(p: Parameter, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  /** names of the state tensors, in PyTorch's camelCased keys, for stateDict */
  protected abstract stateKeys(group: ParamGroup<O>): string[];

  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) for (const p of g.params) {
      if (setToNone) p.grad = null;
      else if (p.grad) p.grad = p.grad.mul(0);
    }
  }

  step(): void {
    if (!currentTrace()) throw new KilnError('optimizer.step() runs inside a compiled function: call it from the function given to compile()');
    noGrad(() => {
      for (const group of this.paramGroups) for (const p of group.params) {
        const grad = p.grad;
        if (!grad) continue; // PyTorch skips parameters without a gradient
        let st = this.state.get(p);
        if (!st) { st = new ParamState(p); this.state.set(p, st); }
        this.update(p, grad, group, st);
      }
    });
  }

  private index(): Parameter[] { return this.paramGroups.flatMap((g) => g.params); }

  /** PyTorch's layout: state by parameter index, groups with their options and param indices */
  stateDict(): { state: Record<number, Record<string, unknown>>; paramGroups: Record<string, unknown>[] } {
    const all = this.index();
    const state: Record<number, Record<string, unknown>> = {};
    let base = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      params.forEach((p, i) => {
        const st = this.state.get(p);
        if (!st || st.step.value === 0) return;
        const entry: Record<string, unknown> = { step: st.step.value };
        for (const k of this.stateKeys(g)) {
          const c = st.tensors.get(k);
          if (c) entry[k] = { shape: [...c.shape], data: Float32Array.from(c.data) };
        }
        state[all.indexOf(p)] = entry;
        void i;
      });
      const ids = params.map((_, i) => base + i);
      base += params.length;
      return { ...structuredClone(opts), params: ids };
    });
    return { state, paramGroups };
  }

  /** PyTorch's rules and errors; nothing changes when the dict does not fit */
  loadStateDict(sd: { state: Record<number | string, Record<string, any>>; paramGroups: Record<string, any>[] }): void {
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') throw new KilnError('loaded state dict is not a valid optimizer state dict');
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new KilnError('loaded state dict has a different number of parameter groups');
    }
    sd.paramGroups.forEach((g, i) => {
      if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[i].params.length) {
        throw new KilnError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
      }
    });
    const all = this.index();
    const ids = sd.paramGroups.flatMap((g) => g.params as number[]);
    const byId = new Map(ids.map((id, i) => [String(id), all[i]]));
    for (const [id, entry] of Object.entries(sd.state)) {
      const p = byId.get(id);
      if (!p) throw new KilnError(`loaded state dict has state for an unknown parameter ${id}`);
      for (const [k, v] of Object.entries(entry)) {
        if (k === 'step') continue;
        if (!v || !Array.isArray(v.shape) || v.shape.join() !== p.cell.shape.join() || v.data?.length !== p.cell.data.length) {
          throw new KilnError(`loaded state dict: ${k} of parameter ${id} has shape [${v?.shape}], expected [${p.cell.shape}]`);
        }
      }
    }
    // validated: now apply
    sd.paramGroups.forEach((g, i) => {
      const { params, ...opts } = g;
      Object.assign(this.paramGroups[i], opts);
    });
    // in place: compiled programs keep reading the same cells
    for (const st of this.state.values()) st.reset();
    for (const [id, entry] of Object.entries(sd.state)) {
      const p = byId.get(id)!;
      let st = this.state.get(p);
      if (!st) { st = new ParamState(p); this.state.set(p, st); }
      st.step.value = Number(entry.step ?? 0);
      for (const [k, v] of Object.entries(entry)) if (k !== 'step') st.tensor(k).write(v.data);
    }
  }
}
