// Exact float32 fused multiply-add for the interpreters (graph and kernel IR) and constant folding:
// round(a*b + c) to float32 with ONE rounding, what PyTorch's CPU add(self, other, alpha)
// computes (vec::fmadd) and what llvm.fma.f32 / a fused WGSL fma give.
//
// For float32 a, b the product is exact in float64 (24 + 24 significant bits), so the only
// inexact step in Math.fround(a*b + c) is the float64 sum s: rounding it to float32 afterwards
// is a double rounding, which differs from the single rounding only when s lands exactly on a
// midpoint between two float32s while the exact sum does not (the f64 rounding moved it there).
// Rounding is monotonic and every float32 midpoint is a float64, so s and the exact sum are on
// the same side of every other midpoint. TwoSum gives the f64 rounding error `err`
// (exact sum = s + err): at a midpoint with err != 0 the exact sum lies on err's side.

const F32_MAX = 2 ** 128 - 2 ** 104;
/** the midpoint between F32_MAX and 2^128: sums at or above it round to infinity */
const F32_OVERFLOW = 2 ** 128 - 2 ** 103;
const F32_TINY = 2 ** -149;

const bits = new Float32Array(1);
const ibits = new Int32Array(bits.buffer);

/** the float32 next to `r` (a finite float32) in the direction of `s` */
function nextToward(r: number, s: number): number {
  if (r === 0) return s > 0 ? F32_TINY : -F32_TINY;
  bits[0] = r;
  // the magnitude grows when s lies farther from zero than r
  ibits[0] += s > r === r > 0 ? 1 : -1;
  return bits[0];
}

/** float32 fma: Math.fround(a * b + c) with a single rounding, for float32 values a, b, c */
export function fmaf32(a: number, b: number, c: number): number {
  const p = a * b; // exact
  const s = p + c;
  const r = Math.fround(s);
  if (r === s || s !== s) return r; // representable (or NaN)
  if (!Number.isFinite(s)) return r; // an infinite operand or product: nothing to round
  // TwoSum: the rounding error of s = fl(p + c)
  const bv = s - p,
    av = s - bv;
  const err = p - av + (c - bv);
  if (err === 0) return r;
  if (!Number.isFinite(r)) {
    // s rounded to +-2^128 (overflow): the exact sum below the overflow midpoint is +-F32_MAX
    return Math.abs(s) === F32_OVERFLOW && err > 0 !== s > 0 ? Math.sign(s) * F32_MAX : r;
  }
  const o = nextToward(r, s);
  if (!Number.isFinite(o)) return r; // s between F32_MAX and the overflow midpoint: no midpoint here
  if (s !== (r + o) / 2) return r; // not a midpoint: one rounding or two agree
  // the exact sum is on err's side of the midpoint
  return err > 0 ? Math.max(r, o) : Math.min(r, o);
}
