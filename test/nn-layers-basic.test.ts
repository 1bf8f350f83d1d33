// The layer-golden runner (test/helpers/layer-golden.ts) on the layers kiln had first: PyTorch
// 1.13's forward values and gradients of Linear, GELU and Sequential on every target.
import { describe, expect, it } from 'vitest';
import { nn } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  linear: { module: () => new nn.Linear(5, 4) },
  'linear no bias': { module: () => new nn.Linear(5, 2, { bias: false }) },
  'sequential gelu tanh': {
    module: () => new nn.Sequential(new nn.Linear(5, 6), new nn.GELU({ approximate: 'tanh' }), new nn.Linear(6, 3)),
  },
  gelu: { fn: (x) => F.gelu(x) },
};

describeLayerGoldens('basic layers on %s', 'basic', SPECS);
