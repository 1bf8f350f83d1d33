// Hyperparameters read at run time. A user may change `optimizer.paramGroups[i].lr` (or betas, eps,
// ...) between runs, or load a state dict with other values; the next run must use them.
//
// Design (the cheaper one at run time): numeric hyperparameters are live host cells (state.ts)
// whose `value` reads the group, so the host program that already computes bias corrections each run
// reads them in float64 and emits float32 scalars where a traced constant would otherwise sit —
// changing lr every step (a scheduler) costs nothing and never re-traces. Only structural choices
// that change the graph (amsgrad, maximize, centered, nesterov, weightDecay !== 0, momentum !== 0)
// stay baked into the trace, each guarded by a guard cell (state.ts) whose `defined` is the
// predicate's live value: compile()'s definedness guards then re-trace when one flips, and keep
// the variant traced before. Each cell carries its record (runtime/hyper-ref.ts) for kiln build.
import { KilnError } from '../errors.js';
import { GuardCell, LiveHostCell } from '../state.js';
import { currentTrace } from '../trace-context.js';
import type { HostScalar } from '../host-scalar.js';
import {
  GUARD_RULES,
  hyperName,
  paramGroupPath,
  type GuardRule,
  type HyperValueRef,
  type OptimizerGuardRef,
} from '../../runtime/hyper-ref.js';

/** a live hyperparameter's host cell; `ref` says which (kiln build reads it, never the name) */
export class HyperCell extends LiveHostCell {
  constructor(
    readonly ref: HyperValueRef,
    read: () => number,
  ) {
    super(hyperName(ref), read);
  }
}

/** a structural choice's guard cell; `ref` says which */
export class HyperGuardCell extends GuardCell {
  constructor(
    readonly ref: OptimizerGuardRef,
    holds: () => boolean,
  ) {
    super(hyperName(ref), holds);
  }
}

export class LiveHyper {
  private readonly nums = new Map<string, HyperCell>();
  private readonly guards = new Map<string, HyperGuardCell>();

  /** `group()` returns the current param group (looked up each time: groups may be replaced) */
  constructor(
    readonly optimizer: number,
    private readonly group: (gi: number) => Record<string, unknown> | undefined,
  ) {}

  /** the live value of `group[key]` (or `group[key][index]`) as a float64 host scalar */
  num(gi: number, key: string, index?: number): HostScalar {
    const ref: HyperValueRef = { optimizer: this.optimizer, group: gi, key, ...(index === undefined ? {} : { index }) };
    const name = hyperName(ref);
    let cell = this.nums.get(name);
    if (!cell) {
      cell = new HyperCell(ref, () => {
        const v = this.group(gi)?.[key] as unknown;
        const x = index === undefined ? v : (v as ArrayLike<unknown> | undefined)?.[index];
        // read before each run: a group edited to `lr = 'fast'` must not train with NaN
        if (typeof x !== 'number') {
          const got = typeof x === 'string' ? `string '${x}'` : String(x);
          throw new KilnError(`optimizer ${paramGroupPath(ref)} must be a number, got ${got}`);
        }
        return x;
      });
      this.nums.set(name, cell);
    }
    return currentTrace()!.hostRead(cell);
  }

  /** a structural choice (`rule` on `group[key]`) baked into the trace, guarded: a change re-traces */
  is(gi: number, key: string, rule: GuardRule): boolean {
    return this.guard({ optimizer: this.optimizer, group: gi, key, rule }, () => {
      const g = this.group(gi);
      return g !== undefined && GUARD_RULES[rule](g[key]);
    });
  }

  /** a guard that the optimizer's param groups are still those of layout `layout` */
  layout(layout: number, holds: () => boolean): boolean {
    return this.guard({ optimizer: this.optimizer, layout }, holds);
  }

  /** a guard on a live condition (its first use fixes the record's predicate) */
  private guard(ref: OptimizerGuardRef, holds: () => boolean): boolean {
    const name = hyperName(ref);
    let cell = this.guards.get(name);
    if (!cell) {
      cell = new HyperGuardCell(ref, holds);
      this.guards.set(name, cell);
    }
    currentTrace()!.read(cell); // records the assumption; the empty cell itself is never used
    return cell.defined;
  }
}
