// NaN and infinities give PyTorch's IEEE results on every target (WebGPU included: WGSL lets a
// compiler assume finite floats, and llvmpipe folded x/0, x*0 and x-x to 0 and let max drop a
// NaN; targets/wgsl/ieee.ts), and a diverged training run reads as diverged everywhere.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, manualSeed, nn, optim, type Tensor } from 'kiln';
import { trainingStep } from './helpers/seed.js';

// native before webgpu: llvm-bindings' LLVM must load before Mesa's (the other order aborts the process)
const targets = ['reference', ...(availableTargets().includes('native') ? ['native'] : []), 'webgpu'];
const inf = Infinity;
/** every pairing of the special values with each other and with ordinary ones */
const A = Float32Array.of(1, -1, 0, 0, -0, inf, inf, -inf, inf, NaN, NaN, 2, 3, 1e30, -2);
const B = Float32Array.of(0, 0, 0, inf, 0, inf, -inf, -inf, 2, 1, NaN, NaN, -0, 1e30, inf);

/** PyTorch 1.13's values (IEEE float32): the expectation on every target */
const f = Math.fround;
// std::max/std::min (PyTorch's clamp on every path): the first operand on a tie of -0 and +0
const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? b : a);
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : b < a ? b : a);
const clamp = (a: number, lo: number, hi: number) => nanMin(nanMax(a, lo), hi);
const CASES: [string, (x: Tensor, y: Tensor) => Tensor, (a: number, b: number) => number][] = [
  ['x / y', (x, y) => x.div(y), (a, b) => f(a / b)],
  ['x * y', (x, y) => x.mul(y), (a, b) => f(a * b)],
  ['x - y', (x, y) => x.sub(y), (a, b) => f(a - b)],
  ['x + y', (x, y) => x.add(y), (a, b) => f(a + b)],
  ['x / 0', (x) => x.div(0), (a) => a / 0],
  ['-x / 0', (x) => x.neg().div(0), (a) => -a / 0],
  ['x * 0', (x) => x.mul(0), (a) => a * 0],
  ['0 * x', (x) => x.mul(0).mul(x), (a) => a * 0 * a],
  ['x - x', (x) => x.sub(x), (a) => a - a],
  ['exp(x) - exp(x)', (x) => x.exp().sub(x.exp()), (a) => f(Math.exp(a)) - f(Math.exp(a))],
  ['maximum', (x, y) => x.maximum(y), nanMax],
  ['minimum', (x, y) => x.minimum(y), nanMin],
  ['relu', (x) => x.relu(), (a) => (Number.isNaN(a) ? NaN : Math.max(a, 0))],
  ['exp', (x) => x.exp(), (a) => f(Math.exp(a))],
  ['log', (x) => x.log(), (a) => f(Math.log(a))],
  ['reciprocal', (x) => x.reciprocal(), (a) => f(1 / a)],
  // llvmpipe folded exp(log(x)) to x, so a negative x came back instead of NaN
  // llvmpipe let a NaN through kiln_pow's zero test (0 instead of NaN)
  ['x ** 3', (x) => x.pow(3), (a) => f(a ** 3)],
  // C powf, not sqrt: powf(-inf, 0.5) = +inf, powf(-0, 0.5) = +0 (sqrt gives NaN and -0)
  ['x ** 0.5', (x) => x.pow(0.5), (a) => (a === -inf ? inf : a === 0 ? 0 : f(Math.sqrt(a)))],
  ['exp(log(-|x|))', (x) => x.abs().neg().log().exp(), (a) => Math.exp(Math.log(-Math.abs(a)))],
  // the sign of a zero shows through 1/x: PyTorch's clamp keeps -0 at a bound of 0 (1/x = -inf)
  ['1 / clamp(x, -0.5, 0)', (x) => x.clamp(-0.5, 0).reciprocal(), (a) => f(1 / clamp(a, -0.5, 0))],
  ['1 / clamp(x, 0, 0.5)', (x) => x.clamp(0, 0.5).reciprocal(), (a) => f(1 / clamp(a, 0, 0.5))],
  ['1 / maximum(x, y)', (x, y) => x.maximum(y).reciprocal(), (a, b) => f(1 / nanMax(a, b))],
];

