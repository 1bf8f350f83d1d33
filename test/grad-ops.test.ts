// Every op's gradient against central finite differences (eager, through the reference interpreter).
import { describe, expect, it } from 'vitest';
import { tensor, where, type Tensor } from 'kiln';
import { gradcheck, randData, type Input } from './grad-check.js';

const inp = (shape: number[], lo = -1, hi = 1): Input => ({
  shape,
  data: randData(
    shape.reduce((a, b) => a * b, 1),
    lo,
    hi,
  ),
});

const cases: [string, (...xs: Tensor[]) => Tensor, Input[]][] = [
  ['neg', (x) => x.neg(), [inp([3, 2])]],
  ['exp', (x) => x.exp(), [inp([4])]],
  ['log', (x) => x.log(), [inp([4], 0.5, 2)]],
  ['sqrt', (x) => x.sqrt(), [inp([4], 0.5, 2)]],
  ['abs', (x) => x.abs(), [{ shape: [4], data: [-0.7, -0.2, 0.3, 0.9] }]],
  ['reciprocal', (x) => x.reciprocal(), [inp([4], 0.5, 2)]],
  ['relu', (x) => x.relu(), [{ shape: [4], data: [-0.7, -0.2, 0.3, 0.9] }]],
  ['sigmoid/tanh', (x) => x.sigmoid().add(x.tanh()), [inp([5])]],
  ['add (broadcast [3,1]+[4])', (a, b) => a.add(b), [inp([3, 1]), inp([4])]],
  ['sub (broadcast [2,3]-[3])', (a, b) => a.sub(b), [inp([2, 3]), inp([3])]],
  ['mul (broadcast [2,1,3]*[4,1])', (a, b) => a.mul(b), [inp([2, 1, 3]), inp([4, 1])]],
  ['div (broadcast [3]/[2,1])', (a, b) => a.div(b), [inp([3]), inp([2, 1], 0.5, 2)]],
  ['mul by scalar', (a) => a.mul(3).add(1).div(2), [inp([3])]],
  ['pow scalar', (a) => a.pow(3), [inp([4])]],
  ['pow tensor', (a, b) => a.pow(b), [inp([4], 0.5, 2), inp([4])]],
  ['maximum/minimum (no ties)', (a, b) => a.maximum(b).add(a.minimum(b).mul(2)), [inp([5]), inp([5])]],
  ['clamp', (a) => a.clamp(-0.5, 0.5), [{ shape: [4], data: [-0.9, -0.2, 0.3, 0.8] }]],
  ['where', (a, b) => where(a.gt(0), a.mul(b), b.exp()), [{ shape: [4], data: [-0.7, -0.2, 0.3, 0.9] }, inp([4])]],
  ['fan-out accumulation', (x) => x.mul(x).add(x.exp()).add(x), [inp([3])]],
  ['sum all', (x) => x.sum(), [inp([2, 3])]],
  ['sum dims keepdim', (x) => x.sum([0, 2], true), [inp([2, 3, 2])]],
  ['sum dim', (x) => x.sum(1), [inp([2, 3])]],
  ['mean dim', (x) => x.mean(-1), [inp([2, 3])]],
  ['mean all', (x) => x.mean(), [inp([2, 3])]],
  ['amax dim (no ties)', (x) => x.amax(1, true), [inp([3, 4])]],
  ['max all', (x) => x.max(), [inp([5])]],
  ['matmul 2d', (a, b) => a.matmul(b), [inp([3, 4]), inp([4, 2])]],
  ['matmul batched broadcast', (a, b) => a.matmul(b), [inp([2, 3, 4]), inp([4, 2])]],
  ['matmul vector', (a, b) => a.matmul(b), [inp([4]), inp([4, 3])]],
  ['reshape', (x) => x.reshape([3, 2]).mul(tensor([1, 2], { shape: [2] })), [inp([2, 3])]],
  ['transpose', (x) => x.transpose(0, 1).mul(tensor([1, 2, 3], { shape: [3, 1] })), [inp([2, 3])]],
  ['permute', (x) => x.permute(2, 0, 1).exp(), [inp([2, 3, 2])]],
  ['expand', (x) => x.expand([3, 4]).exp(), [inp([3, 1])]],
  ['slice', (x) => x.slice(1, 1, 3).exp(), [inp([2, 4])]],
  ['strided slice', (x) => x.slice(0, 1, 6, 2).exp(), [inp([7, 2])]],
  ['select', (x) => x.select(0, -1).exp(), [inp([3, 2])]],
  [
    'pad',
    (x) =>
      x
        .pad([
          [1, 0],
          [2, 1],
        ])
        .exp(),
    [inp([2, 2])],
  ],
  ['logSoftmax', (x) => x.logSoftmax(1), [inp([3, 4], -2, 2)]],
  ['softmax', (x) => x.softmax(0), [inp([3, 4], -2, 2)]],
  [
    'gather',
    (x) => x.gather(1, tensor(Int32Array.from([2, 0, 0, 1, 1, 1]), { shape: [3, 2], dtype: 'int32' })),
    [inp([3, 4])],
  ],
];

describe('gradients match central finite differences', () => {
  for (const [name, f, inputs] of cases) {
    it(name, () => {
      expect(gradcheck(f, inputs)).toBeLessThanOrEqual(1);
    });
  }
});

describe('gradients where finite differences do not apply', () => {
  it('maximum/minimum split the gradient evenly at ties, as PyTorch does', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true }),
      b = tensor([1, 5, 3], { requiresGrad: true });
    a.maximum(b).sum().backward();
    expect(Array.from(a.grad!.data)).toEqual([0.5, 0, 0.5]);
    expect(Array.from(b.grad!.data)).toEqual([0.5, 1, 0.5]);
  });
  it('amax shares the gradient evenly among tied maxima; relu gives 0 at 0', () => {
    const x = tensor([2, 1, 2, 0], { requiresGrad: true });
    x.amax().add(x.relu().sum()).backward();
    expect(Array.from(x.grad!.data)).toEqual([1.5, 1, 1.5, 0]);
  });
  it('max(dim) sends the gradient to the first maximum it returns, as PyTorch does (min(dim) too)', () => {
    // torch 1.13: x.max(1).values.sum().backward() -> [[0,1,0],[1,0,0]];
    // min(1, keepdim) * [[2],[5]] -> [[2,0,0],[0,0,5]]
    const x = tensor(
      [
        [1, 3, 3],
        [2, 2, 1],
      ],
      { requiresGrad: true },
    );
    x.max(1).values.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 1, 0, 1, 0, 0]);
    const z = tensor(
      [
        [1, 3, 3],
        [2, 2, 1],
      ],
      { requiresGrad: true },
    );
    z.min(1, true)
      .values.mul(tensor([[2], [5]]))
      .sum()
      .backward();
    expect(Array.from(z.grad!.data, Math.abs)).toEqual([2, 0, 0, 0, 0, 5]);
  });
  it('gather scatters gradients back, adding repeated indices', () => {
    const x = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    x.gather(1, tensor(Int32Array.from([0, 0, 2, 1]), { shape: [2, 2], dtype: 'int32' }))
      .sum()
      .backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 0, 0, 0, 1, 1]);
  });
  it('backward accumulates into .grad across calls', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([5, 7]);
  });
});
