// Convolution and pooling layers and functions against PyTorch 1.13 (test/fixtures/layers/convpool.py) on every
// target: outputs and the gradients of inputs and parameters, each case with non-default options, and a small
// CNN (conv -> relu -> maxpool -> flatten -> linear).
import { nn } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'conv1d stride 2 dilation 2': { module: () => new nn.Conv1d(3, 4, 3, { stride: 2, dilation: 2, padding: 1 }) },
  'conv1d same even kernel groups': { module: () => new nn.Conv1d(4, 6, 4, { padding: 'same', groups: 2 }) },
  'f.conv1d unbatched same dilation 3': { fn: (x, w, b) => F.conv1d(x, w, b, { padding: 'same', dilation: 3 }) },
  'conv2d groups 2 padding [1, 2]': {
    module: () => new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], groups: 2 }),
  },
  'conv2d valid dilation no bias': {
    module: () => new nn.Conv2d(3, 5, 3, { padding: 'valid', dilation: 2, bias: false }),
  },
  'conv2d same even kernel': { module: () => new nn.Conv2d(2, 3, [4, 2], { padding: 'same', dilation: [1, 2] }) },
  'f.conv2d unbatched stride 2': { fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }) },
  'maxpool 3x3 stride 2 padding 1 ceil': {
    module: () => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
  },
  'maxpool dilation rect': {
    module: () => new nn.MaxPool2d([2, 3], { stride: [1, 2], dilation: [2, 1], padding: [1, 1] }),
  },
  'maxpool ties unbatched': { module: () => new nn.MaxPool2d(2, { stride: 1 }) },
  'f.max_pool1d ceil': { fn: (x) => F.maxPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true }) },
  'avgpool no pad count ceil': {
    module: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  'avgpool pad count ceil': { module: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }) },
  'avgpool divisor override': {
    module: () => new nn.AvgPool2d([2, 3], { stride: [2, 1], padding: 1, divisorOverride: 5 }),
  },
  'avgpool1d no pad count': { module: () => new nn.AvgPool1d(4, { stride: 3, padding: 2, countIncludePad: false }) },
  'f.avg_pool2d unbatched': { fn: (x) => F.avgPool2d(x, 2) },
  'adaptive 5x7 to [2, 3]': { module: () => new nn.AdaptiveAvgPool2d([2, 3]) },
  'adaptive 5x7 to [None, 3]': { module: () => new nn.AdaptiveAvgPool2d([null, 3]) },
  'adaptive 5x7 to 7x4 unbatched': { module: () => new nn.AdaptiveAvgPool2d([7, 4]) },
  'f.adaptive_avg_pool1d': { fn: (x) => F.adaptiveAvgPool1d(x, 4) },
  cnn: {
    module: () =>
      new nn.Sequential(
        new nn.Conv2d(1, 4, 3, { padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(4 * 4 * 4, 3),
      ),
  },
};

describeLayerGoldens('convolution and pooling on %s', 'convpool', SPECS);
