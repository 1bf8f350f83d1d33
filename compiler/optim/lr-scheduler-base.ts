// The learning-rate scheduler base, as PyTorch 1.13's torch.optim.lr_scheduler._LRScheduler.
// A scheduler runs on the host between compiled steps: it writes `optimizer.paramGroups[i].lr`
// (and OneCycleLR the momentum or betas[0]), which a compiled step reads live at every run (live.ts),
// so a changing schedule never re-traces. Its state dict is PyTorch's `__dict__` without the
// optimizer, with camelCased keys (`lastEpoch`, `baseLrs`, `_stepCount`, `_lastLr`), as the
// optimizer's state dict camelCases its keys; the key a scheduler adds to each param group is
// `initialLr` (PyTorch's `initial_lr`).
import { KilnError } from '../errors.js';
import { currentTrace } from '../trace-context.js';
import { unknownOptionMessage } from '../options.js';
import { Optimizer } from './optimizer.js';

export type AnyOptimizer = Optimizer<any>;
export type Group = Record<string, any>;
export type SchedulerStateDict = Record<string, unknown>;

const EPOCH_DEPRECATION_WARNING =
  'The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. ' +
  'Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from ' +
  'None, the closed form is used instead of the new chainable form, where available. Please open an issue ' +
  'if you are unable to replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose.';

const warned = new Set<string>();
/** Python's warnings.warn shows a warning once per call site; here once per message */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`UserWarning: ${message}`);
}

/** `{:.4e}` as Python formats it (two-digit exponent) */
export function fmt4e(x: number): string {
  const [m, e] = x.toExponential(4).split('e');
  const n = Number(e);
  return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}

export function checkOptimizer(optimizer: unknown): asserts optimizer is AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) {
    const name = optimizer === null || optimizer === undefined ? String(optimizer) : optimizer.constructor.name;
    throw new KilnError(`TypeError: ${name} is not an Optimizer`);
  }
}

/** a scheduler's step changes what a compiled step reads: it belongs on the host, between runs */
export function checkNotTracing(what: string): void {
  if (currentTrace()) {
    throw new KilnError(
      `${what} runs on the host between compiled steps (it sets the live learning rate): ` +
        'call it outside the function given to compile()',
    );
  }
}

/** a value given once or per param group (PyTorch's _format_param) */
export function formatParam<T>(name: string, optimizer: AnyOptimizer, param: T | T[]): T[] {
  const n = optimizer.paramGroups.length;
  if (Array.isArray(param)) {
    if (param.length !== n) throw new KilnError(`ValueError: expected ${n} values for ${name}, got ${param.length}`);
    return [...param];
  }
  return Array.from({ length: n }, () => param);
}

