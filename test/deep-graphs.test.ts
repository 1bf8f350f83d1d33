// Deep graphs compile and run on every target within the default stack size: graph traversals
// are iterative, and a long elementwise chain fused into one kernel is a sequence of lets (no
// expression nests deeper than MAX_EXPR_DEPTH), which WGSL parsers, LLVM and every expression
// pass handle. Each target's results equal the reference's.
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import { exprChildren, type Expr, type Stmt } from '../compiler/ir/kernel.js';
import { MAX_EXPR_DEPTH } from '../compiler/kernel/emit.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { trace } from '../compiler/trace.js';

const TARGETS = ['native', 'webgpu'];
const CHAIN = 2000;
// Layers of the deep training step per target: every layer is a few kernels, and on this shared
// 2-core machine (load ~17) a step's kernels took ~0.4 s each to build on native (100 layers:
// 41 s) and several seconds each on llvmpipe, so npm test runs what fits ~60 s;
// KILN_DEEP_LAYERS=2000 runs the full depth everywhere.
const LAYERS: Record<string, number> = process.env.KILN_DEEP_LAYERS
  ? { native: +process.env.KILN_DEEP_LAYERS, webgpu: +process.env.KILN_DEEP_LAYERS }
  : { native: 100, webgpu: 6 };
const x8 = Float32Array.from({ length: 8 }, (_, i) => (i - 3.5) / 4);

const chain = (x: Tensor) => {
  let y = x;
  for (let i = 0; i < CHAIN; i++) y = i % 3 === 0 ? y.add(0.001) : i % 3 === 1 ? y.mul(0.999) : y.neg();
  return y;
};

function maxDepth(ss: Stmt[]): number {
  const d = (e: Expr): number => 1 + Math.max(0, ...exprChildren(e).map(d));
  return Math.max(
    0,
    ...ss.map((s) =>
      s.s === 'loop'
        ? maxDepth(s.body)
        : s.s === 'let' || s.s === 'accum'
          ? d(s.value)
          : s.s === 'store'
            ? Math.max(d(s.index), d(s.value))
            : 0,
    ),
  );
}

/** a `depth`-layer Linear(4, 4) + tanh stack trained with SGD: the losses of `steps` steps */
async function deepSteps(target: string, depth: number, steps: number): Promise<number[]> {
  manualSeed(0);
  const layers = Array.from({ length: depth }, () => new nn.Linear(4, 4));
  const opt = new optim.SGD(
    layers.flatMap((l) => l.parameters()),
    { lr: 0.1 },
  );
  const step = await compile(
    (x: Tensor) => {
      let h = x;
      for (const l of layers) h = l.forward(h).tanh();
      const loss = h.sub(0.5).square().mean();
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    },
    { inputs: [{ shape: [2, 4], dtype: 'float32' }], target },
  );
  const losses: number[] = [];
  for (let k = 0; k < steps; k++) losses.push((await step.run(x8)).item());
  return losses;
}

describe(`a ${CHAIN}-op elementwise chain`, () => {
  it('is one kernel of let-bound values, none nested deeper than MAX_EXPR_DEPTH', () => {
    const kp = schedule(trace(chain, [{ shape: [8], dtype: 'float32' }]).graph);
    expect(kp.kernels).toHaveLength(1);
    expect(maxDepth(kp.kernels[0].body)).toBeLessThanOrEqual(MAX_EXPR_DEPTH);
  });

  let want: Float32Array;
  it('runs on reference', async () => {
    const step = await compile(chain, { inputs: [{ shape: [8], dtype: 'float32' }], target: 'reference' });
    want = (await step.run(x8)).data as Float32Array;
    expect(want.every(Number.isFinite)).toBe(true);
    expect(Array.from(want)).not.toEqual(Array.from(x8));
  });
  for (const target of TARGETS) {
    it(`runs on ${target} with the reference's results`, async () => {
      const step = await compile(chain, { inputs: [{ shape: [8], dtype: 'float32' }], target });
      const got = (await step.run(x8)).data as Float32Array;
      const tol = (i: number) => 1e-5 * Math.abs(want[i]) + 1e-6;
      got.forEach((v, i) => expect(Math.abs(v - want[i]), `element ${i}`).toBeLessThanOrEqual(tol(i)));
    });
  }
});

describe('a deep training step (Linear(4, 4) + tanh layers, SGD)', () => {
  const STEPS = 3;
  for (const target of TARGETS) {
    const depth = LAYERS[target];
    it(`${depth} layers train on ${target} with the reference's losses`, async () => {
      const want = await deepSteps('reference', depth, STEPS);
      expect(want.every(Number.isFinite)).toBe(true);
      expect(want[STEPS - 1]).toBeLessThan(want[0]); // it learns: every step updates the layers
      const t0 = performance.now();
      const got = await deepSteps(target, depth, STEPS);
      console.log(`[deep] ${depth} layers on ${target}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      got.forEach((l, k) => expect(Math.abs(l - want[k]) / want[k], `loss ${k}`).toBeLessThanOrEqual(1e-4));
    });
  }
});
