// Issue #3: any optimizer over any number of parameters is ONE kernel (multi-tensor apply over
// the state arena), for gradients from backward and for gradients that are the program's inputs
// (`p.grad = input`: the inputs are packed into one buffer by role), on the first step and on
// later ones (momentum buffers are created by the first step, which re-traces); the fused
// results equal the graph-level reference evaluator.
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import type { GraphProgram } from '../compiler/ir/graph.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { printStats } from '../compiler/kernel/stats.js';
import { runHostProgram } from '../runtime/host.js';
import {
  cellsWrittenBy,
  launched,
  maxRelErr,
  randomEnv,
  runReference,
  runScheduled,
  type Env,
} from './kernels-util.js';

const CASES: [string, Record<string, unknown>][] = [
  ['Adam', { lr: 1e-2 }],
  ['Adam', { lr: 1e-2, amsgrad: true }],
  ['Adam', { lr: 1e-2, weightDecay: 0.1, maximize: true, amsgrad: true, betas: [0.8, 0.9], eps: 1e-6 }],
  ['AdamW', { lr: 1e-2 }],
  ['AdamW', { lr: 1e-2, amsgrad: true, weightDecay: 0.05, maximize: true }],
  ['Adagrad', { lr: 1e-2 }],
  ['Adagrad', { lr: 1e-2, lrDecay: 0.01, weightDecay: 0.1, initialAccumulatorValue: 0.1, maximize: true }],
  ['RMSprop', { lr: 1e-2 }],
  ['RMSprop', { lr: 1e-2, centered: true }],
  ['RMSprop', { lr: 1e-2, momentum: 0.9, centered: true, weightDecay: 0.1, maximize: true }],
  ['SGD', { lr: 1e-2 }],
  ['SGD', { lr: 1e-2, momentum: 0.9 }],
  ['SGD', { lr: 1e-2, momentum: 0.9, nesterov: true, weightDecay: 0.1 }],
  ['SGD', { lr: 1e-2, momentum: 0.9, dampening: 0.5, maximize: true }],
];
const SHAPES = [[7, 3], [5], [1], [4, 2, 2], [3, 1]];
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
type Cls = new (p: nn.Parameter[], o: Record<string, unknown>) => optim.Optimizer<any>;

/** random entry state (non-negative second moments), this step's host scalars */
function env(gp: GraphProgram, seed: number): Env {
  const e = randomEnv(gp, seed);
  for (const c of gp.cells) {
    if (/\.(grad)$|^param\d+$/.test(c.name) || !c.name.includes('.')) continue;
    const x = e.cells.get(c.id)!;
    for (let i = 0; i < x.length; i++) x[i] = Math.abs(x[i]) * (c.name.endsWith('gradAvg') ? 0.01 : 1);
  }
  runHostProgram(
    gp.host,
    Float64Array.from(gp.host.vars, (v) => v.init),
    e.scalars,
  );
  return e;
}

/** the kernels storing to parameters or optimizer state (not gradients) */
function updateKernels(gp: GraphProgram, seed: number) {
  const prog = schedule(gp, new StateLayout());
  const e = env(gp, seed);
  const writers = cellsWrittenBy(prog, e);
  const updated = new Set(gp.updates.map((u) => u.cell));
  const optimCells = prog.cells.filter((c) => updated.has(c.cell) && !c.name.endsWith('.grad')).map((c) => c.cell);
  // one update kernel = one launch: a guarded fast/general pair counts once (kernels-util launched)
  const kernels = prog.kernels.filter(
    (k, i) => launched(prog).includes(k) && optimCells.some((c) => writers[i].has(c)),
  );
  // the fused program equals the graph reference
  const want = runReference(gp, e),
    got = runScheduled(prog, e);
  let err = 0;
  want.outputs.forEach((w, i) => {
    err = Math.max(err, maxRelErr(got.outputs[i], w));
  });
  for (const [id, w] of want.cells) err = Math.max(err, maxRelErr(got.cells.get(id) ?? e.cells.get(id)!, w));
  return { prog, kernels, err, optimCells: optimCells.length };
}

