// fmaf32 (targets/reference/fma.ts) against exact BigInt arithmetic: products whose exact sum
// with c lies just off a float32 midpoint, where Math.fround(a*b + c) rounds twice and is wrong,
// plus random operands of every magnitude (subnormal results and overflow included).
import { describe, expect, it } from 'vitest';
import { fmaf32 } from '../targets/reference/fma.js';

const bits = new Float32Array(1);
const ubits = new Uint32Array(bits.buffer);
const fromBits = (u: number) => {
  ubits[0] = u >>> 0;
  return bits[0];
};

/** a float32 as sign * m * 2^e with integer m (e >= -149) */
function decompose(x: number): { neg: boolean; m: bigint; e: number } {
  bits[0] = x;
  const u = ubits[0],
    E = (u >>> 23) & 0xff,
    F = u & 0x7fffff;
  return { neg: u >>> 31 === 1, m: BigInt(E === 0 ? F : F | 0x800000), e: E === 0 ? -149 : E - 150 };
}

/** the float32 nearest to a*b + c (ties to even), from the exact sum in units of 2^-298 */
function exactFma(a: number, b: number, c: number): number {
  const A = decompose(a),
    B = decompose(b),
    C = decompose(c);
  const p = A.m * B.m * (1n << BigInt(A.e + B.e + 298)) * (A.neg !== B.neg ? -1n : 1n);
  const S = p + C.m * (1n << BigInt(C.e + 298)) * (C.neg ? -1n : 1n);
  if (S === 0n) return a * b + c; // an exact zero: the sign rules of IEEE addition (float64 agrees)
  const M = S < 0n ? -S : S;
  const L = M.toString(2).length;
  const ulpExp = Math.max(L - 1 - 298 - 23, -149);
  const k = BigInt(ulpExp + 298);
  let q = M >> k;
  const rem = M - (q << k),
    half = 1n << (k - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  return Math.fround((S < 0n ? -1 : 1) * Number(q) * 2 ** ulpExp);
}

const naive = (a: number, b: number, c: number) => Math.fround(a * b + c);

/**
 * Sums one float64 rounding puts exactly on a float32 midpoint of c:
 *  up:   c has an even mantissa, a*b = half an ulp of c times (1 + 2^-36): the exact sum is just
 *        above the midpoint, Math.fround ties down to c;
 *  down: c has an odd mantissa, a*b = half an ulp times (1 - x^2 2^-46): just below, Math.fround
 *        ties up to c + ulp.
 * `k` is the exponent of c's leading bit (c's ulp is 2^(k-23), or 2^-149 for subnormal c).
 */
function hardCases(): [number, number, number][] {
  const out: [number, number, number][] = [];
  const split = (h: number): [number, number] => [Math.floor(h / 2), h - Math.floor(h / 2)];
  const add = (a: number, b: number, c: number) => {
    for (const s of [1, -1]) out.push([Math.fround(s * a), Math.fround(b), Math.fround(s * c)]);
  };
  for (const k of [-140, -130, -126, -100, -20, -1, 0, 1, 10, 23, 24, 60, 100, 127]) {
    const ulp = 2 ** Math.max(k - 23, -149);
    const [h1, h2] = split(Math.log2(ulp) - 1);
    for (const m of [2 ** 23, 2 ** 23 + 2, 2 ** 23 + 123456, 2 ** 24 - 2]) {
      const c = (k < -126 ? m - 2 ** 23 : m) * ulp; // a subnormal c: m - 2^23 ulps
      add(2 ** h1 * (1 + 2 ** -12), 2 ** h2 * (1 - 4095 * 2 ** -24), c);
    }
    for (const m of [2 ** 23 + 1, 2 ** 23 + 12345, 2 ** 24 - 1]) {
      const c = (k < -126 ? m - 2 ** 23 : m) * ulp;
      for (const x of [1, 7, 100, 362]) add(2 ** h1 * (1 + x * 2 ** -23), 2 ** h2 * (1 - x * 2 ** -23), c);
    }
  }
  // next to overflow: F32_MAX (odd mantissa) plus just under half its ulp is F32_MAX, not infinity
  const max = fromBits(0x7f7fffff);
  for (const x of [1, 3, 362]) add(2 ** 52 * (1 + x * 2 ** -23), 2 ** 51 * (1 - x * 2 ** -23), max);
  add(2 ** 52 * (1 + 2 ** -12), 2 ** 51 * (1 - 4095 * 2 ** -24), max);
  return out;
}

describe('fmaf32', () => {
  it('rounds once where Math.fround(a*b + c) rounds twice (BigInt exact reference)', () => {
    const cases = hardCases();
    let doubleRounded = 0;
    for (const [a, b, c] of cases) {
      const want = exactFma(a, b, c);
      expect(Object.is(fmaf32(a, b, c), want), `fma(${a}, ${b}, ${c}) = ${fmaf32(a, b, c)}, exact ${want}`).toBe(true);
      if (!Object.is(naive(a, b, c), want)) doubleRounded++;
    }
    // the constructed cases do hit double rounding (not for a subnormal c, whose sum float64 holds exactly)
    console.log(`${doubleRounded} of ${cases.length} cases rounded twice by Math.fround(a*b + c)`);
    expect(doubleRounded).toBeGreaterThanOrEqual(400);
  });

  it('equals the exact rounding on random operands of every magnitude', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const randF32 = (lo: number, hi: number) => {
      // random mantissa, exponent field in [lo, hi]
      const e = lo + (rnd() % (hi - lo + 1));
      return fromBits(((rnd() & 1) << 31) | (e << 23) | (rnd() & 0x7fffff));
    };
    for (let i = 0; i < 20000; i++) {
      const a = randF32(1, 254),
        b = randF32(1, 254);
      // c near -a*b (cancellation), near a*b's scale, or anywhere
      const p = a * b,
        mode = i % 3;
      const c =
        mode === 0
          ? Math.fround(-p * (1 + ((rnd() % 65) - 32) * 2 ** -24))
          : mode === 1
            ? Math.fround(p * fromBits(0x3f800000 + (rnd() % 0x800000)))
            : randF32(0, 254);
      if (!Number.isFinite(c) || !Number.isFinite(Math.fround(p))) continue;
      const want = exactFma(a, b, c);
      if (!Object.is(fmaf32(a, b, c), want)) expect(fmaf32(a, b, c), `fma(${a}, ${b}, ${c})`).toBe(want);
    }
  });

  it('specials: infinities, NaN, signed zeros, overflow', () => {
    expect(fmaf32(Infinity, 2, 1)).toBe(Infinity);
    expect(fmaf32(Infinity, 0, 1)).toBeNaN();
    expect(fmaf32(1, 2, -Infinity)).toBe(-Infinity);
    expect(fmaf32(NaN, 1, 1)).toBeNaN();
    expect(Object.is(fmaf32(-0, 1, -0), -0)).toBe(true);
    expect(Object.is(fmaf32(-1, 1, 1), 0)).toBe(true);
    expect(Object.is(fmaf32(Math.fround(-1e-30), Math.fround(1e-30), 0), -0)).toBe(true); // -1e-60 rounds to -0
    const max = fromBits(0x7f7fffff);
    expect(fmaf32(max, 2, -max)).toBe(max);
    expect(fmaf32(max, 1, max)).toBe(Infinity);
  });
});
