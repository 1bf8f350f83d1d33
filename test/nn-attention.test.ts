// F.scaledDotProductAttention against PyTorch 2's semantics written in PyTorch 1.13 ops
// (test/fixtures/layers/attention.py): bool and float masks and the causal mask, on every target.
import { describe, expect, it } from 'vitest';
import { KilnError, nn, zeros, type Tensor } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
// the runner types modules as nn.Module and outputs as Tensor[] (weights are never null here)
const mha = (m: nn.Module) => m as unknown as nn.MultiheadAttention;
const mhaModule = (m: nn.MultiheadAttention) => m as unknown as nn.Module;
const both = ([out, w]: [Tensor, Tensor | null]) => [out, w!];
const SPECS: Record<string, LayerCaseSpec> = {
  'sdpa plain': { fn: (q, k, v) => F.scaledDotProductAttention(q, k, v) },
  'sdpa bool mask': { fn: (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m.ne(0) }) },
  'sdpa float mask': { fn: (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m }) },
  'mha self': {
    module: () => mhaModule(new nn.MultiheadAttention(8, 2)),
    call: (m, x) => both(mha(m).forward(x, x, x)),
  },
  'mha batch first masks': {
    module: () => mhaModule(new nn.MultiheadAttention(8, 2, { batchFirst: true, dropout: 0.3 }).eval()),
    call: (m, q, kv, mask, pad) => both(mha(m).forward(q, kv, kv, { attnMask: mask.ne(0), keyPaddingMask: pad.ne(0) })),
  },
  'mha float mask per head weights no bias': {
    module: () => mhaModule(new nn.MultiheadAttention(8, 2, { bias: false })),
    call: (m, x, fm) => both(mha(m).forward(x, x, x, { attnMask: fm, averageAttnWeights: false })),
  },
  'sdpa causal': { fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }) },
};

describeLayerGoldens('attention on %s', 'attention', SPECS);

describe('MultiheadAttention parameters', () => {
  it("has PyTorch's state dict keys and zero biases", () => {
    const m = new nn.MultiheadAttention(8, 2);
    expect(Object.keys(m.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(Array.from(m.stateDict()['out_proj.bias'].data).every((v) => v === 0)).toBe(true);
    expect(Object.keys(new nn.MultiheadAttention(8, 2, { bias: false }).stateDict())).toEqual([
      'in_proj_weight',
      'out_proj.weight',
    ]);
  });
});

describe('scaledDotProductAttention errors', () => {
  it('rejects a mask together with isCausal, and mismatched widths', () => {
    const q = zeros([2, 4]);
    expect(() => F.scaledDotProductAttention(q, q, q, { isCausal: true, attnMask: zeros([2, 2]) })).toThrow(KilnError);
    expect(() => F.scaledDotProductAttention(q, zeros([2, 3]), q)).toThrow(/expected query/);
  });
});
