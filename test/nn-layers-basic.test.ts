// The layer-golden runner (test/helpers/layer-golden.ts) on the layers kiln had first: PyTorch
// 1.13's forward values and gradients of Linear, GELU and Sequential on every target.
import { describe, expect, it } from 'vitest';
import { nn } from 'kiln';
import { loadLayerGoldens, runLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  linear: { module: () => new nn.Linear(5, 4) },
  'linear no bias': { module: () => new nn.Linear(5, 2, { bias: false }) },
  'sequential gelu tanh': {
    module: () => new nn.Sequential(new nn.Linear(5, 6), new nn.GELU({ approximate: 'tanh' }), new nn.Linear(6, 3)),
  },
  gelu: { fn: (x) => F.gelu(x) },
};

describe.each(['reference', 'native', 'webgpu'])('basic layers on %s', (target) => {
  it('match PyTorch', async () => {
    const cases = loadLayerGoldens('basic');
    const { failures } = await runLayerGoldens(cases, SPECS, target, target === 'webgpu' ? 1e-4 : 1e-5);
    expect(Object.fromEntries(failures)).toEqual(Object.fromEntries(cases.map((c) => [c.name, []])));
  });
});
