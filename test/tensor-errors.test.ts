// Shape and dtype checks: each error names the op, the shapes involved and the user's line.
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor, where, zeros, KilnError, type Tensor } from 'kiln';

/** runs fn and returns the KilnError it throws, with the line of this file it was raised from */
function caught(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  throw new Error('expected a KilnError');
}
const here = (err: KilnError) => /tensor-errors\.test\.ts:(\d+):\d+/.exec(err.message)?.[1];
const line = () => Number(/tensor-errors\.test\.ts:(\d+)/.exec(new Error().stack!.split('\n')[2])![1]);

const a23 = zeros([2, 3]),
  a4 = zeros([4]),
  i3 = tensor(Int32Array.from([0, 1, 2]), { dtype: 'int32' });

describe('eager ops reject bad shapes and dtypes with the op, the shapes and the call site', () => {
  const cases: [string, () => unknown, RegExp[]][] = [
    ['add', () => a23.add(a4), [/^add:/, /\[2, 3\]/, /\[4\]/]],
    ['mul', () => a23.mul(zeros([3, 3])), [/^mul:/, /\[2, 3\]/, /\[3, 3\]/]],
    ['where', () => where(zeros([2, 3]).gt(0), a4, 0), [/^where:/, /\[2, 3\]/, /\[4\]/]],
    ['where (dtype)', () => where(a23, a23, 0), [/^where:/, /boolean/, /float32\[2, 3\]/]],
    ['matmul', () => a23.matmul(zeros([2, 3])), [/^matmul:/, /2x3 and 2x3/, /\[2, 3\]/]],
    [
      'matmul (dtype)',
      () => a23.matmul(tensor(Int32Array.from([1, 2, 3]), { shape: [3, 1], dtype: 'int32' })),
      [/^matmul:/, /float32\[2, 3\]/, /int32\[3, 1\]/],
    ],
    ['reshape', () => a23.reshape([4, 2]), [/^reshape:/, /\[4, 2\]/, /\[2, 3\]/]],
    ['expand', () => a23.expand([3, 3]), [/^expand:/, /\[3, 3\]/, /\[2, 3\]/]],
    ['permute', () => a23.permute(0, 0), [/^permute:/, /\[2, 3\]/]],
    ['sum', () => a23.sum(2), [/^sum:/, /range/, /\[2, 3\]/]],
    ['mean (dtype)', () => i3.mean(), [/^mean\(\):/, /int32\[3\]/]],
    ['slice', () => a23.slice(2, 0, 1), [/^slice:/, /\[2, 3\]/]],
    ['pad', () => a23.pad([[1, 1]]), [/^pad:/, /\[2, 3\]/]],
    ['log_softmax', () => i3.logSoftmax(0), [/^log_softmax:/, /int32\[3\]/]],
    ['neg (bool)', () => a23.gt(0).neg(), [/^neg:/, /bool\[2, 3\]/]],
    ['sub (bool)', () => a23.gt(0).sub(a23.lt(0)), [/^sub:/, /\[2, 3\]/]],
    ['gather (dtype)', () => a23.gather(1, a23), [/^gather\(\):/, /float32\[2, 3\]/]],
    [
      'gather (shape)',
      () => a23.gather(1, tensor(Int32Array.from([0, 0, 0]), { shape: [3, 1], dtype: 'int32' })),
      [/^gather\(\):/, /\[3, 1\]/, /\[2, 3\]/],
    ],
    [
      'gather (bounds)',
      () => a23.gather(1, tensor(Int32Array.from([0, 3]), { shape: [2, 1], dtype: 'int32' })),
      [/^gather\(\):/, /index 3 is out of bounds/],
    ],
  ];
  for (const [name, fn, patterns] of cases) {
    it(name, () => {
      const err = caught(fn);
      for (const p of patterns) expect(err.message).toMatch(p);
      // the site is the line of this file inside the case's arrow function
      expect(here(err)).toBeDefined();
    });
  }

  it('points at the exact line of the call', () => {
    let at = 0;
    const err = caught(() => {
      at = line() + 1; // the call is on the next line
      a23.add(a4);
    });
    expect(Number(here(err))).toBe(at);
  });
});

describe('traced ops are checked too', () => {
  it('a Linear(10, 5) fed [1, 7] fails at trace time naming the layer, shapes and line', async () => {
    const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
    let at = 0;
    const err = await compile(
      (x: Tensor) => {
        at = line() + 1; // the call is on the next line
        return model.forward(x);
      },
      {
        inputs: [{ shape: [1, 7], dtype: 'float32' }],
      },
    ).then(
      () => null,
      (e) => e as KilnError,
    );
    expect(err).toBeInstanceOf(KilnError);
    expect(err!.message).toMatch(/Linear\(10, 5\)/);
    expect(err!.message).toMatch(/1x7 and 10x5/);
    expect(err!.message).toMatch(/\[1, 7\]/);
    expect(Number(here(err!))).toBe(at);
  });
  it('a broadcast error inside compile names the op and the shapes', async () => {
    const err = await compile((x: Tensor, y: Tensor) => x.add(y), {
      inputs: [
        { shape: [2, 3], dtype: 'float32' },
        { shape: [2], dtype: 'float32' },
      ],
    }).then(
      () => null,
      (e) => e as KilnError,
    );
    expect(err!.message).toMatch(/^add:.*\[2, 3\] and \[2\]/);
    expect(here(err!)).toBeDefined();
  });
});
