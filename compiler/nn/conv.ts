// nn.Conv1d / nn.Conv2d with PyTorch 1.13's arguments, parameter names and shapes (weight
// [out, in / groups, ...kernel], bias [out]) and default init, drawn from kiln's PyTorch-compatible
// generator in PyTorch's order (weight, then bias), so `manualSeed(s); new nn.Conv2d(...)` is torch's.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { uniform } from '../random.js';
import type { Tensor } from '../tensor.js';
import { conv1d, conv2d, convPadding, type ConvPadding } from './functional/conv.js';
import { perDim } from './functional/windows.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface ConvModuleOptions {
  stride?: number | number[];
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

const PADDING_MODES = ['zeros', 'reflect', 'replicate', 'circular'];

/** PyTorch's kaiming_uniform_(a=sqrt(5)) bound, computed in doubles as PyTorch's Python does */
function kaimingUniformBound(fanIn: number): number {
  const a = Math.sqrt(5);
  const gain = Math.sqrt(2.0 / (1 + a ** 2));
  return Math.sqrt(3.0) * (gain / Math.sqrt(fanIn));
}

abstract class ConvNd extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'valid' | 'same';
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: string;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly layer: string,
    nd: number,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | number[],
    opts: ConvModuleOptions,
  ) {
    super();
    checkOptions(layer, opts, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    const groups = opts.groups ?? 1;
    // PyTorch's _ConvNd checks, in its order
    if (!Number.isInteger(groups) || groups <= 0) throw new KilnError('groups must be a positive integer');
    if (inChannels % groups !== 0) throw new KilnError('in_channels must be divisible by groups');
    if (outChannels % groups !== 0) throw new KilnError('out_channels must be divisible by groups');
    const kernel = perDim(layer, 'kernel_size', kernelSize, nd),
      stride = perDim(layer, 'stride', opts.stride ?? 1, nd),
      dilation = perDim(layer, 'dilation', opts.dilation ?? 1, nd);
    const padding = opts.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'valid' && padding !== 'same') {
        throw new KilnError(`Invalid padding string '${String(padding)}', should be one of {'valid', 'same'}`);
      }
      if (padding === 'same' && stride.some((s) => s !== 1)) {
        throw new KilnError("padding='same' is not supported for strided convolutions");
      }
    } else convPadding(layer, padding, kernel, stride, dilation);
    const mode = opts.paddingMode ?? 'zeros';
    if (!PADDING_MODES.includes(mode)) {
      throw new KilnError(
        `padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='${mode}'`,
      );
    }
    if (mode !== 'zeros') throw new KilnError(`${layer}: paddingMode '${mode}' is not supported yet (only 'zeros')`);
    this.kernelSize = kernel;
    this.stride = stride;
    this.dilation = dilation;
    this.padding = typeof padding === 'string' ? padding : perDim(layer, 'padding', padding, nd);
    this.groups = groups;
    this.paddingMode = mode;
    // reset_parameters(): kaiming_uniform_(weight, a=sqrt(5)), then bias ~ U(±1/sqrt(fan_in)); the bounds
    // are rounded to float32 as uniform_ takes them (random.ts draws as PyTorch's CPU uniform_ does)
    const fanIn = (inChannels / groups) * kernel.reduce((a, b) => a * b, 1);
    const shape = [outChannels, inChannels / groups, ...kernel];
    const wb = Math.fround(fanIn > 0 ? kaimingUniformBound(fanIn) : 0);
    const count = shape.reduce((a, b) => a * b, 1);
    this.weight = this.registerParameter('weight', new Parameter({ shape, data: uniform(count, -wb, wb) }));
    const bb = Math.fround(fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
    this.bias = this.registerParameter(
      'bias',
      (opts.bias ?? true) ? new Parameter({ shape: [outChannels], data: uniform(outChannels, -bb, bb) }) : null,
    );
  }

  /** PyTorch's repr, which names the layer in its errors */
  override toString(): string {
    const t = (v: number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;
    const extra = [`kernel_size=${t(this.kernelSize)}`];
    if (this.stride.some((s) => s !== 1)) extra.push(`stride=${t(this.stride)}`);
    if (typeof this.padding === 'string') extra.push(`padding=${this.padding}`);
    else if (this.padding.some((p) => p !== 0)) extra.push(`padding=${t(this.padding)}`);
    if (this.dilation.some((d) => d !== 1)) extra.push(`dilation=${t(this.dilation)}`);
    if (this.groups !== 1) extra.push(`groups=${this.groups}`);
    if (!this.bias) extra.push('bias=False');
    return `${this.layer}(${this.inChannels}, ${this.outChannels}, ${extra.join(', ')})`;
  }

  protected abstract conv(x: Tensor, w: Tensor, b: Tensor | null, opts: object): Tensor;

  forward(x: Tensor): Tensor {
    const opts = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    try {
      return this.conv(x, this.weight, this.bias, opts);
    } catch (e) {
      if (!(e instanceof KilnError)) throw e;
      // the layer's name first, as Linear's errors have it; the site stays the user's call
      throw new KilnError(`${this.toString()}: ${e.message.split('\n')[0]}`, e.site);
    }
  }
}

/** PyTorch's nn.Conv1d: input [N, C, L] or [C, L] */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvModuleOptions = {}) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, opts);
  }
  protected conv(x: Tensor, w: Tensor, b: Tensor | null, opts: object): Tensor {
    return conv1d(x, w, b, opts);
  }
}

/** PyTorch's nn.Conv2d: input [N, C, H, W] or [C, H, W] */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: ConvModuleOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, opts);
  }
  protected conv(x: Tensor, w: Tensor, b: Tensor | null, opts: object): Tensor {
    return conv2d(x, w, b, opts);
  }
}
