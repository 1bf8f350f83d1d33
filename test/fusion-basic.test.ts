// Scheduling rules on small hand-built graphs: kernel counts, bytes, and agreement with the
// graph-level reference evaluator.
import { describe, expect, it } from 'vitest';
import { programStats } from '../compiler/kernel/stats.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { cell, check, g, launched, program } from './kernels-util.js';
import { adamProgram } from './helpers/fusion-cases.js';

const f32 = (name: string, shape: number[]) => ({ name, shape, dtype: 'float32' as const });

describe('fusion', () => {
  it('an elementwise chain is one kernel that reads each input once', () => {
    const x = g.input(0, [4, 3]),
      y = g.input(1, [4, 3]);
    const out = g.exp(g.mul(g.add(x, y), g.bcast(g.const(2), [4, 3])));
    const { prog, err } = check(program({ inputs: [f32('x', [4, 3]), f32('y', [4, 3])], outputs: [out] }));
    expect(err).toBe(0);
    expect(prog.kernels.length).toBe(1);
    const s = programStats(prog);
    expect(s.bytesPerRun).toBe(s.minBytesPerRun);
  });

  it('matmul + bias + relu is one kernel', () => {
    const a = g.input(0, [4, 3]),
      w = g.state(1, [3, 5]),
      b = g.state(2, [5]);
    const z = g.add(g.matmul(a, w), g.expand(g.reshape(b, [1, 5]), [4, 5]));
    const zero = g.bcast(g.const(0), [4, 5]);
    const { prog, err } = check(
      program({
        inputs: [f32('a', [4, 3])],
        cells: [cell(1, [3, 5]), cell(2, [5])],
        outputs: [g.where(g.gt(z, zero), z, zero)],
      }),
    );
    expect(err).toBeLessThan(1e-6);
    expect(prog.kernels.length).toBe(1);
    expect(prog.kernels[0].meta.ops).toEqual(['mul', 'sum', 'add', 'gt', 'where']);
    // loads execute 2 per multiply-add (and the bias per output); memory moves each element once
    const s = programStats(prog);
    expect(s.bytesPerRun).toBe(4 * (4 * 5 * 3 * 2 + 4 * 5 + 4 * 5));
    expect(s.trafficPerRun).toBe(4 * (4 * 3 + 3 * 5 + 5 + 4 * 5));
    expect(s.trafficPerRun).toBe(s.minBytesPerRun);
  });

  it("independent big reductions of one shape (every block's weight gradient) are separate kernels", () => {
    // gᵀ·x for two unrelated layers: joined, they would share nothing but a launch and lose the matmul strategy
    const wgrad = (n: number, k: number, i: number) => {
      const gy = g.input(i, [n, k]),
        x = g.input(i + 1, [n, k]);
      return g.matmul(g.permute(gy, [1, 0]), x);
    };
    const inputs = (n: number, k: number) => [0, 1, 2, 3].map((i) => f32(`in${i}`, [n, k]));
    const big = check(program({ inputs: inputs(64, 32), outputs: [wgrad(64, 32, 0), wgrad(64, 32, 2)] }));
    expect(big.err).toBeLessThan(1e-5);
    expect(big.prog.kernels.length).toBe(2);
    // below a launch's worth of work they still join
    const small = check(program({ inputs: inputs(4, 3), outputs: [wgrad(4, 3, 0), wgrad(4, 3, 2)] }));
    expect(small.err).toBeLessThan(1e-5);
    expect(small.prog.kernels.length).toBe(1);
  });

  it('an Adam update over N parameters is one kernel moving 28 bytes per parameter', () => {
    const shapes = [[5, 10], [5], [2, 5], [2]];
    const { prog, err } = check(adamProgram(shapes));
    expect(err).toBe(0);
    // one launch: a guarded fast/general pair when per-parameter scalars differ (kernels-util launched)
    expect(launched(prog).length).toBe(1);
    const n = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(prog.kernels[0].grid).toEqual([n]);
    expect(programStats(prog).bytesPerRun).toBe(28 * n);
  });

  it('multi-tensor apply stays correct when an earlier compile placed the cells out of line', () => {
    const gp = adamProgram([[3, 4], [7], [2, 2]]);
    const layout = new StateLayout();
    for (const c of [...gp.cells].reverse()) layout.place(c); // every role misaligned
    const { prog, err } = check(gp, { layout });
    expect(err).toBe(0);
    expect(launched(prog).length).toBe(1);
  });

  it('updates read the state as on entry: transposes, swaps and readers of new values', () => {
    const w = g.state(1, [3, 3]),
      a = g.state(2, [3, 3]),
      b = g.state(3, [3, 3]);
    const cells = [cell(1, [3, 3]), cell(2, [3, 3]), cell(3, [3, 3])];
    // W <- W^T + 1 (reads other elements of the cell it writes), a <-> b, and an output that
    // needs both the old and the new a
    const w2 = g.add(g.permute(w, [1, 0]), g.bcast(g.const(1), [3, 3]));
    const out = g.sum(g.mul(a, g.permute(b, [1, 0])), [0, 1]);
    const gp = program({
      cells,
      outputs: [out, g.sum(w2, [0, 1])],
      updates: [
        { cell: 1, value: w2 },
        { cell: 2, value: b },
        { cell: 3, value: a },
      ],
    });
    const { err } = check(gp);
    expect(err).toBeLessThan(1e-6);
  });

  it('stores a value used by several kernels once when recomputing would read more', () => {
    const x = g.input(0, [6, 4]),
      y = g.input(1, [6, 4]);
    const t = g.mul(g.add(x, y), y); // reads 2 buffers: stored once
    const o1 = g.sum(t, [0]),
      o2 = g.sum(t, [1]);
    const { prog, err } = check(program({ inputs: [f32('x', [6, 4]), f32('y', [6, 4])], outputs: [o1, o2] }));
    expect(err).toBeLessThan(1e-6);
    expect(prog.buffers.some((b) => b.kind === 'scratch')).toBe(true);
    const u = g.exp(x); // reads 1 buffer: recomputed
    const p2 = check(program({ inputs: [f32('x', [6, 4])], outputs: [g.sum(u, [0]), g.sum(u, [1])] }));
    expect(p2.prog.buffers.some((b) => b.kind === 'scratch')).toBe(false);
  });

  it('reuses scratch memory between temporaries whose lifetimes do not overlap', async () => {
    const { planScratch } = await import('../compiler/kernel/memory.js');
    const plan = planScratch([
      { key: 1, storage: 'f32', size: 100, first: 0, last: 1 },
      { key: 2, storage: 'f32', size: 50, first: 1, last: 2 },
      { key: 3, storage: 'f32', size: 100, first: 2, last: 3 },
    ]);
    expect(plan.offsets.get(3)).toBe(0); // reuses 1's block
    expect(plan.offsets.get(2)).toBeGreaterThanOrEqual(100);
    expect(plan.size.f32).toBe(150);
  });
});
