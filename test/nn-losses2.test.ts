// PyTorch 1.13's L1Loss, SmoothL1Loss and HuberLoss (layers and F forms) on every target: every
// reduction, non-default beta / delta, and differences on the branch boundaries (d = 0, |d| = beta).
import { describe, expect, it } from 'vitest';
import { nn } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'F huber default': { fn: (x, y) => F.huberLoss(x, y) },
  'F l1 sum': { fn: (x, y) => F.l1Loss(x, y, { reduction: 'sum' }) },
};
for (const reduction of ['mean', 'sum', 'none'] as const) {
  SPECS[`l1 ${reduction}`] = { module: () => new nn.L1Loss({ reduction }) };
  SPECS[`smooth l1 beta 0.5 ${reduction}`] = { module: () => new nn.SmoothL1Loss({ reduction, beta: 0.5 }) };
  SPECS[`huber delta 0.5 ${reduction}`] = { module: () => new nn.HuberLoss({ reduction, delta: 0.5 }) };
}

describeLayerGoldens('elementwise losses on %s', 'losses2', SPECS);

describe('elementwise loss errors', () => {
  it("use PyTorch's wording", () => {
    expect(() => new nn.L1Loss({ reduction: 'avg' as never })).toThrow('avg is not a valid value for reduction');
    const x = new nn.Parameter({ shape: [2], data: [1, 2] });
    expect(() => F.smoothL1Loss(x, x, { beta: -1 })).toThrow('does not support negative values for beta');
    expect(() => F.huberLoss(x, x, { delta: 0 })).toThrow('does not support non-positive values for delta');
  });
});
