// nn.init.truncNormal_ (PyTorch 1.13): uniform_(2 l - 1, 2 u - 1) with l, u the normal CDF at the
// bounds (Python's math.erf, double), then erfinv_ (calc_erfinv: a rational guess and two Newton
// steps, in float32), * std sqrt(2), + mean, clamped to [a, b].
import { uniform } from '../random.js';

const f = Math.fround;

/** erf in double: its Taylor series below 3 (error ~1e-14), the erfc continued fraction above */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x,
      sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up
  let cf = ax;
  for (let k = 60; k >= 1; k--) cf = ax + k / 2 / cf;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / cf;
  return Math.sign(x) * (1 - erfc);
}

const A = [0.886226899, -1.645349621, 0.914624893, -0.140543331].map(f);
const B = [-2.118377725, 1.442710462, -0.329097515, 0.012229801].map(f);
const C = [-1.970840454, -1.624906493, 3.429567803, 1.641345311].map(f);
const D = [3.5438892, 1.6370678].map(f);
const TWO_OVER_SQRT_PI = f(2 / f(Math.sqrt(Math.PI)));

/**
 * calc_erfinv for float, each operation rounded to float32, the polynomials' products fused into
 * their adds as torch's -mfma build does (measured: that halves the mismatches). erff/expf/logf
 * are rounded doubles here, glibc's differ at times: up to 4 ulp from torch.erfinv (measured).
 */
export function erfinvF32(y: number): number {
  const ay = Math.abs(y);
  if (ay > 1) return NaN;
  if (ay === 1) return y > 0 ? Infinity : -Infinity;
  let x: number;
  if (ay <= f(0.7)) {
    const z = f(y * y);
    const num = f(f(f(A[3] * z + A[2]) * z + A[1]) * z + A[0]);
    const dem = f(f(f(f(B[3] * z + B[2]) * z + B[1]) * z + B[0]) * z + 1);
    x = f(f(y * num) / dem);
  } else {
    const z = f(Math.sqrt(f(-f(Math.log(f(f(1 - ay) / 2))))));
    const num = f(f(f(C[3] * z + C[2]) * z + C[1]) * z + C[0]);
    const dem = f(f(D[1] * z + D[0]) * z + 1);
    x = f((y < 0 ? -num : num) / dem);
  }
  for (let i = 0; i < 2; i++) {
    x = f(x - f(f(f(erf64(x)) - y) / f(TWO_OVER_SQRT_PI * f(Math.exp(f(-f(x * x)))))));
  }
  return x;
}

export function truncNormalValues(n: number, mean: number, std: number, a: number, b: number): Float32Array {
  const cdf = (x: number) => (1 + erf64(x / Math.sqrt(2))) / 2;
  const l = cdf((a - mean) / std),
    u = cdf((b - mean) / std);
  const v = uniform(n, 2 * l - 1, 2 * u - 1);
  const s = f(std * Math.sqrt(2)),
    m = f(mean),
    lo = f(a),
    hi = f(b);
  for (let i = 0; i < n; i++) v[i] = Math.min(hi, Math.max(lo, f(f(erfinvF32(v[i]) * s) + m)));
  return v;
}
