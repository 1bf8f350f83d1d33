// Sizes, dims, indices and bounds must be integers in range: a NaN or 2.5 used to become a shape
// that was built and run. The messages are PyTorch 1.13's (checked against torch), the site the
// user's line; inside compile() the same checks fail the trace.
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor, zeros, ones, arange, randn, oneHot, KilnError, type Tensor } from '../compiler/index.js';

const a23 = zeros([2, 3]),
  scalar = tensor(1);

function caught(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  throw new Error('expected a KilnError');
}
const firstLine = (fn: () => unknown) => caught(fn).message.split('\n')[0];

const cases: [string, (x: Tensor) => unknown, string][] = [
  [
    'expand([NaN])',
    () => scalar.expand([NaN]),
    "expand(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
  ],
  [
    'expand([2.5])',
    () => scalar.expand([2.5]),
    "expand(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
  ],
  [
    'expand(2, 3.5)',
    (x) => x.expand(2, 3.5),
    "expand(): argument 'size' must be tuple of ints, but found element of type float at pos 1",
  ],
  [
    'expand leading -1',
    (x) => x.expand(-1, 2, 3),
    "expand: The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0",
  ],
  [
    'expand -2 on a size-1 dim',
    () => zeros([1, 3]).expand(-2, 3),
    'Trying to create tensor with negative dimension -2: [-2, 3]',
  ],
  [
    'slice fractional start',
    (x) => x.slice(1, 0.5, 2),
    'slice indices must be integers or None or have an __index__ method',
  ],
  ['slice NaN end', (x) => x.slice(1, 1, NaN), 'slice indices must be integers or None or have an __index__ method'],
  [
    'slice fractional step',
    (x) => x.slice(1, 0, 3, 1.5),
    'slice indices must be integers or None or have an __index__ method',
  ],
  ['slice step 0', (x) => x.slice(1, 0, 3, 0), 'slice step cannot be zero'],
  ['slice fractional dim', (x) => x.slice(0.5, 0, 1), "slice(): argument 'dim' must be int, not float"],
  ['select on a 0-d tensor', () => scalar.select(0, 0), 'select() cannot be applied to a 0-dim tensor.'],
  [
    'select fractional index',
    (x) => x.select(0, 1.5),
    "select(): argument 'index' (position 2) must be int, not float",
  ],
  [
    'select out of range',
    (x) => x.select(0, 5),
    'select(): index 5 out of range for tensor of size [2, 3] at dimension 0',
  ],
  ['narrow(0, 1, -1)', (x) => x.narrow(0, 1, -1), 'narrow(): length must be non-negative.'],
  ['narrow past the end', (x) => x.narrow(0, 1, 5), 'start (1) + length (5) exceeds dimension size (2).'],
  [
    'narrow start out of range',
    (x) => x.narrow(0, 3, 0),
    'start out of range (expected to be in range of [-2, 2], but got 3)',
  ],
  [
    'narrow fractional start',
    (x) => x.narrow(0, 0.5, 1),
    "narrow(): argument 'start' (position 2) must be int, not float",
  ],
  [
    'narrow fractional length',
    (x) => x.narrow(0, 0, NaN),
    "narrow(): argument 'length' (position 3) must be int, not float",
  ],
  ['narrow on a 0-d tensor', () => scalar.narrow(0, 0, 1), 'narrow() cannot be applied to a 0-dim tensor.'],
  [
    'reshape(2.5, 2)',
    (x) => x.reshape(2.5, 2),
    "reshape(): argument 'shape' must be tuple of ints, but found element of type float at pos 0",
  ],
  ['unsqueeze(0.5)', (x) => x.unsqueeze(0.5), "unsqueeze(): argument 'dim' must be int, not float"],
  ['permute(0.5, 1)', (x) => x.permute(0.5, 1), "permute(): argument 'dim' must be int, not float"],
  ['transpose(0, NaN)', (x) => x.transpose(0, NaN), "transpose(): argument 'dim' must be int, not float"],
  ['sum(1.5)', (x) => x.sum(1.5), "sum(): argument 'dim' must be int, not float"],
];

describe('view ops reject non-integer and out-of-range arguments eagerly', () => {
  for (const [name, fn, want] of cases) {
    it(name, () => {
      const err = caught(() => fn(a23));
      expect(err.message.split('\n')[0]).toBe(want);
      expect(err.message).toMatch(/view-args\.test\.ts:\d+:\d+/);
    });
  }

  it('factories reject such shapes too', () => {
    expect(firstLine(() => zeros([2.5]))).toBe(
      "zeros(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
    );
    expect(firstLine(() => ones([NaN, 2]))).toBe(
      "ones(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
    );
    expect(firstLine(() => zeros([-1]))).toBe('Trying to create tensor with negative dimension -1: [-1]');
    expect(firstLine(() => randn([1.5]))).toBe(
      "randn(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
    );
    // -1 * -2 = 2 values: the element count alone does not catch it
    expect(firstLine(() => tensor([1, 2], { shape: [-1, -2] }))).toBe(
      'Trying to create tensor with negative dimension -1: [-1, -2]',
    );
    expect(firstLine(() => new nn.Parameter({ shape: [-1, -2], data: [1, 2] }))).toBe(
      'Trying to create tensor with negative dimension -1: [-1, -2]',
    );
    expect(firstLine(() => arange(2.5))).toBe("arange(): argument 'end' (position 1) must be int, not float");
    expect(firstLine(() => oneHot(tensor(Int32Array.of(0, 1), { dtype: 'int32' }), 2.5))).toBe(
      "one_hot(): argument 'num_classes' (position 2) must be int, not float",
    );
  });

  it('valid arguments still work (negative indices, -1 sizes, narrow to the end)', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.select(1, -1).tolist()).toEqual([3, 6]);
    expect(x.narrow(1, -2, 2).tolist()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    expect(x.narrow(0, 2, 0).shape).toEqual([0, 3]);
    expect(x.slice(1, -2).tolist()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    expect(x.reshape(-1, 2).shape).toEqual([3, 2]);
    expect(x.expand(2, -1, -1).shape).toEqual([2, 2, 3]);
  });
});

describe('inside compile() the same checks fail the trace', () => {
  it.each([
    [
      'expand([2.5, 3])',
      (x: Tensor) => x.expand([2.5, 3]),
      "expand(): argument 'size' must be tuple of ints, but found element of type float at pos 0",
    ],
    ['narrow(0, 1, -1)', (x: Tensor) => x.narrow(0, 1, -1), 'narrow(): length must be non-negative.'],
    ['select on a 0-d tensor', (x: Tensor) => x.sum().select(0, 0), 'select() cannot be applied to a 0-dim tensor.'],
    [
      'slice NaN start',
      (x: Tensor) => x.slice(0, NaN),
      'slice indices must be integers or None or have an __index__ method',
    ],
  ])('%s', async (_name, fn, want) => {
    const err = await compile((x: Tensor) => fn(x), { inputs: [{ shape: [1, 3], dtype: 'float32' }] }).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(KilnError);
    expect((err as Error).message.split('\n')[0]).toBe(want);
  });
});
