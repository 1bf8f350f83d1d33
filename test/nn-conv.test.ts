// F.conv2d (pad + strided-slice views feeding matmuls) against PyTorch 1.13: outputs and the gradients of
// input, weight and bias, with stride, padding, dilation, groups and no bias, on every target.
import { describe, expect, it } from 'vitest';
import { nn } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  conv2d: { fn: (x, w, b) => F.conv2d(x, w, b) },
  'conv2d stride pad dilation': {
    fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: [1, 2], dilation: [2, 1] }),
  },
  'conv2d groups no bias': { fn: (x, w) => F.conv2d(x, w, null, { padding: 1, groups: 2 }) },
};

describeLayerGoldens('F.conv2d on %s', 'conv', SPECS);
