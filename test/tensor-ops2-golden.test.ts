// The last tensor ops of issue #11 (indexSelect, norm, cumsum) against PyTorch 1.13's values and
// gradients (test/fixtures/layers/tensorops2.py) on every target; gradient clipping (nn.utils's
// clipGradNorm_ and clipGradValue_) inside a compiled training step against PyTorch's trajectories
// (tensorops2_clip.json: loss, total norm and every weight after each of 3 steps); tolist's nesting.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, cumsum, indexSelect, nn, norm, optim, tensor, zeros, type Tensor } from 'kiln';
import { describeLayerGoldens, goldenMisses, type LayerCaseSpec } from './helpers/layer-golden.js';
import type { GoldenTensor } from './helpers/golden.js';

const fn = (f: (...xs: Tensor[]) => Tensor | Tensor[]): LayerCaseSpec => ({ fn: f });
const SPECS: Record<string, LayerCaseSpec> = {
  'indexSelect dim 0 duplicates': fn((x, i) => x.indexSelect(0, i)),
  'indexSelect dim 1 duplicates': fn((x, i) => x.indexSelect(1, i)),
  'indexSelect dim -1': fn((x, i) => indexSelect(x, -1, i)),
  'norm default': fn((x) => x.norm()),
  'norm 2 dim 1 keepdim': fn((x) => x.norm(2, 1, true)),
  'norm 1 dim -1': fn((x) => x.norm(1, -1)),
  'norm 3 dims 0 2': fn((x) => x.norm(3, [0, 2])),
  'norm inf dim 1': fn((x) => x.norm(Infinity, 1)),
  'norm -inf dim 0 keepdim': fn((x) => x.norm(-Infinity, 0, true)),
  'norm fro dims 1 2': fn((x) => norm(x, 'fro', [1, 2])),
  'norm fro keepdim': fn((x) => x.norm('fro', 0, true)),
  'norm 0 dim 1': fn((x) => x.norm(0, 1)),
  'norm 2 zero row': fn((x) => x.norm(2, 1)),
  'norm 3 zero row': fn((x) => x.norm(3, 1, true)),
  'norm 1.5 zero row': fn((x) => x.norm(1.5, 1)),
  'norm 0.5 all': fn((x) => x.norm(0.5)),
  'cumsum dim 0': fn((x) => x.cumsum(0)),
  'cumsum dim -1': fn((x) => x.cumsum(-1)),
  'cumsum dim 1': fn((x) => cumsum(x, 1)),
  'cumsum length 64': fn((x) => x.cumsum(-1)),
};

describeLayerGoldens('indexSelect, norm, cumsum on %s', 'tensorops2', SPECS);

interface ClipCase {
  name: string;
  optimizer: 'SGD' | 'Adam';
  options: Record<string, number>;
  clip: { kind: 'norm'; maxNorm: number; normType: number | 'inf' } | { kind: 'value'; clipValue: number };
  init: Record<string, GoldenTensor>;
  inputs: GoldenTensor[];
  targets: GoldenTensor[];
  steps: { loss: number; totalNorm: number | null; params: Record<string, GoldenTensor> }[];
}
const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/layers/tensorops2_clip.json');
const clipCases = (): ClipCase[] => JSON.parse(readFileSync(fixture, 'utf8')).cases;
const scalar = (v: number): GoldenTensor => ({ shape: [], dtype: 'float32', data: [v] });

