// Loss values and input gradients against numbers from real PyTorch (test/fixtures/losses.json,
// made by test/fixtures/losses.py with torch 1.13; these tests do not need torch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor, KilnError, type Tensor } from 'kiln';

const fx = JSON.parse(readFileSync(new URL('./fixtures/losses.json', import.meta.url), 'utf8'));
const relErr = (a: ArrayLike<number>, b: number[]) =>
  Math.max(0, ...b.map((v, i) => Math.abs(a[i] - v) / Math.max(Math.abs(v), 1e-3)));

function makeLoss(c: any) {
  if (c.loss === 'MSELoss') return new nn.MSELoss(c.options);
  const { weight, ...rest } = c.options;
  return new nn.CrossEntropyLoss({ ...rest, weight: weight ? tensor(weight) : undefined });
}
const targetOf = (c: any) =>
  tensor(c.targetDtype === 'int32' ? Int32Array.from(c.target) : Float32Array.from(c.target.flat()), {
    shape: c.targetShape,
    dtype: c.targetDtype,
  });

describe('losses match PyTorch 1.13 (value and gradient)', () => {
  for (const c of fx.cases) {
    it(`${c.name} (eager)`, () => {
      const x = tensor(fx.input.data, { shape: fx.input.shape, requiresGrad: true });
      const loss = makeLoss(c).forward(x, targetOf(c));
      expect(loss.shape).toEqual(c.valueShape);
      expect(relErr(loss.data, c.value)).toBeLessThan(1e-5);
      loss.sum().backward();
      expect(relErr(x.grad!.data, c.grad)).toBeLessThan(1e-4);
    });
  }
  it('compiled: a class-index loss with weights, ignoreIndex and smoothing traces and runs the same', async () => {
    const c = fx.cases.find((k: any) => k.name === 'index smoothing weight mean');
    const crit = makeLoss(c);
    const f = await compile((x: Tensor, y: Tensor) => crit.forward(x, y), {
      inputs: [
        { shape: fx.input.shape, dtype: 'float32' },
        { shape: c.targetShape, dtype: 'int32' },
      ],
    });
    const loss = await f.run(Float32Array.from(fx.input.data), Int32Array.from(c.target));
    expect(relErr(loss.data, c.value)).toBeLessThan(1e-5);
  });
});

describe('loss errors', () => {
  const x = tensor(fx.input.data, { shape: fx.input.shape });
  it('rejects float class indices of the wrong shape, out-of-range targets and bad options', () => {
    expect(() => new nn.CrossEntropyLoss().forward(x, tensor([0, 1, 2, 3, 0]))).toThrow(/CrossEntropyLoss.*\[5, 4\]/);
    expect(() => new nn.CrossEntropyLoss().forward(x, tensor(Int32Array.of(0, 1, 2), { dtype: 'int32' }))).toThrow(
      /shape \[5\].*int32\[3\]/,
    );
    expect(() =>
      new nn.CrossEntropyLoss().forward(x, tensor(Int32Array.of(0, 1, 9, 1, 1), { dtype: 'int32' })),
    ).toThrow(/Target 9 is out of bounds/);
    expect(() =>
      new nn.CrossEntropyLoss({ weight: tensor([1, 2]) }).forward(
        x,
        tensor(Int32Array.of(0, 1, 2, 1, 1), { dtype: 'int32' }),
      ),
    ).toThrow(KilnError);
    expect(() => new nn.CrossEntropyLoss({ reduction: 'avg' as any })).toThrow(
      'avg is not a valid value for reduction',
    );
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 })).toThrow(
      /label_smoothing must be between 0.0 and 1.0/,
    );
  });
  it('all targets ignored: the mean is NaN, as in PyTorch', () => {
    const y = tensor(Int32Array.of(-100, -100, -100, -100, -100), { dtype: 'int32' });
    expect(Number.isNaN(new nn.CrossEntropyLoss().forward(x, y).item())).toBe(true);
  });
});
