// Random graphs (elementwise, broadcast, reductions, matmul chains, views, state updates):
// the scheduled KernelProgram run by the kernel interpreter equals the graph-level reference.
import { describe, expect, it } from 'vitest';
import { numel } from '../compiler/ir/graph.js';
import { check } from './kernels-util.js';
import { randomGraph } from './helpers/fusion-cases.js';

describe('random graphs: fused kernels equal the graph reference', () => {
  for (let seed = 1; seed <= 60; seed++) {
    it(`seed ${seed}`, () => {
      const gp = randomGraph(seed);
      const { prog, err } = check(gp, { seed });
      expect(err).toBeLessThan(1e-4);
      expect(prog.kernels.length).toBeGreaterThan(0);
      expect(prog.kernels.every((k) => numel(k.grid) > 0)).toBe(true);
    });
  }
  it('also without graph passes and without multi-tensor grouping', () => {
    for (let seed = 100; seed < 120; seed++) {
      expect(check(randomGraph(seed), { seed, passes: false, multiTensor: false }).err).toBeLessThan(1e-4);
    }
  });
});