/** the 3 steps of a case compiled for `target`: every mismatch with PyTorch (empty when it matches) */
async function runClipCase(c: ClipCase, target: string, tol: number): Promise<string[]> {
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
  model.loadStateDict(
    Object.fromEntries(Object.entries(c.init).map(([k, t]) => [k, { shape: t.shape, data: t.data }])),
  );
  const params = model.parameters(),
    names = [...model.namedParameters()].map(([k]) => k);
  const opt = c.optimizer === 'SGD' ? new optim.SGD(params, c.options) : new optim.Adam(params, c.options);
  const criterion = new nn.CrossEntropyLoss();
  const clip = c.clip;
  const step = await compile(
    (x: Tensor, y: Tensor) => {
      const loss = criterion.forward(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      const total =
        clip.kind === 'norm'
          ? nn.utils.clipGradNorm_(model.parameters(), clip.maxNorm, { normType: clip.normType })
          : (nn.utils.clipGradValue_(model.parameters(), clip.clipValue), zeros([]));
      opt.step();
      // the parameters as the step leaves them: PyTorch's weights after this step
      return [loss, total, ...params];
    },
    {
      inputs: [
        { shape: c.inputs[0].shape, dtype: 'float32' },
        { shape: c.targets[0].shape, dtype: 'int32' },
      ],
      target,
    },
  );
  const misses: string[] = [];
  for (const [k, want] of c.steps.entries()) {
    const [loss, total, ...after] = await step.run(
      Float32Array.from(c.inputs[k].data),
      Int32Array.from(c.targets[k].data),
    );
    misses.push(...goldenMisses(loss.data, scalar(want.loss), tol, `step ${k} loss`));
    if (want.totalNorm !== null)
      misses.push(...goldenMisses(total.data, scalar(want.totalNorm), tol, `step ${k} norm`));
    names.forEach((n, i) => misses.push(...goldenMisses(after[i].data, want.params[n], tol, `step ${k} ${n}`)));
  }
  await step.sync();
  return misses;
}

describe.each(['reference', 'native', 'webgpu'])('gradient clipping in a compiled step on %s', (target) => {
  it('matches PyTorch trajectories (clipGradNorm_ 2, inf, 1 with SGD and Adam; clipGradValue_)', async () => {
    const cases = clipCases();
    // the cases clip for real: PyTorch's total norm is above maxNorm at every step
    for (const c of cases) {
      if (c.clip.kind === 'norm') for (const s of c.steps) expect(s.totalNorm!).toBeGreaterThan(c.clip.maxNorm);
    }
    const tol = target === 'webgpu' ? 1e-4 : 1e-5;
    const got: Record<string, string[]> = {};
    for (const c of cases) got[c.name] = await runClipCase(c, target, tol);
    expect(got).toEqual(Object.fromEntries(cases.map((c) => [c.name, []])));
  });
});

describe('clipping outside compile() and its arguments', () => {
  const withGrads = () => {
    const a = new nn.Parameter({ shape: [2], data: [3, 0] }),
      b = new nn.Parameter({ shape: [1], data: [0] }),
      none = new nn.Parameter({ shape: [1], data: [0] });
    a.grad = tensor([3, -4]);
    b.grad = tensor([12]);
    return { a, b, none };
  };

  it('clipGradNorm_ scales by maxNorm / (total + 1e-6) and skips parameters without a gradient', () => {
    const { a, b, none } = withGrads();
    const total = nn.utils.clipGradNorm_([a, b, none], 6.5);
    expect(total.item()).toBe(13);
    const coef = Math.fround(Math.fround(6.5) * Math.fround(1 / Math.fround(13 + 1e-6)));
    expect(Array.from(a.grad!.data)).toEqual([Math.fround(3 * coef), Math.fround(-4 * coef)]);
    expect(b.grad!.item()).toBeCloseTo(6, 5);
    expect(none.grad).toBeNull();
    // a norm under maxNorm leaves the gradient as it is (the coefficient clamps at 1)
    expect(nn.utils.clipGradNorm_(a, 100, { normType: 'inf' }).item()).toBeCloseTo(4 * coef, 6);
    expect(Array.from(a.grad!.data)).toEqual([Math.fround(3 * coef), Math.fround(-4 * coef)]);
    expect(nn.utils.clipGradNorm_([none], 1).item()).toBe(0);
  });

  it('clipGradValue_ clamps every gradient', () => {
    const { a, b } = withGrads();
    nn.utils.clipGradValue_([a, b], 3.5);
    expect(a.grad!.tolist()).toEqual([3, -3.5]);
    expect(b.grad!.tolist()).toEqual([3.5]);
  });

  it('errorIfNonfinite throws PyTorch message and changes no gradient', () => {
    const { a } = withGrads();
    a.grad = tensor([Infinity, 1]);
    expect(() => nn.utils.clipGradNorm_(a, 1, { errorIfNonfinite: true })).toThrow(
      'The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped.',
    );
    expect(a.grad!.tolist()).toEqual([Infinity, 1]);
    expect(() => nn.utils.clipGradNorm_(a, 1, { errorIfNonFinite: true } as never)).toThrow(
      "did you mean 'errorIfNonfinite'?",
    );
  });
});

describe('tensor op errors and tolist', () => {
  it.each<[string, () => unknown, string]>([
    [
      'indexSelect out of range',
      () => zeros([3, 2]).indexSelect(0, tensor(Int32Array.of(0, 3))),
      'index out of range in self',
    ],
    [
      'indexSelect negative',
      () => zeros([3, 2]).indexSelect(1, tensor(Int32Array.of(-1))),
      'index out of range in self',
    ],
    [
      'indexSelect 2-d index',
      () => zeros([3]).indexSelect(0, tensor(Int32Array.of(0, 1), { shape: [1, 2] })),
      'index_select(): Index is supposed to be a vector',
    ],
    [
      'indexSelect float index',
      () => zeros([3]).indexSelect(0, tensor([0])),
      'index_select(): Expected dtype int32 or int64 for index',
    ],
    [
      'norm bad string',
      () => zeros([3]).norm('abc' as never),
      "only valid string values are 'fro' and 'nuc', found abc",
    ],
    [
      'norm fro over 3 dims',
      () => zeros([2, 3, 4]).norm('fro', [0, 1, 2]),
      'Expected at most 2 dimensions, but got 3 dimensions instead.',
    ],
    ['norm of ints', () => tensor(Int32Array.of(1, 2)).norm(), 'norm(): input dtype should be either floating point'],
    ['cumsum dim', () => zeros([2, 3]).cumsum(2), 'Dimension out of range'],
  ])('%s', (_, f, message) => {
    expect(f).toThrow(message);
  });

  it('norm gradients at ties and zeros are PyTorch 1.13 ones (values printed by torch)', () => {
    const grad = (data: number[], p: number) => {
      const x = new nn.Parameter({ shape: [data.length], data });
      x.norm(p).backward();
      return Array.from(x.grad!.data);
    };
    // the max shared among ties; a zero norm gives a zero gradient, not NaN
    expect(grad([1, -2, -2], Infinity)).toEqual([0, -0.5, -0.5]);
    expect(grad([1, -2, -2], -Infinity)).toEqual([1, -0, -0]); // signs too: PyTorch's sgn(x) * 0
    expect(grad([1, 0, -2], 1)).toEqual([1, 0, -1]);
    for (const p of [2, 3, 1.5, Infinity]) expect(grad([0, 0, 0], p)).toEqual([0, 0, 0]);
    const g3 = grad([1, 0, -2], 3);
    [0.2311, 0, -0.9245].forEach((v, i) => expect(g3[i]).toBeCloseTo(v, 4));
    expect(tensor([0, 1, -2]).norm(0).item()).toBe(2);
  });

  it('indexSelect checks a compiled index input on every run, before anything launches', async () => {
    const f = await compile((x: Tensor, i: Tensor) => x.indexSelect(1, i), {
      inputs: [
        { shape: [2, 3], dtype: 'float32' },
        { shape: [2], dtype: 'int32' },
      ],
    });
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    expect((await f.run(x, Int32Array.of(2, 2))).tolist()).toEqual([
      [3, 3],
      [6, 6],
    ]);
    await expect(f.run(x, Int32Array.of(0, 3))).rejects.toThrow('index out of range in self');
  });

  it('tolist nests like PyTorch: a number for 0-d, one array per dim, booleans for bool', () => {
    expect(tensor(2.5).tolist()).toBe(2.5);
    expect(tensor([1, 2]).tolist()).toEqual([1, 2]);
    const x = tensor(
      Int32Array.from({ length: 12 }, (_, i) => i),
      { shape: [2, 3, 2] },
    );
    expect(x.tolist()).toEqual([
      [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
      [
        [6, 7],
        [8, 9],
        [10, 11],
      ],
    ]);
    expect(tensor([1, -1]).gt(0).tolist()).toEqual([true, false]);
    expect(zeros([2, 0]).tolist()).toEqual([[], []]);
    expect(zeros([0, 2]).tolist()).toEqual([]);
  });
});
