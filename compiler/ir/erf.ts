// erf in float32 operations, written once over an abstract float32 arithmetic so that the scalar
// semantics (constant folding, the graph interpreter) and the kernel expansion (every target) are
// the same sequence of float32 operations: no target has an erf of its own (WGSL has no builtin,
// LLVM no intrinsic). Within 1.2 ulp of the true erf for every float32 (measured against float64
// erf), the targets' exp differing in its last bit aside.
//
// |x| < 0.921875: erf(x) = x + x P(x^2), P of degree 5;
// above:          erf(x) = sign(x) (1 - exp(Q(min(|x|, 4)))), Q of degree 8 fitting log(erfc),
//                 where erf rounds to 1 from |x| = 3.92 on.
// The coefficients are weighted least-squares fits (Lawson's iteration towards minimax) of those
// two forms, weighted by the float32 ulp of erf, rounded to float32.
import type { Expr } from './kernel.js';
import { fmaf32 } from '../../targets/reference/fma.js';

/** the float32 operations erf needs; `bind` names a value used more than once (a kernel `let`) */
export interface F32Ops<T, B> {
  k(v: number): T;
  abs(a: T): T;
  mul(a: T, b: T): T;
  sub(a: T, b: T): T;
  neg(a: T): T;
  min(a: T, b: T): T;
  exp(a: T): T;
  fma(a: T, b: T, c: T): T;
  ge(a: T, b: T): B;
  lt(a: T, b: T): B;
  where(c: B, a: T, b: T): T;
  bind(a: T): T;
}

const SMALL_BELOW = 0.921875;
const CLAMP = 4;
/** P, highest power first */
const P = [
  -0.0006015973631292582, 0.004999040625989437, -0.026771433651447296, 0.11281976848840714, -0.37612512707710266,
  0.12837915122509003,
];
/** Q, highest power first */
const Q = [
  -4.377675963951333e-7, -1.5475192412850447e-5, 0.00040359061677008867, -0.0040762354619801044, 0.02494119293987751,
  -0.10807004570960999, -0.6334986090660095, -1.1294535398483276, 0.00016400348977185786,
];

/** Horner's rule with one fma per coefficient */
function horner<T, B>(m: F32Ops<T, B>, coeffs: readonly number[], x: T): T {
  return coeffs.slice(1).reduce((acc, c) => m.fma(acc, x, m.k(c)), m.k(coeffs[0]));
}

export function erfWith<T, B>(m: F32Ops<T, B>, input: T): T {
  const x = m.bind(input),
    t = m.bind(m.abs(x)),
    s = m.bind(m.mul(x, x));
  const small = m.fma(horner(m, P, s), x, x);
  const big = m.bind(m.sub(m.k(1), m.exp(horner(m, Q, m.bind(m.min(t, m.k(CLAMP)))))));
  // NaN fails `t >= ...` and takes the small form, which keeps it
  return m.where(m.ge(t, m.k(SMALL_BELOW)), m.where(m.lt(x, m.k(0)), m.neg(big), big), small);
}

const f = Math.fround;
/** float32 arithmetic on numbers, each result rounded to float32 (fma once) */
export const SCALAR_F32: F32Ops<number, boolean> = {
  k: f,
  abs: (a) => Math.abs(a),
  mul: (a, b) => f(a * b),
  sub: (a, b) => f(a - b),
  neg: (a) => -a,
  min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  exp: (a) => f(Math.exp(a)),
  fma: fmaf32,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  where: (c, a, b) => (c ? a : b),
  bind: (a) => a,
};

/** float32 arithmetic building kernel IR; `bind` binds an expression to a `let` and returns its variable */
export function exprF32(bind: (e: Expr) => Expr): F32Ops<Expr, Expr> {
  const un =
    (fn: 'abs' | 'neg' | 'exp') =>
    (a: Expr): Expr => ({ e: 'unary', type: 'f32', fn, a });
  const bin =
    (fn: 'mul' | 'sub' | 'min') =>
    (a: Expr, b: Expr): Expr => ({ e: 'binary', type: 'f32', fn, a, b });
  const cmp =
    (fn: 'ge' | 'lt') =>
    (a: Expr, b: Expr): Expr => ({ e: 'binary', type: 'bool', fn, a, b });
  return {
    k: (value) => ({ e: 'const', type: 'f32', value: f(value) }),
    abs: un('abs'),
    neg: un('neg'),
    exp: un('exp'),
    mul: bin('mul'),
    sub: bin('sub'),
    min: bin('min'),
    fma: (a, b, c) => ({ e: 'fma', type: 'f32', a, b, c }),
    ge: cmp('ge'),
    lt: cmp('lt'),
    where: (cond, a, b) => ({ e: 'where', type: 'f32', cond, a, b }),
    bind,
  };
}
