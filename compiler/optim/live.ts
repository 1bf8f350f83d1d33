// Hyperparameters read at run time. A user may change `optimizer.paramGroups[i].lr` (or betas, eps,
// ...) between runs, or load a state dict with other values; the next run must use them.
//
// Design (the cheaper one at run time): numeric hyperparameters are live host cells (state.ts)
// whose `value` reads the group, so the host program that already computes bias corrections each run
// reads them in float64 and emits float32 scalars exactly where constants used to be — changing lr
// every step (a scheduler) costs nothing and never re-traces. Only structural choices that change
// the graph (amsgrad, maximize, centered, nesterov, weightDecay !== 0, momentum !== 0) stay baked
// into the trace, each guarded by a guard cell (state.ts) whose `defined` is the predicate's live
// value: compile()'s existing definedness guards then re-trace when one flips, and keep the old variant.
import { KilnError } from '../errors.js';
import { GuardCell, LiveHostCell } from '../state.js';
import { currentTrace } from '../trace-context.js';
import type { HostScalar } from '../host-scalar.js';

export class LiveHyper {
  private readonly nums = new Map<string, LiveHostCell>();
  private readonly guards = new Map<string, GuardCell>();

  /** `group()` returns the current param group (looked up each time: groups may be replaced) */
  constructor(readonly owner: string, private readonly group: (gi: number) => Record<string, unknown> | undefined) {}

  /** the live value of `group[key]` (or `group[key][index]`) as a float64 host scalar */
  num(gi: number, key: string, index?: number): HostScalar {
    const name = `${this.owner}.group${gi}.${key}${index === undefined ? '' : `[${index}]`}`;
    let cell = this.nums.get(name);
    if (!cell) {
      cell = new LiveHostCell(name, () => {
        const v = this.group(gi)?.[key] as unknown;
        const x = index === undefined ? v : (v as ArrayLike<unknown> | undefined)?.[index];
        // read before each run: a group edited to `lr = 'fast'` must not train with NaN
        if (typeof x !== 'number') {
          const at = `paramGroups[${gi}].${key}${index === undefined ? '' : `[${index}]`}`;
          const got = typeof x === 'string' ? `string '${x}'` : String(x);
          throw new KilnError(`optimizer ${at} must be a number, got ${got}`);
        }
        return x;
      });
      this.nums.set(name, cell);
    }
    return currentTrace()!.hostRead(cell);
  }

  /** a structural choice baked into the trace, with a guard that re-traces when it changes */
  is(gi: number, name: string, pred: (g: Record<string, unknown>) => boolean): boolean {
    return this.guard(`group${gi}.${name}`, () => { const g = this.group(gi); return g !== undefined && pred(g); });
  }

  /** a guard on any live condition (its first use fixes the key's predicate) */
  guard(key: string, pred: () => boolean): boolean {
    let cell = this.guards.get(key);
    if (!cell) {
      cell = new GuardCell(`${this.owner}.${key}`, pred);
      this.guards.set(key, cell);
    }
    currentTrace()!.read(cell); // records the assumption; the empty cell itself is never used
    return cell.defined;
  }
}
