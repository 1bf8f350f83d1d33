// Border splitting (compiler/kernel/borders.ts): a kernel whose loads are guarded by a pad is lowered as
// the interior of its grid, where every guard holds and is left out, and the frame around it; the boxes
// together compute what the whole kernel does, bit for bit, on the kernel interpreter and on native.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, nn, manualSeed, optim, randn, type Tensor } from '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { printKernel } from '../compiler/kernel/print.js';
import { g, program, randomEnv, runReference, runScheduled } from './kernels-util.js';

manualSeed(3);
const conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
const forward = (x: Tensor) => conv.forward(x).relu();
const inputs = [{ shape: [2, 3, 40, 40], dtype: 'float32' as const }];

/**
 * an SGD step through `layer` on w * x (x of `shape`), scheduled split and whole, and both run on the kernel
 * interpreter from one random state: the split program, and a check that its results equal the whole one's bits
 */
function splitStep(layer: nn.Module, shape: number[], loss: (y: Tensor) => Tensor, seed: number) {
  const w = new nn.Parameter(randn(shape));
  const opt = new optim.SGD([w, ...layer.parameters()], { lr: 0.1 });
  const gp = trace(
    (x: Tensor) => {
      const l = loss(layer.forward(w.mul(x)) as Tensor);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l;
    },
    [{ shape, dtype: 'float32' }],
  ).graph;
  const [parts, kept] = [schedule(gp, new StateLayout()), schedule(gp, new StateLayout(), { splitBorders: false })];
  const env = randomEnv(gp, seed);
  const [a, b] = [runScheduled(parts, env), runScheduled(kept, env)];
  const expectSameBits = () => {
    expect(Array.from(a.outputs[0])).toEqual(Array.from(b.outputs[0]));
    for (const [cell, v] of b.cells) expect(Array.from(a.cells.get(cell)!), `cell ${cell}`).toEqual(Array.from(v));
  };
  return { parts, kept, expectSameBits };
}

describe('border splitting', () => {
  const graph = trace(forward, inputs).graph;
  const split = schedule(graph, new StateLayout());
  const whole = schedule(graph, new StateLayout(), { splitBorders: false });

  it("lowers a padded convolution as its frame and its interior, the interior without the pad's guards", () => {
    expect(whole.kernels).toHaveLength(1);
    const grids = split.kernels.map((k) => k.grid);
    // rows 0 and 39, then columns 0 and 39 of the rows between, then the 38 x 38 interior
    expect(grids).toEqual([
      [2, 4, 1, 40],
      [2, 4, 1, 40],
      [2, 4, 38, 1],
      [2, 4, 38, 1],
      [2, 4, 38, 38],
    ]);
    // a pad's guard: on the value (`cond ? v : 0.0`), and on the index too where it could leave the buffer
    const padGuard = /\? v\d+ : 0\.0/;
    expect(printKernel(whole.kernels[0])).toMatch(padGuard);
    expect(printKernel(split.kernels[0])).toMatch(padGuard);
    expect(printKernel(split.kernels[4])).not.toMatch(padGuard);
    expect(printKernel(split.kernels[4])).not.toMatch(/b\d+\[[^\]]*\?/);
    expect(split.kernels[4].meta.reason).toMatch(/box \[0\.\.2, 0\.\.4, 1\.\.39, 1\.\.39\]/);
  });

  it('the boxes compute what the whole kernel does, bit for bit', () => {
    const env = randomEnv(graph, 5);
    const [got, kept] = [runScheduled(split, env).outputs[0], runScheduled(whole, env).outputs[0]];
    expect(Array.from(got)).toEqual(Array.from(kept));
    expect(Array.from(got)).toEqual(Array.from(runReference(graph, env).outputs[0]));
  });

  it("splits a strided window's transpose by residue class: max-pooling's gradient, every second row a tap", () => {
    const { parts, expectSameBits } = splitStep(new nn.MaxPool2d(2), [2, 3, 40, 40], (y) => y.sum(), 9);
    const byTwo = parts.kernels.filter((k) => / by 2/.test(k.meta.reason ?? ''));
    expect(byTwo.length).toBeGreaterThanOrEqual(2); // the residue classes of one dim at least
    expectSameBits();
  });

  it.each([
    ['conv 3x3 stride 2 pad 1', () => new nn.Conv2d(3, 4, 3, { padding: 1, stride: 2 })],
    ['conv 5x5 pad 2 dilation 2', () => new nn.Conv2d(3, 2, 5, { padding: 2, dilation: 2 })],
    ['conv 3x3 pad 2', () => new nn.Conv2d(3, 4, 3, { padding: 2 })],
    ['max-pool 3 stride 2 pad 1', () => new nn.MaxPool2d(3, { stride: 2, padding: 1 })],
    ['avg-pool 2', () => new nn.AvgPool2d(2)],
  ] as const)('%s: a training step split into boxes computes what it does whole, bit for bit', (_, make) => {
    const { parts, kept, expectSameBits } = splitStep(make(), [2, 3, 36, 36], (y) => y.square().sum(), 4);
    expect(parts.kernels.length).toBeGreaterThan(kept.kernels.length);
    expectSameBits();
  });

  it.runIf(availableTargets().includes('native'))(
    'native runs the boxes as the reference target runs the conv',
    async () => {
      const x = randn([2, 3, 40, 40]).data as Float32Array;
      const [n, r] = [await compile(forward, { inputs, target: 'native' }), await compile(forward, { inputs })];
      expect(n.stats().kernels).toBe(5);
      const [a, b] = [(await n.run(x)).data, (await r.run(x)).data];
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThan(1e-5);
    },
  );
});

describe('guarded loads', () => {
  const padProgram = (shape: number[], before: number[], after: number[]) => {
    const x = g.input(0, shape);
    const out = g.pad(x, before, after);
    return program({ inputs: [{ name: 'x', shape, dtype: 'float32' }], outputs: [out] });
  };
  const loads = (p: ReturnType<typeof schedule>) => printKernel(p.kernels[p.kernels.length - 1]);

  it("keep the index guard where the unguarded index could leave the buffer (a pad past the input's end)", () => {
    // x is its own buffer of 16: the last row padded after reads index 16.. unguarded
    const p = schedule(padProgram([4, 4], [0, 0], [2, 2]), new StateLayout(), { splitBorders: false });
    expect(loads(p)).toMatch(/b\d+\[[^\]]*\?/);
  });

  it('load unconditionally where every unguarded index lies in the buffer (the value is still selected)', () => {
    // padded before only: unguarded, index (i - 1) * 4 + (j - 1) is max(.., 0)-clamped at the low end and
    // never past 15 at the high end
    const p = schedule(padProgram([4, 4], [1, 1], [0, 0]), new StateLayout(), { splitBorders: false });
    const text = loads(p);
    expect(text).not.toMatch(/b\d+\[[^\]]*\?/);
    expect(text).toMatch(/\? v\d+ : 0\.0/);
    const env = randomEnv(padProgram([4, 4], [1, 1], [0, 0]), 2);
    const gp = padProgram([4, 4], [1, 1], [0, 0]);
    expect(Array.from(runScheduled(p, env).outputs[0])).toEqual(Array.from(runReference(gp, env).outputs[0]));
  });
});