/** the traced programs of two steps (the first step creates momentum buffers; the second re-traces) */
async function twoSteps(
  fn: (...a: Tensor[]) => unknown,
  inputs: { shape: number[]; dtype: 'float32' | 'int32' }[],
): Promise<GraphProgram[]> {
  const step = await compile(fn, { inputs, target: 'reference' });
  const args = () =>
    inputs.map((x, i) =>
      x.dtype === 'float32'
        ? Float32Array.from({ length: numel(x.shape) }, (_, j) => Math.sin(7 * i + j))
        : Int32Array.from({ length: numel(x.shape) }, (_, j) => j % 2),
    );
  for (let k = 0; k < 2; k++) await step.run(...args());
  return step.programs.map((p) => p.graph);
}

describe('any optimizer is one multi-tensor kernel', () => {
  it.each(CASES)('%s %j, gradients as inputs: the whole step is one kernel', async (name, opts) => {
    manualSeed(0);
    const params = SHAPES.map(
      (s) => new nn.Parameter({ shape: s, data: Array.from({ length: numel(s) }, (_, i) => Math.cos(i)) }),
    );
    const opt = new (optim[name as keyof typeof optim] as unknown as Cls)(params, opts);
    const gps = await twoSteps(
      (...gs: Tensor[]) => {
        params.forEach((p, i) => {
          p.grad = gs[i];
        });
        opt.step();
      },
      SHAPES.map((shape) => ({ shape, dtype: 'float32' })),
    );
    for (const [i, gp] of gps.entries()) {
      const { prog, kernels, err, optimCells } = updateKernels(gp, i + 1);
      expect(launched(prog), printStats(prog)).toHaveLength(1);
      expect(kernels).toHaveLength(1);
      expect(optimCells).toBeGreaterThanOrEqual(SHAPES.length);
      expect(prog.buffers.filter((b) => b.kind === 'input')).toHaveLength(1); // every grad in one buffer
      expect(err).toBeLessThan(1e-5);
    }
  });

  it.each(CASES)('%s %j, gradients from backward: one update kernel', async (name, opts) => {
    manualSeed(0);
    const model = new nn.Sequential(
      new nn.Linear(3, 4),
      new nn.ReLU(),
      new nn.Linear(4, 2, false),
      new nn.ReLU(),
      new nn.Linear(2, 3),
    );
    const lossFn = new nn.CrossEntropyLoss();
    const opt = new (optim[name as keyof typeof optim] as unknown as Cls)(model.parameters(), opts);
    const fn = (x: Tensor, y: Tensor) => {
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    };
    const gps = await twoSteps(fn as (...a: Tensor[]) => unknown, [
      { shape: [4, 3], dtype: 'float32' },
      { shape: [4], dtype: 'int32' },
    ]);
    for (const [i, gp] of gps.entries()) {
      const { prog, kernels, err } = updateKernels(gp, i + 1);
      expect(kernels, printStats(prog)).toHaveLength(1);
      expect(kernels[0].grid).toEqual([12 + 4 + 8 + 6 + 3]);
      expect(err).toBeLessThan(1e-5);
    }
  });

  it.each([['Adam'], ['SGD']])(
    '%s after clipGradNorm_: the clipping scale is folded into the update kernel',
    async (name) => {
      manualSeed(0);
      const params = SHAPES.map(
        (s) => new nn.Parameter({ shape: s, data: Array.from({ length: numel(s) }, (_, i) => Math.cos(i)) }),
      );
      const opts = name === 'SGD' ? { lr: 1e-2, momentum: 0.9 } : { lr: 1e-2 };
      const opt = new (optim[name as keyof typeof optim] as unknown as Cls)(params, opts);
      const gps = await twoSteps(
        (...gs: Tensor[]) => {
          params.forEach((p, i) => {
            p.grad = gs[i];
          });
          const total = nn.utils.clipGradNorm_(params, 0.5);
          opt.step();
          return total;
        },
        SHAPES.map((shape) => ({ shape, dtype: 'float32' })),
      );
      for (const [i, gp] of gps.entries()) {
        const { prog, kernels, err } = updateKernels(gp, i + 1);
        // one kernel scales every gradient by min(1, maxNorm / (total + 1e-6)) and updates with it
        expect(kernels, printStats(prog)).toHaveLength(1);
        // and no other kernel makes a pass over the gradients to scale them
        expect(launched(prog).filter((k) => k.meta.ops.includes('min'))).toEqual(kernels);
        expect(err).toBeLessThan(1e-5);
      }
    },
  );
});
