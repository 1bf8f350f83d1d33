// The multi-tensor update as a guarded pair (compiler/kernel/lower.ts concatFlat): when the
// per-parameter host scalars (Adam's bias corrections) hold the same float32 in every segment,
// the fast variant (segment 0's slots everywhere, no select tree) runs; otherwise the general one.
import { describe, expect, it } from 'vitest';
import { StateLayout } from '../compiler/kernel/memory.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { programStats } from '../compiler/kernel/stats.js';
import { guardHolds } from '../runtime/manifest.js';
import { launched, randomEnv, runReference, runScheduled, type Env } from './kernels-util.js';
import { adamProgram } from './helpers/fusion-cases.js';

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('multi-tensor update: fast variant when per-parameter scalars are equal', () => {
  const gp = adamProgram([[3, 4], [7], [2, 2], [5]]);
  const prog = schedule(gp, new StateLayout());
  const [fast, general] = prog.kernels;

  it('is a guarded pair: one launch, two kernels', () => {
    expect(prog.kernels).toHaveLength(2);
    expect(fast.when?.is).toBe(true);
    // each role's slots, one per parameter
    expect(fast.when!.equal.map((g) => g.join()).sort()).toEqual(['0,2,4,6', '1,3,5,7']);
    expect(general.when).toEqual({ ...fast.when, is: false });
    expect(JSON.stringify(fast.body)).not.toContain('"where"'); // no select tree
    expect(JSON.stringify(general.body)).toContain('"where"');
    expect(launched(prog)).toEqual([fast]);
    expect(programStats(prog)).toMatchObject({ kernels: 2, launchesPerRun: 1 });
  });

  const envWith = (scalars: number[]): Env => {
    const e = randomEnv(gp, 3);
    // v >= 0: no NaN from sqrt
    for (const x of e.cells.values()) for (let i = 0; i < x.length; i++) x[i] = Math.abs(x[i]);
    return { ...e, scalars: Float32Array.from(scalars) };
  };
  const equalEnv = envWith([0.01, 0.5, 0.01, 0.5, 0.01, 0.5, 0.01, 0.5]);
  const unequalEnv = envWith([0.01, 0.5, 0.01, 0.5, 0.03, 0.25, 0.01, 0.5]); // parameter 2's counter diverged

  it('equal scalars: the fast kernel runs, bit-exact with the reference and with the general kernel', () => {
    expect(guardHolds(fast.when, equalEnv.scalars)).toBe(true);
    expect(guardHolds(general.when, equalEnv.scalars)).toBe(false);
    const want = runReference(gp, equalEnv),
      got = runScheduled(prog, equalEnv);
    const forced = runScheduled({ ...prog, kernels: [{ ...general, when: undefined }] }, equalEnv);
    for (const [id, w] of want.cells) {
      expect(same(got.cells.get(id)!, w)).toBe(true);
      expect(same(forced.cells.get(id)!, w)).toBe(true);
    }
  });

  it('different scalars: the general kernel runs, bit-exact with the reference', () => {
    expect(guardHolds(fast.when, unequalEnv.scalars)).toBe(false);
    expect(guardHolds(general.when, unequalEnv.scalars)).toBe(true);
    const want = runReference(gp, unequalEnv),
      got = runScheduled(prog, unequalEnv);
    for (const [id, w] of want.cells) expect(same(got.cells.get(id)!, w)).toBe(true);
    // the fast kernel alone would be wrong here (it reads parameter 0's scalars everywhere)
    const wrong = runScheduled({ ...prog, kernels: [{ ...fast, when: undefined }] }, unequalEnv);
    expect([...want.cells].every(([id, w]) => same(wrong.cells.get(id)!, w))).toBe(false);
  });
});