/** an integer (Python's int), for the arguments PyTorch uses as counts and indices */
export function checkInt(owner: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new KilnError(`${owner}: ${name} must be an integer, got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  }
  return v;
}

/** snapshot of the own fields of a scheduler (PyTorch's `__dict__`), minus `skip` */
export function ownState(obj: object, skip: readonly string[]): SchedulerStateDict {
  const out: SchedulerStateDict = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'optimizer' || skip.includes(k) || v === undefined || typeof v === 'function') continue;
    out[k] = structuredClone(v);
  }
  return out;
}

/** PyTorch's `__dict__.update(state_dict)`, but keys it does not know are an error and change nothing */
export function loadOwnState(obj: object, sd: SchedulerStateDict, skip: readonly string[]): void {
  const owner = `${obj.constructor.name}.loadStateDict`;
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) {
    throw new KilnError(`${owner}: expected a state dict object, got ${Array.isArray(sd) ? 'an array' : typeof sd}`);
  }
  const valid = Object.keys(ownState(obj, skip)).concat(['_lastLr']);
  for (const k of Object.keys(sd)) {
    if (!valid.includes(k) && !skip.includes(k)) throw new KilnError(unknownOptionMessage(k, owner, valid));
  }
  for (const [k, v] of Object.entries(sd))
    if (!skip.includes(k)) (obj as Record<string, unknown>)[k] = structuredClone(v);
}

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** the learning rates of the groups at `lastEpoch = -1` (their `initialLr`) */
  baseLrs: number[] = [];
  lastEpoch = -1;
  verbose = false;
  _stepCount = 0;
  _getLrCalledWithinStep = false;
  _lastLr: number[] = [];

  /** subclasses set their fields, then call `this.initialize(lastEpoch, verbose)` (PyTorch's super().__init__) */
  protected constructor(optimizer: unknown) {
    checkOptimizer(optimizer);
    this.optimizer = optimizer;
  }

  protected get groups(): Group[] {
    return this.optimizer.paramGroups as Group[];
  }

  protected initialize(lastEpoch: number, verbose: boolean): void {
    checkInt(this.constructor.name, 'lastEpoch', lastEpoch);
    if (lastEpoch === -1) {
      for (const g of this.groups) if (!('initialLr' in g)) g.initialLr = g.lr;
    } else {
      this.groups.forEach((g, i) => {
        if (!('initialLr' in g)) {
          throw new KilnError(
            `KeyError: param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`,
          );
        }
      });
    }
    this.baseLrs = this.groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.verbose = verbose;
    this.initialStep();
  }

  /** @internal PyTorch's _initial_step. PyTorch also zeroes the optimizer's step counter here, for
   * its "`lr_scheduler.step()` before `optimizer.step()`" warning; kiln's optimizer.step() runs
   * inside compiled programs (counted at trace time, not per run), so that warning is not given. */
  initialStep(): void {
    this._stepCount = 0;
    this.step();
  }

  /** the chainable form: the next learning rates from the current ones (called within step) */
  protected abstract getLr(): number[];

  /** the closed form at `lastEpoch` (used by `step(epoch)`), where PyTorch has one */
  protected getClosedFormLr?(): number[];

  /** advance one epoch (or, deprecated, jump to `epoch`) and write the new lr into each param group */
  step(epoch?: number): void {
    checkNotTracing('lr_scheduler.step()');
    if (epoch !== undefined) warnOnce(EPOCH_DEPRECATION_WARNING);
    this.stepWith(epoch);
  }

  /** @internal step(epoch) without the deprecation warning (SequentialLR's step(0)) */
  stepWith(epoch?: number): void {
    if (epoch !== undefined) checkInt(this.constructor.name, 'epoch', epoch);
    const [stepCount, lastEpoch] = [this._stepCount, this.lastEpoch];
    this._stepCount += 1;
    this._getLrCalledWithinStep = true;
    let values: number[];
    try {
      if (epoch === undefined) {
        this.lastEpoch += 1;
        values = this.getLr();
      } else {
        this.lastEpoch = epoch;
        values = this.getClosedFormLr ? this.getClosedFormLr() : this.getLr();
      }
    } catch (e) {
      // a rejected step (OneCycleLR past its total steps) changes nothing, unlike PyTorch's
      [this._stepCount, this.lastEpoch] = [stepCount, lastEpoch];
      throw e;
    } finally {
      this._getLrCalledWithinStep = false;
    }
    this.groups.forEach((g, i) => {
      if (i >= values.length) return; // zip()
      g.lr = values[i];
      this.printLr(this.verbose, i, values[i], epoch);
    });
    this._lastLr = this.groups.map((g) => g.lr as number);
  }

  protected printLr(isVerbose: boolean, group: number, lr: number, epoch?: number): void {
    if (!isVerbose) return;
    if (epoch === undefined) console.log(`Adjusting learning rate of group ${group} to ${fmt4e(lr)}.`);
    else {
      const e = Number.isInteger(epoch) ? String(epoch).padStart(5, '0') : epoch.toFixed(2);
      console.log(`Epoch ${e}: adjusting learning rate of group ${group} to ${fmt4e(lr)}.`);
    }
  }

  /** the learning rates the last step() set */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  /** fields that are not plain data (functions, nested schedulers): subclasses save them their way */
  protected get unsaved(): readonly string[] {
    return [];
  }

  /** PyTorch's state_dict(): every field but the optimizer, camelCased */
  stateDict(): SchedulerStateDict {
    return ownState(this, this.unsaved);
  }

  /** PyTorch's load_state_dict(): the fields of `sd` replace this scheduler's */
  loadStateDict(sd: SchedulerStateDict): void {
    loadOwnState(this, sd, this.unsaved);
  }
}

/** PyTorch 1.13's name for the base class */
export { LRScheduler as _LRScheduler };
