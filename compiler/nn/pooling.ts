// Pooling layers with PyTorch 1.13's arguments and defaults (stride defaults to the kernel size);
// each forward is its functional form (functional/pooling.ts). Arguments are checked on the call,
// as PyTorch's are.
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  avgPool1d,
  avgPool2d,
  maxPool1d,
  maxPool2d,
  type AdaptiveSize,
  type AvgPoolOptions,
  type MaxPoolOptions,
} from './functional/pooling.js';
import { Module } from './module.js';

type Ints = number | number[];

/** PyTorch's nn.MaxPool1d(kernelSize, { stride, padding, dilation, ceilMode }) */
export class MaxPool1d extends Module {
  readonly opts: MaxPoolOptions;
  constructor(
    readonly kernelSize: Ints,
    opts: MaxPoolOptions = {},
  ) {
    super();
    checkOptions('MaxPool1d', opts, ['stride', 'padding', 'dilation', 'ceilMode']);
    this.opts = { ...opts };
  }
  forward(x: Tensor): Tensor {
    return maxPool1d(x, this.kernelSize, this.opts);
  }
}

/** PyTorch's nn.MaxPool2d(kernelSize, { stride, padding, dilation, ceilMode }) */
export class MaxPool2d extends Module {
  readonly opts: MaxPoolOptions;
  constructor(
    readonly kernelSize: Ints,
    opts: MaxPoolOptions = {},
  ) {
    super();
    checkOptions('MaxPool2d', opts, ['stride', 'padding', 'dilation', 'ceilMode']);
    this.opts = { ...opts };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.opts);
  }
}

/** PyTorch's nn.AvgPool1d(kernelSize, { stride, padding, ceilMode, countIncludePad }) */
export class AvgPool1d extends Module {
  readonly opts: Omit<AvgPoolOptions, 'divisorOverride'>;
  constructor(
    readonly kernelSize: Ints,
    opts: Omit<AvgPoolOptions, 'divisorOverride'> = {},
  ) {
    super();
    checkOptions('AvgPool1d', opts, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    this.opts = { ...opts };
  }
  forward(x: Tensor): Tensor {
    return avgPool1d(x, this.kernelSize, this.opts);
  }
}

/** PyTorch's nn.AvgPool2d(kernelSize, { stride, padding, ceilMode, countIncludePad, divisorOverride }) */
export class AvgPool2d extends Module {
  readonly opts: AvgPoolOptions;
  constructor(
    readonly kernelSize: Ints,
    opts: AvgPoolOptions = {},
  ) {
    super();
    checkOptions('AvgPool2d', opts, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
    this.opts = { ...opts };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
}

/** PyTorch's nn.AdaptiveAvgPool1d(outputSize) */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number | [number]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool1d(x, this.outputSize);
  }
}

/** PyTorch's nn.AdaptiveAvgPool2d(outputSize): an int or [h, w], null keeping that input size */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
