// Elementwise ops with a backward of their own, as PyTorch defines them.
// tanh and sigmoid in forms that stay finite and accurate in float32 for every x, built from ops
// every target already has (so the reference, the kernel interpreter, LLVM and WGSL agree), with
// PyTorch's backward formulas on the result. The textbook forms fail: (e^2x - 1)/(e^2x + 1) is
// inf/inf = NaN from x = 44.4 and loses digits near 0; 1/(1 + e^-x) differentiated through exp
// gives 0 * inf = NaN for x <= -89. A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError } from './errors.js';
import type { ScalarLike } from './host-scalar.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { withVjp } from './tensor-grad.js';

/** cephes tanhf: x + x^3 P(x^2) for |x| < 0.625 (about 2 ulp in float32), highest power first */
const TANH_POLY = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
const TANH_POLY_BELOW = 0.625;

function tanhImpl(input: Tensor): Tensor {
  const x = input.dtype === 'float32' ? input : input.float();
  const a = x.abs(),
    z = x.mul(x);
  const p = TANH_POLY.slice(2).reduce((acc, c) => acc.mul(z).add(c), z.mul(TANH_POLY[0]).add(TANH_POLY[1]));
  const small = p.mul(z).mul(x).add(x);
  // (1 - e)/(1 + e) with e = exp(-2|x|) <= 0.29: no overflow, no cancellation
  const e = a.mul(-2).exp();
  const big = e.neg().add(1).div(e.add(1));
  const below = a.lt(TANH_POLY_BELOW),
    negative = x.lt(0);
  const out = small.where(below, big.neg().where(negative, big));
  const y = out.detach();
  // PyTorch's tanh_backward: g * (1 - y*y)
  return withVjp(out, [x], (g) => [g.mul(y.mul(y).neg().add(1))]);
}

function sigmoidImpl(input: Tensor): Tensor {
  const x = input.dtype === 'float32' ? input : input.float();
  // e = exp(-|x|) never overflows: 1/(1 + e) for x >= 0, e/(1 + e) below
  const e = x.abs().neg().exp(),
    d = e.add(1);
  const nonNegative = x.ge(0);
  const out = d.reciprocal().where(nonNegative, e.div(d));
  const y = out.detach();
  // PyTorch's sigmoid_backward: g * (1 - y) * y
  return withVjp(out, [x], (g) => [g.mul(y.neg().add(1)).mul(y)]);
}

/** min(max(x, min), max); PyTorch's clamp_backward passes the gradient on [min, max], bounds included */
function clampImpl(x: Tensor, min?: ScalarLike, max?: ScalarLike): Tensor {
  if (min === undefined && max === undefined) {
    throw new KilnError("clamp: At least one of 'min' or 'max' must not be None");
  }
  let out = x;
  if (min !== undefined) out = out.maximum(min);
  if (max !== undefined) out = out.minimum(max);
  // not maximum/minimum's backward: they split the gradient at a tie (0.5 at a bound)
  const self = x.detach();
  return withVjp(out, [x], (g) => {
    const lo = min === undefined ? null : self.ge(min),
      hi = max === undefined ? null : self.le(max);
    return [g.where(lo && hi ? lo.logicalAnd(hi) : (lo ?? hi)!, 0)];
  });
}

const withOwnBackward = {
  sigmoid(this: Tensor): Tensor {
    return sigmoidImpl(this);
  },
  tanh(this: Tensor): Tensor {
    return tanhImpl(this);
  },
  clamp(this: Tensor, min?: ScalarLike, max?: ScalarLike): Tensor {
    return clampImpl(this, min, max);
  },
};

type WithOwnBackward = typeof withOwnBackward;
declare module './tensor-class.js' {
  interface Tensor extends WithOwnBackward {}
}
addMethods(withOwnBackward);
