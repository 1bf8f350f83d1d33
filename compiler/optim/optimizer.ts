// The Optimizer base, with PyTorch 1.13's behaviour: constructor keywords validated with PyTorch's
// messages, param groups filled from the defaults, lazily created per-parameter state, parameters
// whose grad is None skipped (their state does not advance), state dicts in PyTorch's layout.
// `step()` is traced like the model: each in-place update becomes a state assignment, step
// counters live in host cells, and hyperparameters are read live at run time (see live.ts).
import { KilnError } from '../errors.js';
import { Tensor, noGrad, zeros } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { HostScalar } from '../host-scalar.js';
import { Parameter } from '../nn/parameter.js';
import { LiveHyper } from './live.js';
import { ParamState } from './param-state.js';
import { loadOptimizerState, optimizerStateDict, type OptimizerStateDict } from './state-dict.js';
import { checkOptions, closestOption, unknownOptionMessage } from '../options.js';

export { ParamState } from './param-state.js';
export type { OptimizerStateDict } from './state-dict.js';

export type ParamGroup<O> = O & { params: Parameter[] };
export type ParamGroupInput<O> = Partial<O> & { params: Iterable<Parameter> | Parameter };
export type Params<O> = Iterable<Parameter> | Iterable<ParamGroupInput<O>>;

/** what an update reads of its group: live numbers and guarded structural choices */
export class GroupView<O> {
  constructor(
    private readonly live: LiveHyper,
    readonly index: number,
    readonly group: ParamGroup<O>,
  ) {}
  /** a numeric hyperparameter, read at run time (float64 on the host) */
  num(key: keyof O & string, i?: number): HostScalar {
    return this.live.num(this.index, key, i);
  }
  /** a structural choice (`group[key]` is truthy), baked into the trace and guarded */
  flag(key: keyof O & string): boolean {
    return this.live.is(this.index, key, 'flag');
  }
  /** `group[key] != 0` (PyTorch's `if weight_decay != 0:`), baked and guarded */
  nonzero(key: keyof O & string): boolean {
    return this.live.is(this.index, key, 'nonzero');
  }
  /** `group[key] > 0` (RMSprop's `if momentum > 0:`), baked and guarded */
  positive(key: keyof O & string): boolean {
    return this.live.is(this.index, key, 'positive');
  }
}

/**
 * A number as Python prints it in PyTorch's messages (`1e-08`, `nan`, `inf`). JS has one number
 * type, so integral values print as Python ints (`Invalid learning rate: -1`).
 */
export function pyNum(x: number): string {
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return String(x);
  const [mant, e] = x.toExponential().split('e');
  const exp = Number(e);
  return exp < -4 || exp >= 16 ? `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}` : String(x);
}

let optimizerCount = 0;

/** keys the lr schedulers add to a param group (PyTorch's initial_lr, max_lr, ...): never near misses */
const SCHEDULER_KEYS = ['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum'];

/** `defaults` overridden by the user's `opts`, which may name only keys of `defaults` */
export function withDefaults<O extends object>(owner: string, defaults: O, opts: Partial<O> | undefined): O {
  checkOptions(owner, opts, Object.keys(defaults));
  return { ...defaults, ...opts };
}

const describe = (v: unknown) =>
  typeof v === 'string' ? `string '${v}'` : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);

/** hyperparameters of the type their defaults have (JS compares '0.1' < 0 without complaint) */
function checkHyperTypes(owner: string, group: Record<string, unknown>, defaults: Record<string, unknown>): void {
  for (const [k, dv] of Object.entries(defaults)) {
    const v = group[k];
    if (v === undefined) continue; // a required option left out: addParamGroup names it
    const ok =
      typeof dv === 'boolean'
        ? typeof v === 'boolean'
        : Array.isArray(dv)
          ? Array.isArray(v) && v.length === dv.length && v.every((x) => typeof x === 'number')
          : typeof v === 'number';
    if (!ok) {
      const want = typeof dv === 'boolean' ? 'a boolean' : Array.isArray(dv) ? `${dv.length} numbers` : 'a number';
      throw new KilnError(`${owner}: ${k} must be ${want}, got ${describe(v)}`);
    }
  }
}

