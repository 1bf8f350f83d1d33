// F.scaledDotProductAttention against PyTorch 2's semantics written in PyTorch 1.13 ops
// (test/fixtures/layers/attention.py): bool and float masks and the causal mask, on every target.
import { describe, expect, it } from 'vitest';
import { KilnError, nn, zeros } from 'kiln';
import { loadLayerGoldens, runLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'sdpa plain': { fn: (q, k, v) => F.scaledDotProductAttention(q, k, v) },
  'sdpa bool mask': { fn: (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m.ne(0) }) },
  'sdpa float mask': { fn: (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m }) },
  'sdpa causal': { fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }) },
};

describe.each(['reference', 'native', 'webgpu'])('attention on %s', (target) => {
  it('matches PyTorch', async () => {
    const cases = loadLayerGoldens('attention');
    const { failures } = await runLayerGoldens(cases, SPECS, target, target === 'webgpu' ? 1e-4 : 1e-5);
    expect(Object.fromEntries(failures)).toEqual(Object.fromEntries(cases.map((c) => [c.name, []])));
  });
});

describe('scaledDotProductAttention errors', () => {
  it('rejects a mask together with isCausal, and mismatched widths', () => {
    const q = zeros([2, 4]);
    expect(() => F.scaledDotProductAttention(q, q, q, { isCausal: true, attnMask: zeros([2, 2]) })).toThrow(KilnError);
    expect(() => F.scaledDotProductAttention(q, zeros([2, 3]), q)).toThrow(/expected query/);
  });
});
