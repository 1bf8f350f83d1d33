// A bundle's optimizer hyperparameters, PyTorch's way: `program.optimizer.paramGroups[0].lr = 0.01`
// takes effect on the next run. Numbers the graph reads live (lr, betas, eps, ...) live in the
// bundle's host values; a value that would flip a choice traced into the graph (amsgrad, a
// weightDecay becoming 0) is refused: the bundle ships one trace, so that needs a rebuild.
import type { HyperParam } from './format.js';
import { GUARD_RULES, guardText, paramGroupPath } from '../hyper-ref.js';
import { camelKey, snakeKey } from '../checkpoint-keys.js';

export type ParamGroupHandle = Record<string, unknown>;

export class Hyperparameters {
  /** values of the hyperparameters this graph does not read live */
  private readonly fixed: Record<string, unknown>[];
  readonly paramGroups: readonly ParamGroupHandle[];

  /** `inOrder` applies a user's change after every run issued before it (runtime/order.ts) */
  constructor(
    private readonly specs: Record<string, HyperParam>[],
    private readonly host: Record<string, number>,
    private readonly inOrder: (change: () => void) => void = (change) => change(),
  ) {
    this.fixed = specs.map((g) =>
      Object.fromEntries(
        Object.entries(g)
          .filter(([, h]) => !h.host)
          .map(([k, h]) => [k, h.value]),
      ),
    );
    const handles = specs.map((_, gi) => this.handle(gi));
    this.paramGroups = new Proxy(Object.freeze(handles), {
      get: (t, k, r) => {
        if (typeof k === 'string' && /^\d+$/.test(k) && +k >= t.length) {
          throw new Error(
            `kiln bundle: no paramGroups[${k}]: the optimizer has ${t.length} param group${t.length === 1 ? '' : 's'}`,
          );
        }
        return Reflect.get(t, k, r);
      },
    });
  }

  get(gi: number, key: string): unknown {
    const h = this.specs[gi][key];
    if (!h.host) return this.fixed[gi][key];
    const vals = h.host.map((n) => this.host[n]);
    return Array.isArray(h.value) ? Object.freeze(vals) : vals[0];
  }

  /** why `value` cannot be group `gi`'s `key`, or undefined */
  check(gi: number, key: string, value: unknown): string | undefined {
    const at = paramGroupPath({ group: gi, key });
    if (gi < 0 || gi >= this.specs.length) {
      return `no paramGroups[${gi}]: the optimizer has ${this.specs.length} param group(s)`;
    }
    const h = this.specs[gi][key];
    if (!h) return `${at}: unknown hyperparameter (the group has ${Object.keys(this.specs[gi]).join(', ')})`;
    if (h.host) {
      const arr = Array.isArray(h.value);
      const ok = arr
        ? Array.isArray(value) && value.length === h.host.length && value.every((x) => typeof x === 'number')
        : typeof value === 'number';
      if (!ok) {
        const want = arr ? `an array of ${h.host.length} numbers` : 'a number';
        return `${at} must be ${want}, got ${JSON.stringify(value)}`;
      }
    }
    for (const b of h.baked ?? []) {
      if (GUARD_RULES[b.rule](value) !== b.holds) {
        return (
          `${at} = ${JSON.stringify(value)} would change the compiled graph ` +
          `(it was traced with ${guardText(key, b.rule, b.holds)}): ` +
          'set it in the program definition and rebuild with `kiln build`'
        );
      }
    }
    return undefined;
  }

  /** a user's change: checked now, applied in call order (values copied now) */
  set(gi: number, key: string, value: unknown): void {
    const why = this.check(gi, key, value);
    if (why) throw new Error(`kiln bundle: ${why}`);
    const copy = structuredClone(value);
    this.inOrder(() => this.assign(gi, key, copy));
  }

  private assign(gi: number, key: string, value: unknown): void {
    const h = this.specs[gi][key];
    if (!h.host) {
      this.fixed[gi][key] = structuredClone(value);
      return;
    }
    const vals = Array.isArray(value) ? (value as number[]) : [value as number];
    h.host.forEach((n, i) => {
      this.host[n] = vals[i];
    });
  }

  /** PyTorch's `param_groups` (snake_case keys) with the current values, `params` from `saved` */
  toMetadata(saved: string): string {
    const groups = JSON.parse(saved) as Record<string, unknown>[];
    return JSON.stringify(
      groups.map((g, gi) => ({
        ...g,
        ...Object.fromEntries(Object.keys(this.specs[gi] ?? {}).map((k) => [snakeKey(k), this.get(gi, k)])),
      })),
    );
  }

  /** checks a checkpoint's `param_groups`; returns the errors and, when none, the update to apply */
  fromMetadata(json: string): { errors: string[]; apply: () => void } {
    const groups = JSON.parse(json) as Record<string, unknown>[];
    if (!Array.isArray(groups) || groups.length !== this.specs.length) {
      return {
        errors: [
          `the checkpoint has ${Array.isArray(groups) ? groups.length : 'no'} param groups, ` +
            `the bundle ${this.specs.length}`,
        ],
        apply: () => {},
      };
    }
    const sets: [number, string, unknown][] = [];
    groups.forEach((g, gi) => {
      // other keys (params, foreach) stay
      for (const [k, v] of Object.entries(g)) if (this.specs[gi][camelKey(k)]) sets.push([gi, camelKey(k), v]);
    });
    const errors = sets.map(([gi, k, v]) => this.check(gi, k, v)).filter((e): e is string => !!e);
    return {
      errors,
      apply: () => {
        for (const [gi, k, v] of sets) this.assign(gi, k, v);
      },
    }; // checked above
  }

  private handle(gi: number): ParamGroupHandle {
    const keys = () => Object.keys(this.specs[gi]);
    return new Proxy({} as ParamGroupHandle, {
      get: (_, k) => (typeof k === 'string' && this.specs[gi][k] ? this.get(gi, k) : undefined),
      set: (_, k, v) => {
        this.set(gi, String(k), v);
        return true;
      },
      has: (_, k) => typeof k === 'string' && !!this.specs[gi][k],
      ownKeys: () => keys(),
      getOwnPropertyDescriptor: (_, k) =>
        typeof k === 'string' && this.specs[gi][k]
          ? { value: this.get(gi, k), writable: true, enumerable: true, configurable: true }
          : undefined,
      deleteProperty: (_, k) => {
        throw new Error(`kiln bundle: cannot delete paramGroups[${gi}].${String(k)}`);
      },
      defineProperty: (_, k) => {
        throw new Error(
          `kiln bundle: paramGroups[${gi}].${String(k)}: unknown hyperparameter (the group has ${keys().join(', ')})`,
        );
      },
    });
  }
}
