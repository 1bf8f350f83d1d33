// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11), the
// counter-based generator of PyTorch's CUDA backend and cuRAND: four 32-bit output words are a
// pure function of a 128-bit counter and a 64-bit key, so every element of a traced `rand` is
// computed independently (fused into any kernel, on any target) from (key, element index).
// Only 32-bit integer operations: the 32x32 -> 64 multiply's high word is built from 16-bit
// halves, exactly as the WGSL renderer does (WGSL has no u64). This file is the oracle that the
// LLVM and WGSL renderings (targets/llvm/philox.ts, targets/wgsl/philox.ts) reproduce bit for bit.

export const PHILOX_M0 = 0xd2511f53, PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9, PHILOX_W1 = 0xbb67ae85;
export const PHILOX_ROUNDS = 10;
/** 2^-24: a 24-bit integer times this is a float32 in [0, 1), exactly */
export const UNIFORM_SCALE = 5.9604644775390625e-8;
export const TWO_PI_F32 = Math.fround(2 * Math.PI);
/** logOfU1: 1 - u1 in units of 2^-24 is LOG_SERIES_ONE - (w >>> 8); the series below 2^20 of them */
export const LOG_SERIES_ONE = 0xffffff, LOG_SERIES_BELOW = 1 << 20;
/** the series' Horner coefficients, highest power first: 1/7 ... 1/2 (float32) */
export const LOG_SERIES = [7, 6, 5, 4, 3, 2].map((n) => Math.fround(1 / n));
/** a quarter turn is 2^22 units of 2^-24 */
export const ANGLE_QUADRANT_SHIFT = 22, ANGLE_HALF_QUADRANT = 1 << 21;

export type RandomDist = 'uniform' | 'normal';

/** the high 32 bits of the 64-bit product of two u32 (every partial product < 2^32: exact) */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of counter (c0..c3) under key (k0, k1): four u32 words */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
): [number, number, number, number] {
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    const hi0 = mulhi32(PHILOX_M0, c0), lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2), lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0; c1 = lo1; c2 = (hi0 ^ c3 ^ k1) >>> 0; c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0; k1 = (k1 + PHILOX_W1) >>> 0;
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
  const t = w >>> 8, q = (t + ANGLE_HALF_QUADRANT) >>> ANGLE_QUADRANT_SHIFT;
  return { quadrant: q & 3, theta: Math.fround(TWO_PI_F32 * ((t - q * 2 ** ANGLE_QUADRANT_SHIFT) * UNIFORM_SCALE)) };
}

/**
 * log(u1) for u1 = ((w >>> 8) + 1) * 2^-24 in (0, 1]. Where u1 is within 2^-4 of 1 it is the
 * series -(x + x^2/2 + ... + x^7/7) in x = 1 - u1 (exact: a 24-bit integer times 2^-24), by
 * Horner in float32, relative error ~2^-24: a target's log near 1 is only accurate to an absolute
 * ~2^-23 (Mesa llvmpipe's is), a large relative error in the small radius it gives.
 */
export function logOfU1(w: number): number {
  const f = Math.fround, k = LOG_SERIES_ONE - (w >>> 8);
  if (k >= LOG_SERIES_BELOW) return f(Math.log(((w >>> 8) + 1) * UNIFORM_SCALE));
  const x = k * UNIFORM_SCALE;
  let a = LOG_SERIES[0];
  for (let j = 1; j < LOG_SERIES.length; j++) a = f(f(a * x) + LOG_SERIES[j]);
  return -f(x + f(f(a * x) * x));
}

/**
 * The value of a traced draw at one element. `pieces` are the 16-bit halves of the key (the
 * manualSeed seed, low half first) and of the run offset: [seed0..3, offset0..3]. The counter is
 * (element index, draw number within the trace, offset low word, offset high word).
 * uniform: the top 24 bits of word 0 times 2^-24, in [0, 1). normal: Box-Muller in float32 on
 * words 0 and 1 (u1 in (0, 1], so log(u1) is finite), rounded after every operation; the angle
 * 2*pi*u2 is reduced in integers to a quadrant q and theta in [-pi/4, pi/4] (cos of it is
 * +-cos(theta) or +-sin(theta)), so no target's cos sees a large argument (WGSL's cos is loose there).
 */
export function randomAt(dist: RandomDist, index: number, draw: number, pieces: ArrayLike<number>): number {
  const k0 = joinHalves(pieces[0], pieces[1]), k1 = joinHalves(pieces[2], pieces[3]);
  const c2 = joinHalves(pieces[4], pieces[5]), c3 = joinHalves(pieces[6], pieces[7]);
  const [w0, w1] = philox4x32(index >>> 0, draw >>> 0, c2, c3, k0, k1);
  if (dist === 'uniform') return (w0 >>> 8) * UNIFORM_SCALE;
  const f = Math.fround;
  const radius = f(Math.sqrt(f(-2 * logOfU1(w0))));
  const { quadrant, theta } = angleOf(w1);
  const c = quadrant & 1 ? f(Math.sin(theta)) : f(Math.cos(theta));
  return f(radius * (quadrant === 1 || quadrant === 2 ? -c : c));
}
