// The `random` expression in WGSL: Philox4x32-10 on u32 (WGSL has no u64, so the 32x32 -> 64
// multiply's high word comes from 16-bit halves, as in targets/reference/philox.ts), then the
// uniform or Box-Muller float by the same polynomials. WGSL would let a device round / and sqrt
// more loosely or fuse a*b+c; llvmpipe and SwiftShader do neither: bit-identical to the interpreter.
import {
  ANGLE_HALF_QUADRANT,
  ANGLE_QUADRANT_SHIFT,
  COS_POLY,
  LN2_HI,
  LN2_LO,
  LOG_ATANH,
  PHILOX_M0,
  PHILOX_M1,
  PHILOX_ROUNDS,
  PHILOX_W0,
  PHILOX_W1,
  SIN_POLY,
  SQRT2_MANTISSA,
  TWO_PI_F32,
  UNIFORM_SCALE,
} from '../reference/philox.js';

const hex = (v: number) => `0x${(v >>> 0).toString(16)}u`;
const f32 = (v: number) => `${Math.fround(v) < 0 ? `(${Math.fround(v)}f)` : `${Math.fround(v)}f`}`;
/** Horner's rule over WGSL expression `x`, coefficients highest power first (as `horner` there) */
const horner = (x: string, cs: readonly number[]) =>
  cs.slice(1).reduce((a, c) => `(${a} * ${x} + ${f32(c)})`, f32(cs[0]));

export const PHILOX_HELPERS = {
  kiln_mulhi: `fn kiln_mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xffffu; let ah = a >> 16u; let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}`,
  // counter (c.x..c.w) under key k; p: the f32 16-bit halves of key and offset
  kiln_philox: `fn kiln_philox(i: i32, draw: u32, p0: vec4<f32>, p1: vec4<f32>) -> vec4<u32> {
  let q0 = vec4<u32>(p0); let q1 = vec4<u32>(p1);
  var k = vec2<u32>(q0.x | (q0.y << 16u), q0.z | (q0.w << 16u));
  var c = vec4<u32>(u32(i), draw, q1.x | (q1.y << 16u), q1.z | (q1.w << 16u));
  for (var r = 0; r < ${PHILOX_ROUNDS}; r = r + 1) {
    let hi0 = kiln_mulhi(${hex(PHILOX_M0)}, c.x); let lo0 = ${hex(PHILOX_M0)} * c.x;
    let hi1 = kiln_mulhi(${hex(PHILOX_M1)}, c.z); let lo1 = ${hex(PHILOX_M1)} * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(${hex(PHILOX_W0)}, ${hex(PHILOX_W1)});
  }
  return c;
}`,
  kiln_uniform: `fn kiln_uniform(w: vec4<u32>) -> f32 { return f32(w.x >> 8u) * ${f32(UNIFORM_SCALE)}; }`,
  // logOfU1, sinPoly, cosPoly and randomAt's normal in targets/reference/philox.ts
  kiln_normal: `fn kiln_normal(w: vec4<u32>) -> f32 {
  let bits = bitcast<u32>(f32((w.x >> 8u) + 1u));
  let mant = (bits & 0x7fffffu) | 0x800000u;
  let big = mant > ${SQRT2_MANTISSA}u;
  let m = f32(mant) * select(${f32(2 ** -23)}, ${f32(2 ** -24)}, big);
  let e = f32(i32(bits >> 23u) + select(0i, 1i, big) - ${127 + 24}i);
  let s = (m - 1.0f) / (m + 1.0f);
  let logm = (2.0f * s) * ${horner('(s * s)', LOG_ATANH)};
  let radius = sqrt(-2.0f * ((e * ${f32(LN2_HI)}) + (logm + (e * ${f32(LN2_LO)}))));
  let t = w.y >> 8u;
  let q = (t + ${ANGLE_HALF_QUADRANT}u) >> ${ANGLE_QUADRANT_SHIFT}u;
  let theta = ${f32(TWO_PI_F32)} * (f32(i32(t) - i32(q << ${ANGLE_QUADRANT_SHIFT}u)) * ${f32(UNIFORM_SCALE)});
  let z = theta * theta;
  let sine = theta + theta * (z * ${horner('z', SIN_POLY)});
  let cosine = 1.0f + z * ${horner('z', COS_POLY)};
  let cs = select(cosine, sine, (q & 1u) == 1u);
  return radius * select(cs, -cs, ((q + 1u) & 2u) != 0u);
}`,
} as const;
export const PHILOX_DEPS = {
  kiln_philox: ['kiln_mulhi'],
  kiln_uniform: ['kiln_philox'],
  kiln_normal: ['kiln_philox'],
} as const;
