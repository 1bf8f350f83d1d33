// The tensor ops of issue #11 (cat, stack, split, chunk, var/std, maskedFill, tril/triu) against
// PyTorch 1.13's values and gradients (test/fixtures/layers/tensorops.py) on every target, and
// their argument errors in PyTorch's words.
import { describe, expect, it } from 'vitest';
import { cat, stack, zeros, type Tensor } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const fn = (f: (...xs: Tensor[]) => Tensor | Tensor[]): LayerCaseSpec => ({ fn: f });
const SPECS: Record<string, LayerCaseSpec> = {
  'cat dim 1': fn((x, y, z) => cat([x, y, z], 1)),
  'cat dim -1': fn((x, y) => cat([x, y], -1)),
  'stack dim 1': fn((x, y, z) => stack([x, y, z], 1)),
  'stack dim -1': fn((x, y) => stack([x, y], -1)),
  'split int dim 1': fn((x) => x.split(2, 1)),
  'split sizes dim -1': fn((x) => x.split([1, 3, 0, 2], -1)),
  'chunk 4 of 6': fn((x) => x.chunk(4, 1)),
  'chunk 3 of 7': fn((x) => x.chunk(3)),
  'var all': fn((x) => x.var()),
  'var dim 1 keepdim': fn((x) => x.var(1, { keepdim: true })),
  'var dims correction 0': fn((x) => x.var([0, 2], { correction: 0 })),
  'var unbiased false': fn((x) => x.var(-1, { unbiased: false })),
  'var correction 2': fn((x) => x.var(2, { correction: 2, keepdim: true })),
  'std dim 0': fn((x) => x.std(0)),
  'std unbiased false keepdim': fn((x) => x.std(1, { unbiased: false, keepdim: true })),
  'std all correction 0': fn((x) => x.std(undefined, { correction: 0 })),
  'masked fill': fn((x, m) => x.maskedFill(m, -2.5)),
  'masked fill broadcast': fn((x, m) => x.maskedFill(m, 1)),
  tril: fn((x) => x.tril()),
  'tril diagonal -1': fn((x) => x.tril(-1)),
  'triu diagonal 2': fn((x) => x.triu(2)),
  triu: fn((x) => x.triu()),
  'triu 2d': fn((x) => x.triu()),
  'tril 2d diagonal 1': fn((x) => x.tril(1)),
  'max dim 1 keepdim': fn((x) => {
    const { values, indices } = x.max(1, true);
    return [values, indices];
  }),
  'min dim -1': fn((x) => {
    const { values, indices } = x.min(-1);
    return [values, indices];
  }),
  'max all': fn((x) => x.max()),
  'argmin dim 0 keepdim': fn((x) => x.argmin(0, true)),
  'argmin all': fn((x) => x.argmin()),
  'argmax all keepdim': fn((x) => x.argmax(undefined, true)),
};

describeLayerGoldens('tensor ops on %s', 'tensorops', SPECS);

describe('tensor op argument errors (PyTorch 1.13 wording)', () => {
  it.each<[string, () => unknown, string]>([
    [
      'cat sizes',
      () => cat([zeros([2, 3, 1]), zeros([2, 4, 1])], 2),
      'Sizes of tensors must match except in dimension 2. ' +
        'Expected size 3 but got size 4 for tensor number 1 in the list.',
    ],
    [
      'cat dim 1 sizes',
      () => cat([zeros([3, 2]), zeros([4, 2])], 1),
      'Sizes of tensors must match except in dimension 1. ' +
        'Expected size 3 but got size 4 for tensor number 1 in the list.',
    ],
    ['cat empty', () => cat([]), 'torch.cat(): expected a non-empty list of Tensors'],
    ['cat ranks', () => cat([zeros([2, 3]), zeros([2])]), 'Tensors must have same number of dimensions: got 2 and 1'],
    [
      'stack sizes',
      () => stack([zeros([2, 3]), zeros([2, 4])]),
      'stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1',
    ],
    [
      'split 0',
      () => zeros([2]).split(0),
      'split_size can only be 0 if dimension size is 0, but got dimension size of 2',
    ],
    [
      'split sizes sum',
      () => zeros([5]).split([2, 2]),
      "split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at dimension 0), " +
        'but got split_sizes=[2, 2]',
    ],
    ['chunk 0', () => zeros([5]).chunk(0), 'chunk expects `chunks` to be greater than 0, got: 0'],
    ['var option', () => zeros([5]).var(0, { keepDims: true } as never), 'keepdim'],
    ['tril 1-d', () => zeros([5]).tril(), 'tril: input tensor must have at least 2 dimensions'],
    [
      'maskedFill float mask',
      () => zeros([2]).maskedFill(zeros([2]), 1),
      'masked_fill_ only supports boolean masks, but got mask with dtype float32',
    ],
  ])('%s', (_, f, message) => {
    expect(f).toThrow(message);
  });

  it('split and chunk give PyTorch part sizes; an empty dim still gives `chunks` parts', () => {
    expect(
      zeros([7, 2])
        .chunk(3)
        .map((t) => t.shape[0]),
    ).toEqual([3, 3, 1]);
    expect(
      zeros([6])
        .chunk(4)
        .map((t) => t.shape[0]),
    ).toEqual([2, 2, 2]);
    expect(
      zeros([0])
        .chunk(3)
        .map((t) => t.shape[0]),
    ).toEqual([0, 0, 0]);
    expect(
      zeros([0])
        .split(0)
        .map((t) => t.shape[0]),
    ).toEqual([0]);
    expect(
      zeros([5])
        .split(2)
        .map((t) => t.shape[0]),
    ).toEqual([2, 2, 1]);
  });
});
