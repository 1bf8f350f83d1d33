// Random graphs (elementwise, broadcast, reductions, matmul chains, views, state updates):
// the scheduled KernelProgram run by the kernel interpreter equals the graph-level reference.
import { describe, expect, it } from 'vitest';
import type { Node } from '../compiler/ir/graph.js';
import { numel } from '../compiler/ir/graph.js';
import { cell, check, g, program } from './kernels-util.js';

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] };
}

function randomGraph(seed: number) {
  const r = rng(seed);
  const dims = () => [2 + r.int(3), 2 + r.int(3)];
  const inputs = [dims(), dims()];
  const pool: Node[] = inputs.map((s, i) => g.input(i, s));
  const cells = [cell(1, inputs[0]), cell(2, [inputs[0][1], 3])];
  pool.push(g.state(1, inputs[0]), g.state(2, [inputs[0][1], 3]));
  const same = (s: readonly number[]) => pool.filter((n) => n.shape.join() === s.join());
  for (let i = 0; i < 14; i++) {
    const a = r.pick(pool);
    const k = r.int(10);
    let n: Node;
    if (k === 0) n = r.pick([g.neg, g.abs, (x: Node) => g.exp(g.neg(g.abs(x)))])(a);
    else if (k <= 2) { const b = r.pick(same(a.shape)); n = r.pick([g.add, g.sub, g.mul, g.max, g.min])(a, b); }
    else if (k === 3) n = g.where(g.gt(a, g.bcast(g.const(0.1), [...a.shape])), a, r.pick(same(a.shape)));
    else if (k === 4 && a.shape.length >= 1) {
      // reduce one axis, broadcast back, combine (softmax-like)
      const ax = r.int(a.shape.length);
      const red = (r.int(2) ? g.sum : g.rmax)(a, [ax]);
      n = g.sub(a, g.expand(red, [...a.shape]));
    } else if (k === 5 && a.shape.length === 2) n = g.permute(a, [1, 0]);
    else if (k === 6 && a.shape.length === 2) {
      const b = pool.find((m) => m.shape.length === 2 && m.shape[0] === a.shape[1]);
      n = b ? g.matmul(a, b) : g.neg(a);
    } else if (k === 7 && a.shape.length === 2) n = g.reshape(a, [a.shape[0] * a.shape[1]]);
    else if (k === 8 && a.shape.length === 1 && a.shape[0] % 2 === 0) n = g.reshape(a, [2, a.shape[0] / 2]);
    else if (k === 8 && a.shape.length >= 1 && a.shape[0] >= 3) {
      const shape = [...a.shape]; shape[0] = Math.ceil((a.shape[0] - 1) / 2);
      n = g.slice(a, a.shape.map((_, d) => (d === 0 ? 1 : 0)), a.shape.map((_, d) => (d === 0 ? 2 : 1)), shape);
    } else if (k === 9) n = g.pad(a, a.shape.map(() => r.int(2)), a.shape.map(() => r.int(2)));
    else n = g.sum(a, a.shape.map((_, d) => d));
    pool.push(n);
  }
  const outputs = [pool[pool.length - 1], r.pick(pool.slice(4)), g.sum(pool[pool.length - 2], pool[pool.length - 2].shape.map((_, d) => d))];
  const upd = same(inputs[0]).filter((n) => n.op !== 'state' && n.op !== 'input');
  const updates = upd.length ? [{ cell: 1, value: r.pick(upd) }] : [];
  return program({
    inputs: inputs.map((s, i) => ({ name: `x${i}`, shape: s, dtype: 'float32' as const })),
    cells, outputs, updates,
  });
}

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
