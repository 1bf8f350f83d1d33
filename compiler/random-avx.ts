// The AVX2 kernel of PyTorch's CPU normal_ (normal_fill_16_AVX2), which x86 builds of torch 1.13
// use for contiguous float32 tensors of >= 16 elements: Cephes-style float32 log and sincos from
// avx_mathfun.h, every operation rounded to float32, and an FMA for `n * std + mean`. Emulating
// it step by step is what makes kiln's randn equal torch's bit for bit (libm's logf/cosf differ
// from these by an ulp now and then).
const f = Math.fround;
const u32 = new Uint32Array(1),
  f32 = new Float32Array(u32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const fromBits = (b: number) => ((u32[0] = b >>> 0), f32[0]);

const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f);
const SQRTHF = f(0.707106781186547524),
  LOG_Q1 = f(-2.1219444e-4),
  LOG_Q2 = f(0.693359375);

/** log256_ps for one lane, x > 0 */
export function logAvx(x0: number): number {
  let x = Math.max(f(x0), fromBits(0x00800000));
  const b = bitsOf(x);
  let e = f((b >>> 23) - 0x7f + 1);
  x = fromBits((b & ~0x7f800000) | bitsOf(0.5));
  const tmp = x < SQRTHF ? x : 0;
  if (x < SQRTHF) e = f(e - 1);
  x = f(f(x - 1) + tmp);
  const z = f(x * x);
  let y = LOG_P[0];
  for (let i = 1; i < 9; i++) y = f(y * x + LOG_P[i]);
  // GCC (-mfma, -ffp-contract=fast) fuses each product into the add/sub that uses it, taking
  // the earlier product where two meet: here y * z, not e * q1
  y = f(f(y * x) * z + f(e * LOG_Q1));
  y = f(y - z * 0.5);
  return f(f(x + y) + e * LOG_Q2);
}

const FOPI = f(1.27323954473516),
  DP = [-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8].map(f);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f);

/** sincos256_ps for one lane: [sin, cos] */
export function sincosAvx(x0: number): [number, number] {
  let x = Math.abs(f(x0));
  const sinSign = x0 < 0 || Object.is(x0, -0) ? 1 : 0;
  const j = ((Math.trunc(f(x * FOPI)) | 0) + 1) & ~1;
  const y0 = f(j);
  const swapSin = (j & 4) !== 0 ? 1 : 0;
  const polyMask = (j & 2) === 0;
  const cosSign = (~(j - 2) & 4) !== 0 ? 1 : 0;
  for (const d of DP) x = f(x + y0 * d);
  const z = f(x * x);
  let c = COS_P[0];
  c = f(c * z + COS_P[1]);
  c = f(c * z + COS_P[2]);
  c = f(f(f(c * z) * z - f(z * 0.5)) + 1);
  let s = SIN_P[0];
  s = f(s * z + SIN_P[1]);
  s = f(s * z + SIN_P[2]);
  s = f(f(s * z) * x + x);
  const sinV = polyMask ? s : c,
    cosV = polyMask ? c : s;
  return [sinSign ^ swapSin ? -sinV : sinV, cosSign ? -cosV : cosV];
}

const TWO_PI = f(2 * Math.PI);

/** normal_fill_16_AVX2 on d[o..o+16) in place */
export function normalFill16Avx(d: Float32Array, o: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[o + j]),
      u2 = d[o + j + 8];
    const radius = f(Math.sqrt(f(-2 * logAvx(u1))));
    const [s, c] = sincosAvx(f(TWO_PI * u2));
    // the FMA: the product of two floats is exact in double, so one rounding of the sum remains
    d[o + j] = f(f(radius * c) * std + mean);
    d[o + j + 8] = f(f(radius * s) * std + mean);
  }
}
