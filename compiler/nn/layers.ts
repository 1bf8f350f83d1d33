// Layers with PyTorch's names and default initialisation.
import { KilnError, fmtShape } from '../errors.js';
import { uniform } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { checkOptions } from '../options.js';

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } | boolean = {}) {
    super();
    if (typeof opts !== 'boolean') checkOptions('Linear', opts, ['bias']);
    const withBias = typeof opts === 'boolean' ? opts : opts?.bias ?? true;
    // PyTorch: kaiming_uniform_(a=sqrt(5)) gives U(±1/sqrt(fan_in)) for the weight, and the bias too
    // (bounds rounded to float32 first, as PyTorch passes them to uniform_: then the draws are bitwise PyTorch's)
    const bound = Math.fround(inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0);
    this.weight = this.registerParameter(
      'weight',
      new Parameter({ shape: [outFeatures, inFeatures], data: uniform(outFeatures * inFeatures, -bound, bound) }),
    );
    this.bias = withBias ? this.registerParameter(
      'bias',
      new Parameter({ shape: [outFeatures], data: uniform(outFeatures, -bound, bound) }),
    ) : null;
  }

  forward(x: Tensor): Tensor {
    const last = x.shape[x.ndim - 1];
    if (x.ndim === 0 || last !== this.inFeatures) {
      throw new KilnError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): mat1 and mat2 shapes cannot be multiplied `
        + `(${x.ndim ? x.numel() / last : 1}x${x.ndim ? last : 0} and ${this.inFeatures}x${this.outFeatures}); `
        + `input shape ${fmtShape(x.shape)}`,
      );
    }
    const y = x.matmul(this.weight.t());
    return this.bias ? y.add(this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this._children.values()) y = m.forward(y);
    return y;
  }
  get length(): number { return this._children.size; }
  at(i: number): Module {
    const m = this._children.get(String(i < 0 ? i + this.length : i));
    if (!m) throw new KilnError(`index ${i} is out of range`);
    return m;
  }
}
