// Activation and reshaping layers with PyTorch's names, defaults and formulas: each forward is the
// formula of PyTorch 1.13's CPU kernel (within float32 rounding), and where PyTorch's backward is a
// formula of its own (not the derivative of the composite, which can reach 0 * inf = NaN in a
// branch `where` discards), the layer declares that formula with withVjp.
import { KilnError, fmtShape } from '../errors.js';
import { checkOptions } from '../options.js';
import { normDim, withVjp, type Tensor } from '../tensor.js';
import { Module } from './module.js';
import { inferSize } from '../view-args.js';

const asFloat = (x: Tensor) => (x.dtype === 'float32' ? x : x.float());

/** PyTorch's Identity: returns its input; constructor arguments are accepted and ignored, as PyTorch's are */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** x > 0 ? x : x * negativeSlope (the derivative of the where is PyTorch's leaky_relu_backward) */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(opts: { negativeSlope?: number } = {}) {
    super();
    checkOptions('LeakyReLU', opts, ['negativeSlope']);
    this.negativeSlope = opts?.negativeSlope ?? 0.01;
  }
  forward(input: Tensor): Tensor {
    const x = asFloat(input);
    return x.where(x.gt(0), x.mul(this.negativeSlope));
  }
}

/** x <= 0 ? alpha (exp(x) - 1) : x, with PyTorch's elu_backward g alpha exp(x) below 0 */
export class ELU extends Module {
  readonly alpha: number;
  constructor(opts: { alpha?: number } = {}) {
    super();
    checkOptions('ELU', opts, ['alpha']);
    this.alpha = opts?.alpha ?? 1;
  }
  forward(input: Tensor): Tensor {
    const x = asFloat(input),
      alpha = this.alpha;
    const negative = x.le(0);
    const out = x.exp().sub(1).mul(alpha).where(negative, x);
    const xd = x.detach();
    return withVjp(out, [x], (g) => [g.mul(xd.exp().mul(alpha)).where(negative, g)]);
  }
}

/** x sigmoid(x), with PyTorch's silu_backward g s (1 + x (1 - s)) */
export class SiLU extends Module {
  forward(input: Tensor): Tensor {
    const x = asFloat(input);
    const out = x.mul(x.sigmoid());
    const xd = x.detach();
    return withVjp(out, [x], (g) => {
      const s = xd.sigmoid();
      return [g.mul(s).mul(xd.mul(s.neg().add(1)).add(1))];
    });
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** 2/(2k+1) for k = 7..0: log1p(e) = 2 atanh(s) = sum 2 s^(2k+1)/(2k+1), s = e/(e + 2) */
const ATANH_SERIES = Array.from({ length: 8 }, (_, k) => 2 / (15 - 2 * k));

/**
 * log1p(e) for e >= 0, accurate where log(1 + e) is not (1 + e rounds e away below float32's
 * epsilon). Below e = 1 the atanh series in s <= 1/3 (8 terms: within float32 rounding) has no
 * cancellation for a compiler to reassociate (WGSL's may fold Goldberg's (1 + e) - 1 into e); from
 * e = 1 on, log(1 + e) alone is accurate.
 */
function log1pNonNegative(e: Tensor): Tensor {
  const s = e.div(e.add(2)),
    z = s.mul(s);
  const series = ATANH_SERIES.slice(2).reduce(
    (acc, c) => acc.mul(z).add(c),
    z.mul(ATANH_SERIES[0]).add(ATANH_SERIES[1]),
  );
  return series.mul(s).where(e.lt(1), e.add(1).log());
}

/**
 * PyTorch's Softplus: x beta > threshold ? x : log1p(exp(x beta)) / beta, with its softplus_backward
 * (z = exp(x beta): g z / (z + 1), g above the threshold)
 */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(opts: { beta?: number; threshold?: number } = {}) {
    super();
    checkOptions('Softplus', opts, ['beta', 'threshold']);
    this.beta = opts?.beta ?? 1;
    this.threshold = opts?.threshold ?? 20;
  }
  forward(input: Tensor): Tensor {
    const x = asFloat(input),
      beta = this.beta;
    const linear = x.mul(beta).gt(this.threshold);
    const out = x.where(linear, log1pNonNegative(x.mul(beta).exp()).div(beta));
    const xd = x.detach();
    return withVjp(out, [x], (g) => {
      const z = xd.mul(beta).exp();
      return [g.where(linear, g.mul(z).div(z.add(1)))];
    });
  }
}

/** PyTorch's implicit softmax dim (dim=None, deprecated there): 0 for a 0-, 1- or 3-d input, else 1 */
const implicitSoftmaxDim = (ndim: number) => (ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1);

export class Softmax extends Module {
  readonly dim: number | null;
  constructor(opts: { dim?: number | null } = {}) {
    super();
    checkOptions('Softmax', opts, ['dim']);
    this.dim = opts?.dim ?? null;
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim ?? implicitSoftmaxDim(x.ndim));
  }
}

export class LogSoftmax extends Module {
  readonly dim: number | null;
  constructor(opts: { dim?: number | null } = {}) {
    super();
    checkOptions('LogSoftmax', opts, ['dim']);
    this.dim = opts?.dim ?? null;
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim ?? implicitSoftmaxDim(x.ndim));
  }
}

/** PyTorch's Flatten: dims startDim..endDim (defaults 1 and -1: all but the batch dim) into one */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(opts: { startDim?: number; endDim?: number } = {}) {
    super();
    checkOptions('Flatten', opts, ['startDim', 'endDim']);
    this.startDim = opts?.startDim ?? 1;
    this.endDim = opts?.endDim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** PyTorch's Unflatten: dim `dim` into `unflattenedSize` (one entry may be -1, inferred) */
export class Unflatten extends Module {
  readonly unflattenedSize: readonly number[];
  constructor(
    readonly dim: number,
    unflattenedSize: readonly number[],
  ) {
    super();
    if (!Array.isArray(unflattenedSize)) {
      throw new KilnError(`unflattened_size must be a tuple of ints, but found type ${typeof unflattenedSize}`);
    }
    unflattenedSize.forEach((s, i) => {
      if (!Number.isInteger(s)) {
        throw new KilnError(
          `unflattened_size must be tuple of ints, but found element of type ${typeof s} at pos ${i}`,
        );
      }
    });
    this.unflattenedSize = [...unflattenedSize];
  }
  forward(x: Tensor): Tensor {
    const d = normDim('unflatten', this.dim, x.ndim, x.shape),
      size = x.shape[d];
    const sizes = this.unflattenedSize;
    if (sizes.filter((s) => s === -1).length > 1) throw new KilnError('unflatten: only one dimension can be inferred');
    const inferred = inferSize(sizes, size);
    if (!inferred) {
      throw new KilnError(
        `unflatten: Provided sizes ${fmtShape(sizes)} don't multiply up to the size of dim ${d} ` +
          `(${size}) in the input tensor`,
      );
    }
    return x.reshape([...x.shape.slice(0, d), ...inferred, ...x.shape.slice(d + 1)]);
  }
}
