// One step of a compiled function on the host side, for compile() and for bundles alike: the
// inputs checked, class indices bounds-checked, the host program (float64 scalars from the host
// state), the device run, then the write-back of host state, in call order through an
// OrderedQueue. When nothing is queued and the program can run synchronously (native, reference),
// the whole step happens within the call; otherwise it waits its turn with private copies of its
// inputs. Which program runs is chosen where the step starts and again when a queued step starts:
// `current()` is the one place a caller's guards are evaluated.
import type { HostArray } from './device.js';
import { compileHostProgram, type HostProgram } from './host.js';
import { findIndexViolation, type IndexBound, type IndexViolation } from './index-bounds.js';
import type { OrderedQueue } from './order.js';
import { copyInput } from './typed-array.js';

/** a host program compiled once, with the vars and scalars one step of it uses */
export class HostStep {
  readonly vars: Float64Array;
  readonly init: Float64Array;
  readonly scalars: Float32Array;
  readonly run: (vars: Float64Array, scalars: Float32Array) => void;

  constructor(program: HostProgram) {
    this.vars = new Float64Array(program.vars.length);
    this.init = Float64Array.from(program.vars, (v) => v.init);
    this.scalars = new Float32Array(Math.max(1, program.scalarCount));
    this.run = compileHostProgram(program);
  }
}

/** one prepared program as the driver runs it; `Live` is what a queued run takes at its call */
export interface StepProgram<Live, Result> {
  readonly host: HostStep;
  /** inputs holding class or gather indices, checked before anything changes */
  readonly indexBounds: readonly IndexBound[] | undefined;
  /** host state into `vars` (already reset to their initial values); `live` as takeLive() took it */
  readHost(vars: Float64Array, live: Live | undefined): void;
  /** what a queued run must see as it was at its call (compile(): the live hyperparameters) */
  takeLive?(): Live;
  /** the step now, if the program can without waiting; undefined, having changed nothing, if not */
  runSync?(inputs: HostArray[], scalars: Float32Array): HostArray[] | undefined;
  /** `inputs` are the driver's private copies, handed over (no need to copy them again) */
  run(inputs: HostArray[], scalars: Float32Array): Promise<HostArray[]>;
  /** after the device ran without error: the host state from `vars`, and the run's result */
  commit(vars: Float64Array, outs: HostArray[]): Result;
}

export interface StepDriverOptions<In, P> {
  queue: OrderedQueue;
  /** the inputs as arrays of the declared kinds and sizes; throws, changing nothing, if they are not */
  check(inputs: readonly In[]): HostArray[];
  /** the program for these (checked) inputs whose guards hold now, if any */
  current(inputs: readonly HostArray[]): P | undefined;
  /** a program for the present state and these inputs' sizes, when none holds (compile() traces again) */
  prepare(inputs: readonly HostArray[]): Promise<P>;
  /** the error for an index out of range */
  indexError(v: IndexViolation): Error;
}

export class StepDriver<In, Live, Result, P extends StepProgram<Live, Result>> {
  constructor(private readonly o: StepDriverOptions<In, P>) {}

  /** one step; a failed check rejects and changes nothing */
  run(raw: readonly In[]): Promise<Result> {
    try {
      const inputs = this.o.check(raw);
      const p = this.o.current(inputs);
      if (p) this.checkIndices(p, inputs);
      if (p && p.runSync && this.o.queue.idle) {
        this.hostStep(p, undefined);
        const outs = p.runSync(inputs, p.host.scalars);
        if (outs) return Promise.resolve(p.commit(p.host.vars, outs));
      }
      const taken = inputs.map(copyInput);
      const live = p && p.takeLive ? p.takeLive() : undefined;
      return this.o.queue.enqueue(() => this.runQueued(taken, p, live));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async runQueued(inputs: HostArray[], calledWith: P | undefined, live: Live | undefined): Promise<Result> {
    const p = this.o.current(inputs) ?? (await this.o.prepare(inputs));
    this.checkIndices(p, inputs);
    this.hostStep(p, p === calledWith ? live : undefined);
    const scalars = p.host.scalars;
    const outs = (p.runSync && p.runSync(inputs, scalars)) || (await p.run(inputs, scalars));
    return p.commit(p.host.vars, outs);
  }

  private checkIndices(p: P, inputs: readonly HostArray[]): void {
    const bounds = p.indexBounds;
    if (!bounds || !bounds.length) return;
    const bad = findIndexViolation(bounds, inputs);
    if (bad) throw this.o.indexError(bad);
  }

  private hostStep(p: P, live: Live | undefined): void {
    const h = p.host;
    h.vars.set(h.init);
    p.readHost(h.vars, live);
    h.run(h.vars, h.scalars);
  }
}