export abstract class Optimizer<O extends object> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Parameter, ParamState>();
  protected readonly live: LiveHyper;
  /** bumped when groups are added: a compiled step traced over fewer groups must re-trace */
  private layout = 0;

  /** @internal its number in the records of its live host values and guards (runtime/hyper-ref.ts) */
  get liveId(): number {
    return this.live.optimizer;
  }

  constructor(
    params: Params<O>,
    readonly defaults: O,
  ) {
    this.checkGroup(defaults, this.constructor.name); // PyTorch checks the keywords before looking at the parameters
    this.live = new LiveHyper(optimizerCount++, (gi) => this.paramGroups[gi] as Record<string, unknown> | undefined);
    if (params instanceof Tensor) {
      throw new KilnError(
        `params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${params}`,
      );
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new KilnError('optimizer got an empty parameter list');
    const groups =
      list[0] instanceof Tensor
        ? [{ params: list as Parameter[] } as unknown as ParamGroupInput<O>]
        : (list as ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  addParamGroup(group: ParamGroupInput<O>): void {
    if (group === null || typeof group !== 'object' || !('params' in group)) {
      throw new KilnError('param group must be a dict');
    }
    const raw = group.params;
    if (raw instanceof Set) {
      throw new KilnError(
        'optimizer parameters need to be organized in ordered collections, ' +
          'but the ordering of tensors in sets will change between runs. Please use a list instead.',
      );
    }
    const params = raw instanceof Tensor ? [raw] : [...(raw as Iterable<unknown>)];
    for (const p of params) {
      if (p instanceof Tensor && !(p instanceof Parameter)) throw new KilnError("can't optimize a non-leaf Tensor");
      if (!(p instanceof Parameter)) {
        throw new KilnError(
          `optimizer can only optimize Tensors, but one of the params is ${p === null ? 'null' : typeof p}`,
        );
      }
    }
    for (const [k, v] of Object.entries(this.defaults)) {
      if (v === undefined && (group as Record<string, unknown>)[k] === undefined) {
        throw new KilnError(`parameter group didn't specify a value of required optimization parameter ${k}`);
      }
    }
    if (new Set(params).size !== params.length) {
      console.warn(
        'optimizer contains a parameter group with duplicate parameters; in future, this will cause an error',
      );
    }
    // PyTorch keeps keys of its own in a group (a scheduler's initial_lr): only a near miss is an error
    this.checkGroupKeys(group as Record<string, unknown>, `${this.constructor.name} param group`);
    const owner = `${this.constructor.name} param group ${this.paramGroups.length}`;
    checkHyperTypes(owner, group as Record<string, unknown>, this.defaults as Record<string, unknown>);
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p as Parameter))) {
      throw new KilnError('some parameters appear in more than one parameter group');
    }
    const filled = { ...structuredClone(this.defaults), ...group, params } as ParamGroup<O>;
    for (const k of Object.keys(filled) as (keyof typeof filled)[]) {
      if (filled[k] === undefined) filled[k] = (this.defaults as any)[k];
    }
    this.paramGroups.push(filled);
    this.layout++;
    this.initGroup(filled);
  }

  /** throws PyTorch's messages for invalid constructor keywords */
  protected abstract validate(defaults: O): void;

  /** @internal hyperparameters of the right types and values (the constructor's checks) */
  checkGroup(group: Record<string, unknown> | O, owner: string): void {
    checkHyperTypes(owner, group as Record<string, unknown>, this.defaults as Record<string, unknown>);
    this.validate(group as O);
  }

  /** @internal a group's key that is not an option but looks like one (`weight_decay`) is an error */
  checkGroupKeys(group: Record<string, unknown>, owner: string): void {
    const valid = Object.keys(this.defaults);
    for (const k of Object.keys(group)) {
      if (k !== 'params' && !valid.includes(k) && !SCHEDULER_KEYS.includes(k) && closestOption(k, valid)) {
        throw new KilnError(unknownOptionMessage(k, owner, valid));
      }
    }
  }

  /** the per-parameter state a step reads: a loaded state without one is PyTorch's KeyError */
  requiredStateKeys(group: ParamGroup<O>): string[] {
    return this.hasStep ? ['step', ...this.stateKeys(group)] : [];
  }

  /** one parameter's update inside a trace */
  protected abstract update(p: Parameter, grad: Tensor, group: GroupView<O>, state: ParamState): void;

  /** the state keys (camelCased PyTorch names) a parameter of `group` has, for stateDict */
  abstract stateKeys(group: ParamGroup<O>): string[];

  /** whether stateDict shows `step` (SGD has none) */
  get hasStep(): boolean {
    return true;
  }

  /** eager state creation (Adagrad creates its state in the constructor) */
  protected initGroup(_group: ParamGroup<O>): void {}

  /** the parameter's state, created empty if new */
  stateOf(p: Parameter): ParamState {
    let st = this.state.get(p);
    if (!st) {
      st = new ParamState(p);
      this.state.set(p, st);
    }
    return st;
  }

  /** whether the parameter has state PyTorch would show in state_dict() */
  hasState(st: ParamState): boolean {
    return st.step.value > 0;
  }

  /** sets every gradient to None (default) or to zeros */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (setToNone) p.grad = null;
        else if (p.grad) p.grad = zeros(p.shape);
      }
  }

  step(): void {
    if (!currentTrace()) {
      throw new KilnError(
        'optimizer.step() runs inside a compiled function: call it from the function given to compile()',
      );
    }
    const layout = this.layout;
    this.live.layout(layout, () => this.layout === layout);
    noGrad(() => {
      this.paramGroups.forEach((group, gi) => {
        const view = new GroupView(this.live, gi, group);
        for (const p of group.params) {
          const grad = p.grad;
          if (!grad) continue; // PyTorch skips parameters without a gradient: no update, no step
          this.update(p, grad, view, this.stateOf(p));
        }
      });
    });
  }

  /** PyTorch's layout: state by parameter index, groups with their options and param indices */
  stateDict(): OptimizerStateDict {
    return optimizerStateDict(this);
  }

  /** PyTorch's rules and errors; a dict that does not fit changes nothing */
  loadStateDict(sd: OptimizerStateDict): void {
    loadOptimizerState(this, sd);
  }
}