/** equal specials (NaN to NaN, each infinity to itself), finite values within a few ulp */
function expectIEEE(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i],
      at = `${what} at [${A[i]}, ${B[i]}]: got ${g}, want ${w}`;
    const same = Object.is(g, w) || (Number.isNaN(w) && Number.isNaN(g));
    if (!Number.isFinite(w)) expect(same, at).toBe(true);
    else expect(Math.abs(g - w), at).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(w)));
  }
}

describe.each(targets)('IEEE special values on %s', (target) => {
  it.each(CASES)('%s', async (what, fn, want) => {
    const spec = { shape: [A.length], dtype: 'float32' as const };
    const step = await compile((x: Tensor, y: Tensor) => fn(x, y), { inputs: [spec, spec], target });
    const got = (await step.run(A, B)).data;
    expectIEEE(
      got,
      Array.from(A, (a, i) => want(a, B[i])),
      what,
    );
  });

  it('NaN reaches a loss through its reductions: sum, mean, amax, MSE, cross entropy', async () => {
    const x = Float32Array.of(1, 2, NaN, 4),
      y = Float32Array.of(0, 0, 0, 0);
    const spec = { shape: [1, 4], dtype: 'float32' as const };
    const mse = new nn.MSELoss(),
      ce = new nn.CrossEntropyLoss();
    const losses = (a: Tensor, b: Tensor, t: Tensor) => [
      a.sum(),
      a.mean(),
      a.amax(),
      mse.forward(a, b),
      ce.forward(a, t),
    ];
    const step = await compile(losses, { inputs: [spec, spec, { shape: [1], dtype: 'int32' }], target });
    const outs = (await step.run(x, y, Int32Array.of(1))) as unknown as Tensor[];
    expect(
      outs.map((o) => o.item()),
      target,
    ).toEqual([NaN, NaN, NaN, NaN, NaN]);
  });
});

describe('a diverged training run', () => {
  /**
   * SGD with a learning rate far too large on the hidden layer: its weights grow until they
   * overflow, and the NaN must survive the ReLU (where(x > 0, x, 0) made it 0, and the loss finite)
   */
  async function losses(target: string): Promise<{ losses: number[]; weights: Float32Array }> {
    manualSeed(3);
    const hidden = new nn.Linear(4, 8),
      criterion = new nn.MSELoss();
    const model = new nn.Sequential(hidden, new nn.ReLU(), new nn.Linear(8, 1));
    // only the hidden layer trains: the output layer stays finite, so only the ReLU can pass the NaN on
    const optimizer = new optim.SGD(hidden.parameters(), { lr: 1e4 });
    const step = await compile(trainingStep(model, criterion, optimizer), {
      inputs: [
        { shape: [2, 4], dtype: 'float32' },
        { shape: [2, 1], dtype: 'float32' },
      ],
      target,
    });
    const out: number[] = [];
    const x = Float32Array.of(1, 2, 3, 4, -1, 0.5, 2, -3),
      y = Float32Array.of(1, -1);
    for (let k = 0; k < 60; k++) out.push((await step.run(x, y)).item());
    await step.sync();
    return { losses: out, weights: hidden.weight.data };
  }

  it('keeps a non-finite loss and non-finite weights on every target, as on the reference', async () => {
    const ref = await losses('reference');
    const diverged = ref.losses.findIndex((l) => !Number.isFinite(l));
    expect(diverged).toBeGreaterThan(0);
    expect(ref.losses[ref.losses.length - 1]).toBeNaN();
    for (const target of targets.filter((t) => t !== 'reference')) {
      const run = await losses(target);
      const first = run.losses.findIndex((l) => !Number.isFinite(l));
      const at = `${target}: first non-finite loss at step ${first}, reference ${diverged}`;
      expect(Math.abs(first - diverged), at).toBeLessThanOrEqual(1);
      expect(run.losses[run.losses.length - 1], target).toBeNaN();
      expect(
        Array.from(run.weights).some((w) => !Number.isFinite(w)),
        target,
      ).toBe(true);
    }
  }, 120_000);
});
