// The seed's full training step (Linear(10,5), ReLU, Linear(5,2), CrossEntropy, backward, Adam),
// traced by the front end, scheduled and run by the kernel interpreter, against the graph-level
// reference evaluator.
import { describe, expect, it } from 'vitest';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { printStats, programStats } from '../compiler/kernel/stats.js';
import { cellsWrittenBy, launched, maxRelErr, randomEnv, runReference, runScheduled } from './kernels-util.js';
import { seedStep } from './helpers/fusion-cases.js';

describe('seed training step through the fused path', () => {
  // issue #3: at most 8 kernels at every batch size. Measured: batch 1 -> 2 kernels, 3 -> 2,
  // 8 -> 3, 64 -> 6 (before: 10, 6, 6, 6); the forward and backward of a small batch run in one
  // invocation (schedule.ts rule 3) whose stages share serial loops (lower.ts), the Adam step is
  // one multi-tensor kernel (rule 2). Bytes moved: 3252, 6344, 13324, 87660 (before: 3280, 6356,
  // 13356, 91756)
  it.each([
    [1, 2, 3252],
    [3, 2, 6344],
    [8, 3, 13324],
    [64, 6, 87660],
  ])(
    'batch %i: %i kernels moving %i bytes, ' + 'one of them the whole Adam step at 28 bytes per parameter',
    (batch, measured, bytes) => {
      const gp = seedStep(batch);
      const prog = schedule(gp, new StateLayout());
      const s = programStats(prog);
      // kernels = launches per run: the Adam step is a guarded pair (fast/general), one launch
      expect(s.launchesPerRun, printStats(prog)).toBeLessThanOrEqual(Math.min(8, measured));
      expect(s.bytesPerRun, printStats(prog)).toBeLessThanOrEqual(bytes);
      const writers = cellsWrittenBy(prog, randomEnv(gp, batch));
      const optimCells = prog.cells.filter((c) => !c.name.endsWith('.grad')).map((c) => c.cell);
      const adam = prog.kernels.filter(
        (k, i) => launched(prog).includes(k) && optimCells.some((c) => writers[i].has(c)),
      );
      expect(adam, printStats(prog)).toHaveLength(1);
      expect(optimCells.every((c) => writers[prog.kernels.indexOf(adam[0])].has(c))).toBe(true);
      expect(adam[0].grid).toEqual([10 * 5 + 5 + 5 * 2 + 2]);
      expect(adam[0].meta.bytesRead + adam[0].meta.bytesWritten).toBe(28 * 67);
    },
  );

  // from batch 512 on, each layer's weight and bias gradients (both summed over the batch) were two
  // kernels each: 8 in all. Rule 5 (schedule.ts) concatenates them along the output-feature grid
  // axis ([5,10] + [5] -> [5,11], [2,5] + [2] -> [2,6], one batch loop each): 6.
  it.each([
    [512, 6],
    [4096, 6],
  ])('batch %i: %i kernels, the weight and bias gradients of a layer one kernel', (batch, measured) => {
    const prog = schedule(seedStep(batch), new StateLayout());
    expect(launched(prog).length, printStats(prog)).toBeLessThanOrEqual(measured);
    const before = schedule(seedStep(batch), new StateLayout(), { siblings: false });
    expect(launched(before).length, printStats(before)).toBe(8);
    const joined = prog.kernels.filter((k) => k.meta.reason?.includes('concatenated'));
    expect(
      joined.map((k) => k.grid),
      printStats(prog),
    ).toEqual([
      [5, 11],
      [2, 6],
    ]);
  });

  it('at most 8 kernels at every batch size (sweep 1..65536; 6 from batch 512 on)', () => {
    const counts = [1, 2, 5, 6, 12, 32, 128, 512, 1000, 4096, 65536]
      .map((b) => schedule(seedStep(b), new StateLayout()))
      .map((p) => launched(p).length);
    expect(Math.max(...counts), `${counts}`).toBeLessThanOrEqual(8);
    expect(
      counts.slice(-4).every((c) => c <= 6),
      `${counts}`,
    ).toBe(true);
  });

  it.each([1, 3, 8, 64, 512])('matches the graph reference (batch %i)', (batch) => {
    const gp = seedStep(batch);
    const prog = schedule(gp, new StateLayout());
    const env = randomEnv(gp, batch);
    env.inputs[1] = Int32Array.from({ length: batch }, (_, i) => i % 2);
    const want = runReference(gp, env),
      got = runScheduled(prog, env);
    expect(maxRelErr(got.outputs[0], want.outputs[0])).toBeLessThan(1e-5);
    for (const [id, w] of want.cells) expect(maxRelErr(got.cells.get(id)!, w), `cell ${id}`).toBeLessThan(1e-5);
  });

  it('two programs on one layout share cell offsets', () => {
    const layout = new StateLayout();
    const a = schedule(seedStep(4), layout);
    const size = layout.size.f32;
    const b = schedule(seedStep(4), layout); // a new model: new cells, appended
    expect(layout.size.f32).toBeGreaterThan(size);
    const offA = new Set(a.cells.map((c) => c.offset));
    expect(b.cells.every((c) => !offA.has(c.offset))).toBe(true);
  });
});

describe('an MLP 784-256-10 training step (batch 64)', () => {
  it('keeps wide weight-gradient kernels whole: rule 5 joins siblings only along narrow axes', async () => {
    const { manualSeed, nn, optim } = await import('../compiler/index.js');
    const { trace } = await import('../compiler/trace.js');
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const lossFn = new nn.CrossEntropyLoss();
    const opt = new optim.Adam(model.parameters());
    const gp = trace(
      (x, y) => {
        opt.zeroGrad();
        const l = lossFn.forward(model.forward(x), y);
        l.backward();
        opt.step();
        return l;
      },
      [
        { shape: [64, 784], dtype: 'float32' },
        { shape: [64], dtype: 'int32' },
      ],
    ).graph;
    const grids = schedule(gp, new StateLayout()).kernels.map((k) => k.grid.join('x'));
    // dW1 = gᵀ·x over [256, 784] stays its own kernel (joined with db1 as [256, 785] it lost the
    // native target's vectorized tiles and ran ~40x slower)
    expect(grids).toContain('256x784');
    expect(grids).not.toContain('256x785');
  });
});
