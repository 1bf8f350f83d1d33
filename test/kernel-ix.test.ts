// Every memory access in scheduled kernel IR carries its index algebra (`ix`), kept exact through
// the scheduler's rewrites: multi-tensor concatenation (concatFlat), sibling concatenation along a
// grid axis (concatGrid) and the expansion of cascade sums (cascadeSums), so the strategy pass
// reads strides off it instead of parsing indices back.
import { describe, expect, it } from 'vitest';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { cascadeSums } from '../compiler/kernel/cascade.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { fixedCases, randomGraph } from './helpers/fusion-cases.js';
import { auditIx } from './helpers/ix-audit.js';
import { g, program } from './kernels-util.js';

const audit = (prog: KernelProgram) => {
  const all = prog.kernels.flatMap((k) => [auditIx(k), auditIx(cascadeSums(k))]);
  return {
    mismatches: all.flatMap((a) => a.mismatches),
    accesses: all.reduce((n, a) => n + a.accesses, 0),
    withIx: all.reduce((n, a) => n + a.withIx, 0),
  };
};

describe('index algebra on every access', () => {
  it('agrees with the index expression in the fixed and random programs', () => {
    const progs = [
      ...fixedCases().map((c) => schedule(c.graph, c.layout?.() ?? new StateLayout())),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((seed) => schedule(randomGraph(seed), new StateLayout())),
    ];
    let accesses = 0,
      withIx = 0;
    for (const prog of progs) {
      const a = audit(prog);
      expect(a.mismatches).toEqual([]);
      accesses += a.accesses;
      withIx += a.withIx;
    }
    // most indices are plain index math (the rest: bounds-guarded, or select trees over segments)
    expect(withIx).toBeGreaterThan(accesses / 2);
  });
  it("follows a cascade sum's loops into their flat term index", () => {
    const x = g.input(0, [3, 5000]);
    const gp = program({ inputs: [{ name: 'x', shape: [3, 5000], dtype: 'float32' }], outputs: [g.sum(x, [1])] });
    const prog = schedule(gp, new StateLayout());
    const k = prog.kernels.find((kn) => JSON.stringify(kn.body).includes('"cascade"'))!;
    expect(k).toBeDefined();
    const expanded = auditIx(cascadeSums(k));
    expect(expanded.mismatches).toEqual([]);
    // the load of x, inside the expanded blocks, still carries its algebra
    expect(expanded.withIx).toBe(expanded.accesses);
  });
});
