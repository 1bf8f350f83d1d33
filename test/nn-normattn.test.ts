// Norms and dropout against PyTorch 1.13 (test/fixtures/layers/normattn.py) on every target, and
// LayerNorm's errors.
import { describe, expect, it } from 'vitest';
import { KilnError, nn, zeros } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'layernorm 2d shape eps': { module: () => new nn.LayerNorm([3, 4], { eps: 1e-3 }) },
  'layernorm no affine': { module: () => new nn.LayerNorm(5, { elementwiseAffine: false }) },
  'groupnorm eps': { module: () => new nn.GroupNorm(2, 6, { eps: 1e-3 }) },
  'groupnorm no affine': { module: () => new nn.GroupNorm(3, 3, { affine: false }) },
  'f.layer_norm weight bias': { fn: (x, w, b) => F.layerNorm(x, [6], { weight: w, bias: b, eps: 1e-2 }) },
};

describeLayerGoldens('norms on %s', 'normattn', SPECS);

describe('GroupNorm errors', () => {
  it("uses PyTorch's divisibility message", () => {
    expect(() => new nn.GroupNorm(4, 6)).toThrow('num_channels must be divisible by num_groups');
  });
});

describe('LayerNorm errors', () => {
  it("uses PyTorch's shape mismatch message", () => {
    const ln = new nn.LayerNorm(4);
    expect(() => ln.forward(zeros([2, 3]))).toThrow(KilnError);
    expect(() => ln.forward(zeros([2, 3]))).toThrow(
      'Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]',
    );
  });
  it('has PyTorch parameter names and rejects unknown options', () => {
    expect(Object.keys(new nn.LayerNorm([2, 3]).stateDict())).toEqual(['weight', 'bias']);
    expect(Object.keys(new nn.LayerNorm(3, { elementwiseAffine: false }).stateDict())).toEqual([]);
    expect(() => new nn.LayerNorm(3, { bias: false } as never)).toThrow(/Unknown option 'bias'/);
  });
});
