// Tensor's spread statistics (PyTorch's var and std) as composites of the reductions: mean, the
// squared deviations, their sum over N - correction. Autodiff of that composite is PyTorch's
// var_backward, 2 (x - mean) g / (N - correction), up to the deviations' rounding-level sum.
// A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { normDim } from './tensor-shape.js';

export interface VarOptions {
  /** N - correction divides the squared deviations (PyTorch 1.13's default 1, Bessel's) */
  correction?: number;
  /** PyTorch's older form: true = correction 1, false = correction 0 */
  unbiased?: boolean;
  keepdim?: boolean;
}

function varImpl(name: string, x: Tensor, dim: number | number[] | boolean | undefined, opts: VarOptions): Tensor {
  checkOptions(name, opts, ['correction', 'unbiased', 'keepdim']);
  if (x.dtype !== 'float32') {
    throw new KilnError(`${name}(): input dtype should be either floating point or complex dtypes. Got ${x.dtype}`);
  }
  // torch.var(x, unbiased) takes the boolean in the dim position
  const unbiased = typeof dim === 'boolean' ? dim : opts.unbiased;
  const dims = typeof dim === 'boolean' ? undefined : dim;
  if (unbiased !== undefined && opts.correction !== undefined) {
    throw new KilnError(`${name}: Cannot pass both correction and unbiased arguments`);
  }
  const correction = opts.correction ?? (unbiased === false ? 0 : 1);
  const axes =
    dims === undefined || (Array.isArray(dims) && !dims.length)
      ? x.shape.map((_, i) => i)
      : (Array.isArray(dims) ? dims : [dims]).map((d) => normDim(name, d, x.ndim, x.shape));
  const n = x.ndim === 0 ? 1 : axes.reduce((a, d) => a * x.shape[d], 1);
  const dev = x.sub(x.mean(axes, true));
  // N <= correction divides by 0 (inf or nan), as PyTorch does after its warning
  return dev
    .mul(dev)
    .sum(axes, opts.keepdim ?? false)
    .div(Math.max(0, n - correction));
}

const stats = {
  /** PyTorch's `var(dim, *, correction=1, keepdim=False)`; `var(unbiased)` as 1.13 still takes */
  var(this: Tensor, dim?: number | number[] | boolean, opts: VarOptions = {}): Tensor {
    return varImpl('var', this, dim, opts);
  },
  /** PyTorch's `std`: the square root of `var` with the same arguments */
  std(this: Tensor, dim?: number | number[] | boolean, opts: VarOptions = {}): Tensor {
    return varImpl('std', this, dim, opts).sqrt();
  },
};

type Stats = typeof stats;
declare module './tensor-class.js' {
  interface Tensor extends Stats {}
}
addMethods(stats);
