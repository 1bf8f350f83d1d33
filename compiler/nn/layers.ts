// Layers with PyTorch's names and default initialisation.
import { KilnError, fmtShape } from '../errors.js';
import { uniform } from '../random.js';
import { withVjp, type Tensor } from '../tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { checkOptions } from '../options.js';

export class Linear extends Module {
  /** assignable, as in PyTorch: `head.weight = embedding.weight` ties the two (registered once, both keys) */
  weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } | boolean = {},
  ) {
    super();
    if (typeof opts !== 'boolean') checkOptions('Linear', opts, ['bias']);
    const withBias = typeof opts === 'boolean' ? opts : (opts?.bias ?? true);
    // PyTorch: kaiming_uniform_(a=sqrt(5)) gives U(±1/sqrt(fan_in)) for the weight, and the bias too
    // (bounds rounded to float32 first, as PyTorch passes them to uniform_: then the draws are bitwise PyTorch's)
    const bound = Math.fround(inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0);
    this.weight = this.registerParameter(
      'weight',
      new Parameter({ shape: [outFeatures, inFeatures], data: uniform(outFeatures * inFeatures, -bound, bound) }),
    );
    // PyTorch's register_parameter('bias', None) without one
    this.bias = this.registerParameter(
      'bias',
      withBias ? new Parameter({ shape: [outFeatures], data: uniform(outFeatures, -bound, bound) }) : null,
    );
  }

  forward(x: Tensor): Tensor {
    const last = x.shape[x.ndim - 1];
    if (x.ndim === 0 || last !== this.inFeatures) {
      throw new KilnError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): mat1 and mat2 shapes cannot be multiplied ` +
          `(${x.ndim ? x.numel() / last : 1}x${x.ndim ? last : 0} and ${this.inFeatures}x${this.outFeatures}); ` +
          `input shape ${fmtShape(x.shape)}`,
      );
    }
    const y = x.matmul(this.weight.t());
    return this.bias ? y.add(this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

const SQRT1_2 = Math.SQRT1_2,
  GELU_PDF = (2 / Math.sqrt(Math.PI)) * Math.SQRT1_2 * 0.5;
const TANH_BETA = Math.SQRT2 * (2 / Math.sqrt(Math.PI)) * 0.5,
  TANH_KAPPA = 0.044715;

/**
 * PyTorch's GELU: x * Φ(x). approximate 'none' (the default) is x/2 (1 + erf(x/√2)) with PyTorch's
 * backward g (Φ(x) + x φ(x)); 'tanh' is x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))), with PyTorch's
 * backward of that form (each as PyTorch 1.13's CPU kernels compute it).
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    checkOptions('GELU', opts, ['approximate']);
    const approximate = opts.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new KilnError(`GELU: approximate argument must be either none or tanh, got ${String(approximate)}`);
    }
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** PyTorch's F.gelu (see GELU) */
export function gelu(input: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const x = input.dtype === 'float32' ? input : input.float();
  const xd = x.detach();
  if (opts.approximate === 'tanh') {
    const tanhInner = (t: Tensor) => t.mul(t).mul(t).mul(TANH_KAPPA).add(t).mul(TANH_BETA).tanh();
    return withVjp(x.mul(0.5).mul(tanhInner(x).add(1)), [x], (g) => {
      const th = tanhInner(xd),
        left = xd.mul(0.5);
      const innerDerivative = xd
        .mul(xd)
        .mul(3 * TANH_KAPPA)
        .add(1)
        .mul(TANH_BETA);
      const right = left.mul(th.mul(th).neg().add(1)).mul(innerDerivative);
      return [g.mul(th.add(1).mul(0.5).add(right))];
    });
  }
  // x * 0.5 * (1 + erf(x * M_SQRT1_2))
  const out = x.mul(0.5).mul(x.mul(SQRT1_2).erf().add(1));
  return withVjp(out, [x], (g) => {
    const cdf = xd.mul(SQRT1_2).erf().add(1).mul(0.5);
    const pdf = xd.mul(-0.5).mul(xd).exp().mul(GELU_PDF);
    return [g.mul(cdf.add(xd.mul(pdf)))];
  });
}
