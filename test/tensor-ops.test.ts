// Forward values of the Tensor DSL: dtypes, NumPy broadcasting, reductions, views, indexing.
import { describe, expect, it } from 'vitest';
import { compile, oneHot, tensor, where, arange, type Tensor } from 'kiln';

const i32 = (v: number[], shape?: number[]) => tensor(Int32Array.from(v), { shape, dtype: 'int32' });

describe('Tensor DSL values', () => {
  it('broadcasts like NumPy and promotes dtypes', () => {
    const a = tensor([[1], [2], [3]]),
      b = tensor([10, 20]);
    const c = a.add(b);
    expect(c.shape).toEqual([3, 2]);
    expect(c.tolist()).toEqual([
      [11, 21],
      [12, 22],
      [13, 23],
    ]);
    expect(i32([1, 2]).add(i32([3, 4])).dtype).toBe('int32');
    expect(i32([1, 2]).add(0.5).dtype).toBe('float32');
    expect(i32([3, 4]).div(2).tolist()).toEqual([1.5, 2]);
    expect(tensor([1, 2, 3]).gt(2).dtype).toBe('bool');
    expect(
      tensor([1, 2, 3])
        .gt(1)
        .logicalAnd(tensor([1, 2, 3]).lt(3))
        .tolist(),
    ).toEqual([false, true, false]);
  });
  it('elementwise math, where, maximum/minimum, pow', () => {
    const x = tensor([-2, 0.5, 4]);
    expect(x.abs().tolist()).toEqual([2, 0.5, 4]);
    expect(x.maximum(0).tolist()).toEqual([0, 0.5, 4]);
    expect(x.minimum(tensor([0])).tolist()).toEqual([-2, 0, 0]);
    expect(x.pow(2).tolist()).toEqual([4, 0.25, 16]);
    expect(where(x.gt(0), x, tensor([7, 8, 9])).tolist()).toEqual([7, 0.5, 4]);
    expect(tensor([4]).sqrt().item()).toBe(2);
    expect(tensor([1]).exp().log().item()).toBeCloseTo(1, 6);
  });
  it('reductions over dims with keepdim', () => {
    const x = tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);
    expect(x.sum(1).tolist()).toEqual([9, 12]);
    expect(x.sum(0, true).shape).toEqual([1, 3]);
    expect(x.mean().item()).toBeCloseTo(3.5, 6);
    expect(x.amax(1, true).tolist()).toEqual([[5], [6]]);
    expect(x.max().item()).toBe(6);
    expect(x.argmax(1).tolist()).toEqual([1, 2]);
    expect(x.min(0).values.tolist()).toEqual([1, 2, 3]);
  });
  it('matmul and views', () => {
    const a = tensor([
        [1, 2],
        [3, 4],
      ]),
      b = tensor([[5], [6]]);
    expect(a.matmul(b).tolist()).toEqual([[17], [39]]);
    expect(a.T.tolist()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const x = arange(12).float().reshape(2, 3, 2);
    expect(x.permute(2, 0, 1).shape).toEqual([2, 2, 3]);
    expect(x.slice(1, 0, 3, 2).tolist()).toEqual([
      [
        [0, 1],
        [4, 5],
      ],
      [
        [6, 7],
        [10, 11],
      ],
    ]);
    expect(x.select(2, 1).tolist()).toEqual([
      [1, 3, 5],
      [7, 9, 11],
    ]);
    expect(
      tensor([1, 2])
        .pad([[1, 2]])
        .tolist(),
    ).toEqual([0, 1, 2, 0, 0]);
    expect(tensor([1, 2]).reshape(2, 1).expand(2, 3).tolist()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });
  it('softmax family', () => {
    const [p] = tensor([[1, 2, 3]])
      .softmax(1)
      .tolist() as number[][];
    const e = [1, 2, 3].map(Math.exp),
      s = e.reduce((a, b) => a + b);
    p.forEach((v, i) => expect(v).toBeCloseTo(e[i] / s, 6));
    expect(
      (
        tensor([[1000, 0]])
          .logSoftmax(1)
          .tolist() as number[][]
      )[0][1],
    ).toBeCloseTo(-1000, 3); // stable
  });
  it('gather and oneHot by class index', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.gather(1, i32([2, 0], [2, 1])).tolist()).toEqual([[3], [4]]);
    expect(x.gather(0, i32([1, 0, 1], [1, 3])).tolist()).toEqual([[4, 2, 6]]);
    // PyTorch's gather takes no negative indices (it does not count from the end)
    expect(() => x.gather(1, i32([-1, 0], [2, 1]))).toThrow('index -1 is out of bounds for dimension 1 with size 3');
    expect(oneHot(i32([0, 2]), 3).tolist()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
    ]);
    expect(oneHot(i32([1, 3])).shape).toEqual([2, 4]);
  });
  it('gather works inside compile with a traced index', async () => {
    const f = await compile((x: Tensor, i: Tensor) => x.gather(1, i.reshape(2, 1)), {
      inputs: [
        { shape: [2, 3], dtype: 'float32' },
        { shape: [2], dtype: 'int32' },
      ],
    });
    expect((await f.run(Float32Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(1, 2))).tolist()).toEqual([[2], [6]]);
  });
});
