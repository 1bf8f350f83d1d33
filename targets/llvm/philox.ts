// The `random` expression as LLVM IR: Philox4x32-10 unrolled on i32 values (the 32x32 -> 64
// multiply is one i64 mul), then the uniform or Box-Muller float, operation for operation as
// targets/reference/philox.ts computes them: IEEE float ops, no contraction, so bit-identical.
import llvm from 'llvm-bindings';
import type { Expr } from '../../compiler/ir/kernel.js';
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

type RandomExpr = Extract<Expr, { e: 'random' }>;

/** what Philox needs of the expression emitter (expr.ts's ExprEmitter, which calls it, is one) */
export interface RandomEmitter {
  readonly b: llvm.IRBuilder;
  readonly f32: llvm.Type;
  readonly i32: llvm.IntegerType;
  readonly i64: llvm.IntegerType;
  constant(t: 'f32', v: number): llvm.Value;
  /** a call of the LLVM intrinsic `id` over f32 */
  call(id: number, args: llvm.Value[]): llvm.Value;
}

/** `index` is the i64 register of the element index; `pieces` the 8 f32 halves (key, offset) */
export function emitRandom(em: RandomEmitter, e: RandomExpr, index: llvm.Value, pieces: llvm.Value[]): llvm.Value {
  const b = em.b,
    i32 = em.i32,
    i64 = em.i64;
  const u32 = (v: number) => llvm.ConstantInt.get(i32, v >>> 0, false);
  const word = (lo: llvm.Value, hi: llvm.Value) =>
    b.CreateOr(b.CreateFPToUI(lo, i32), b.CreateShl(b.CreateFPToUI(hi, i32), u32(16)));
  let k0 = word(pieces[0], pieces[1]),
    k1 = word(pieces[2], pieces[3]);
  let c = [b.CreateTrunc(index, i32), u32(e.draw), word(pieces[4], pieces[5]), word(pieces[6], pieces[7])];
  const mulhilo = (m: number, x: llvm.Value): [llvm.Value, llvm.Value] => {
    const p = b.CreateMul(llvm.ConstantInt.get(i64, m, false), b.CreateZExt(x, i64));
    return [b.CreateTrunc(b.CreateLShr(p, llvm.ConstantInt.get(i64, 32, false)), i32), b.CreateTrunc(p, i32)];
  };
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    const [hi0, lo0] = mulhilo(PHILOX_M0, c[0]);
    const [hi1, lo1] = mulhilo(PHILOX_M1, c[2]);
    c = [b.CreateXor(b.CreateXor(hi1, c[1]), k0), lo1, b.CreateXor(b.CreateXor(hi0, c[3]), k1), lo0];
    k0 = b.CreateAdd(k0, u32(PHILOX_W0));
    k1 = b.CreateAdd(k1, u32(PHILOX_W1));
  }
  const f = (v: number) => em.constant('f32', v);
  const top24 = (w: llvm.Value, plus: number) => b.CreateAdd(b.CreateLShr(w, u32(8)), u32(plus));
  const unit = (w: llvm.Value, plus: number) => b.CreateFMul(b.CreateUIToFP(top24(w, plus), em.f32), f(UNIFORM_SCALE));
  if (e.dist === 'uniform') return unit(c[0], 0);
  const I = llvm.Intrinsic;
  const mul = (x: llvm.Value, y: llvm.Value) => b.CreateFMul(x, y);
  const add = (x: llvm.Value, y: llvm.Value) => b.CreateFAdd(x, y);
  const horner = (x: llvm.Value, cs: readonly number[]) => cs.slice(1).reduce((a, k) => add(mul(a, x), f(k)), f(cs[0]));
  // log(u1) = log(m) + E*ln2 from the float's exponent and mantissa (logOfU1 in targets/reference/philox.ts)
  const bits = b.CreateBitCast(b.CreateUIToFP(top24(c[0], 1), em.f32), i32);
  const mant = b.CreateOr(b.CreateAnd(bits, u32(0x7fffff)), u32(0x800000));
  const big = b.CreateICmpUGT(mant, u32(SQRT2_MANTISSA));
  const m = mul(b.CreateUIToFP(mant, em.f32), b.CreateSelect(big, f(2 ** -24), f(2 ** -23)));
  const biased = b.CreateAdd(b.CreateLShr(bits, u32(23)), b.CreateZExt(big, i32));
  const exp = b.CreateSIToFP(b.CreateSub(biased, u32(127 + 24)), em.f32);
  const s = b.CreateFDiv(b.CreateFSub(m, f(1)), add(m, f(1)));
  const logm = mul(mul(f(2), s), horner(mul(s, s), LOG_ATANH));
  const log = add(mul(exp, f(LN2_HI)), add(logm, mul(exp, f(LN2_LO))));
  const radius = em.call(I.sqrt, [mul(f(-2), log)]);
  // the angle as quadrant q and theta in [-pi/4, pi/4] (angleOf in targets/reference/philox.ts)
  const t = b.CreateLShr(c[1], u32(8));
  const q = b.CreateLShr(b.CreateAdd(t, u32(ANGLE_HALF_QUADRANT)), u32(ANGLE_QUADRANT_SHIFT));
  const units = b.CreateSIToFP(b.CreateSub(t, b.CreateShl(q, u32(ANGLE_QUADRANT_SHIFT))), em.f32);
  const theta = b.CreateFMul(f(TWO_PI_F32), b.CreateFMul(units, f(UNIFORM_SCALE)));
  const odd = b.CreateICmpNE(b.CreateAnd(q, u32(1)), u32(0));
  const z = mul(theta, theta);
  const sin = add(theta, mul(theta, mul(z, horner(z, SIN_POLY)))),
    cos = add(f(1), mul(z, horner(z, COS_POLY)));
  const cs = b.CreateSelect(odd, sin, cos);
  const negative = b.CreateICmpNE(b.CreateAnd(b.CreateAdd(q, u32(1)), u32(2)), u32(0)); // q mod 4 is 1 or 2
  return b.CreateFMul(radius, b.CreateSelect(negative, b.CreateFNeg(cs), cs));
}
