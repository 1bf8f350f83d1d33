// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11), the
// counter-based generator of PyTorch's CUDA backend and cuRAND: four 32-bit output words are a
// pure function of a 128-bit counter and a 64-bit key, so every element of a traced `rand` is
// computed independently (fused into any kernel, on any target) from (key, element index).
// Only 32-bit integer operations: the 32x32 -> 64 multiply's high word is built from 16-bit
// halves, exactly as the WGSL renderer does (WGSL has no u64). This file is the oracle that the
// LLVM and WGSL renderings (targets/llvm/philox.ts, targets/wgsl/philox.ts) reproduce bit for bit.

export const PHILOX_M0 = 0xd2511f53,
  PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9,
  PHILOX_W1 = 0xbb67ae85;
export const PHILOX_ROUNDS = 10;
/** 2^-24: a 24-bit integer times this is a float32 in [0, 1), exactly */
export const UNIFORM_SCALE = 5.9604644775390625e-8;
export const TWO_PI_F32 = Math.fround(2 * Math.PI);
/**
 * Box-Muller's log, sin and cos are polynomials in float32 +, *, / (with sqrt, the only float ops
 * in a draw): IEEE targets (reference, native) agree bit for bit, and no target depends on a
 * built-in log/sin/cos (WGSL allows sin/cos an absolute error of 2^-11; SwiftShader's is that loose).
 * log: u1 = m * 2^E with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1).
 */
export const SQRT2_MANTISSA = 11863283; // floor(sqrt(2) * 2^23): a 24-bit mantissa above it is > sqrt(2)
export const LOG_ATANH = [9, 7, 5, 3, 1].map((n) => Math.fround(1 / n)); // Horner in s^2, highest first
export const LN2_HI = 0.693145751953125,
  LN2_LO = Math.fround(Math.LN2 - 0.693145751953125); // E*LN2_HI exact
/** sin(t) = t + t*z*SIN(z), cos(t) = 1 + z*COS(z), z = t^2, |t| <= pi/4 (Taylor, truncation < 2^-28) */
export const SIN_POLY = [362880, -5040, 120, -6].map((n) => Math.fround(1 / n));
export const COS_POLY = [-3628800, 40320, -720, 24, -2].map((n) => Math.fround(1 / n));

const f32 = Math.fround;
/** Horner's rule in float32, coefficients highest power first */
export function horner(x: number, cs: readonly number[]): number {
  let a = cs[0];
  for (let j = 1; j < cs.length; j++) a = f32(f32(a * x) + cs[j]);
  return a;
}

/**
 * log(u1) for u1 = n * 2^-24, n = (w >>> 8) + 1 in [1, 2^24]: the float32 n's exponent e and
 * 24-bit mantissa M (what a bitcast gives), halved when M/2^23 > sqrt(2)
 */
export function logOfU1(w: number): number {
  const n = (w >>> 8) + 1,
    e = 31 - Math.clz32(n),
    mant = n * 2 ** (23 - e);
  const big = mant > SQRT2_MANTISSA;
  const m = mant * (big ? 2 ** -24 : 2 ** -23),
    exp = e + (big ? 1 : 0) - 24;
  const s = f32(f32(m - 1) / f32(m + 1));
  const logm = f32(f32(2 * s) * horner(f32(s * s), LOG_ATANH));
  return f32(f32(exp * LN2_HI) + f32(logm + f32(exp * LN2_LO)));
}

export function sinPoly(t: number): number {
  const z = f32(t * t);
  return f32(t + f32(t * f32(z * horner(z, SIN_POLY))));
}
export function cosPoly(t: number): number {
  const z = f32(t * t);
  return f32(1 + f32(z * horner(z, COS_POLY)));
}

/** a quarter turn is 2^22 units of 2^-24 */
export const ANGLE_QUADRANT_SHIFT = 22,
  ANGLE_HALF_QUADRANT = 1 << 21;

export type RandomDist = 'uniform' | 'normal';

/** the high 32 bits of the 64-bit product of two u32 (every partial product < 2^32: exact) */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff,
    ah = a >>> 16,
    bl = b & 0xffff,
    bh = b >>> 16;
  const ll = al * bl,
    lh = al * bh,
    hl = ah * bl,
    hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of counter (c0..c3) under key (k0, k1): four u32 words */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
): [number, number, number, number] {
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    const hi0 = mulhi32(PHILOX_M0, c0),
      lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2),
      lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** a u32 from its two 16-bit halves, as the host program hands them to kernels (float32-exact) */
export const joinHalves = (lo: number, hi: number): number => ((lo & 0xffff) | ((hi & 0xffff) << 16)) >>> 0;

/**
 * 2*pi*u2 for u2 = (w >>> 8) * 2^-24 as quadrant*pi/2 + theta: t = w >>> 8 is u2 in units of
 * 2^-24, q = round(4*u2) = (t + 2^21) >> 22, theta = 2pi * (t - q*2^22) * 2^-24 (exact until the
 * one multiply by 2pi), quadrant = q mod 4.
 */
export function angleOf(w: number): { quadrant: number; theta: number } {
  const t = w >>> 8,
    q = (t + ANGLE_HALF_QUADRANT) >>> ANGLE_QUADRANT_SHIFT;
  return { quadrant: q & 3, theta: Math.fround(TWO_PI_F32 * ((t - q * 2 ** ANGLE_QUADRANT_SHIFT) * UNIFORM_SCALE)) };
}

/**
 * The value of a traced draw at one element. `pieces` are the 16-bit halves of the key (the
 * manualSeed seed, low half first) and of the run offset: [seed0..3, offset0..3]. The counter is
 * (element index, draw number within the trace, offset low word, offset high word).
 * uniform: the top 24 bits of word 0 times 2^-24, in [0, 1). normal: Box-Muller in float32 on
 * words 0 and 1 (u1 in (0, 1], so log(u1) is finite), rounded after every operation; the angle
 * 2*pi*u2 is reduced in integers to a quadrant q and theta in [-pi/4, pi/4] (cos of it is
 * +-cos(theta) or +-sin(theta)), where the polynomials above hold.
 */
export function randomAt(dist: RandomDist, index: number, draw: number, pieces: ArrayLike<number>): number {
  const k0 = joinHalves(pieces[0], pieces[1]),
    k1 = joinHalves(pieces[2], pieces[3]);
  const c2 = joinHalves(pieces[4], pieces[5]),
    c3 = joinHalves(pieces[6], pieces[7]);
  const [w0, w1] = philox4x32(index >>> 0, draw >>> 0, c2, c3, k0, k1);
  if (dist === 'uniform') return (w0 >>> 8) * UNIFORM_SCALE;
  const f = Math.fround;
  const radius = f(Math.sqrt(f(-2 * logOfU1(w0))));
  const { quadrant, theta } = angleOf(w1);
  const c = quadrant & 1 ? sinPoly(theta) : cosPoly(theta);
  return f(radius * (quadrant === 1 || quadrant === 2 ? -c : c));
}
