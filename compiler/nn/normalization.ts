// Normalisation layers with PyTorch's names, parameters and defaults (weight ones, bias zeros).
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import { groupNorm, layerNorm } from './functional/normalization.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

const filled = (shape: number[], value: number) =>
  new Parameter({ shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(value) });

/** PyTorch 1.13's nn.LayerNorm (F.layerNorm's formula); 1.13 has no `bias` option */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(normalizedShape: number[] | number, opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    checkOptions('LayerNorm', opts, ['eps', 'elementwiseAffine']);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new KilnError(`LayerNorm: normalized_shape must be non-negative integers, got [${this.normalizedShape}]`);
    }
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', filled(this.normalizedShape, 1)) : null;
    this.bias = affine ? this.registerParameter('bias', filled(this.normalizedShape, 0)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

/** PyTorch's nn.GroupNorm (F.groupNorm's formula) */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    checkOptions('GroupNorm', opts, ['eps', 'affine']);
    if (numChannels % numGroups !== 0) throw new KilnError('num_channels must be divisible by num_groups');
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', filled([numChannels], 1)) : null;
    this.bias = affine ? this.registerParameter('bias', filled([numChannels], 0)) : null;
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}
