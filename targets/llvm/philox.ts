// The `random` expression as LLVM IR: Philox4x32-10 unrolled on i32 values (the 32x32 -> 64
// multiply is one i64 mul), then the uniform or Box-Muller float, operation for operation as
// targets/reference/philox.ts computes them (bit-identical uniforms; normals through libm's logf,
// sinf and cosf, which the interpreter's Math.log/sin/cos agree with to an ulp or so).
import llvm from 'llvm-bindings';
import type { Expr } from '../../compiler/ir/kernel.js';
import {
  ANGLE_HALF_QUADRANT, ANGLE_QUADRANT_SHIFT, LOG_SERIES, LOG_SERIES_BELOW, LOG_SERIES_ONE,
  PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1, TWO_PI_F32, UNIFORM_SCALE,
} from '../reference/philox.js';
import type { ExprEmitter } from './expr.js';

type RandomExpr = Extract<Expr, { e: 'random' }>;

/** `index` is the i64 register of the element index; `pieces` the 8 f32 halves (key, offset) */
export function emitRandom(em: ExprEmitter, e: RandomExpr, index: llvm.Value, pieces: llvm.Value[]): llvm.Value {
  const b = em.b, i32 = em.i32, i64 = em.i64;
  const u32 = (v: number) => llvm.ConstantInt.get(i32, v >>> 0, false);
  const word = (lo: llvm.Value, hi: llvm.Value) =>
    b.CreateOr(b.CreateFPToUI(lo, i32), b.CreateShl(b.CreateFPToUI(hi, i32), u32(16)));
  let k0 = word(pieces[0], pieces[1]), k1 = word(pieces[2], pieces[3]);
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
  // log(u1), by the series near 1 (logOfU1 in targets/reference/philox.ts)
  const k = b.CreateSub(u32(LOG_SERIES_ONE), b.CreateLShr(c[0], u32(8)));
  const x = b.CreateFMul(b.CreateUIToFP(k, em.f32), f(UNIFORM_SCALE));
  let a = f(LOG_SERIES[0]);
  for (const c of LOG_SERIES.slice(1)) a = b.CreateFAdd(b.CreateFMul(a, x), f(c));
  const series = b.CreateFNeg(b.CreateFAdd(x, b.CreateFMul(b.CreateFMul(a, x), x)));
  const near1 = b.CreateICmpULT(k, u32(LOG_SERIES_BELOW));
  const log = b.CreateSelect(near1, series, em.call(I.log, [unit(c[0], 1)]));
  const radius = em.call(I.sqrt, [b.CreateFMul(f(-2), log)]);
  // the angle as quadrant q and theta in [-pi/4, pi/4] (angleOf in targets/reference/philox.ts)
  const t = b.CreateLShr(c[1], u32(8));
  const q = b.CreateLShr(b.CreateAdd(t, u32(ANGLE_HALF_QUADRANT)), u32(ANGLE_QUADRANT_SHIFT));
  const units = b.CreateSIToFP(b.CreateSub(t, b.CreateShl(q, u32(ANGLE_QUADRANT_SHIFT))), em.f32);
  const theta = b.CreateFMul(f(TWO_PI_F32), b.CreateFMul(units, f(UNIFORM_SCALE)));
  const odd = b.CreateICmpNE(b.CreateAnd(q, u32(1)), u32(0));
  const cs = b.CreateSelect(odd, em.call(I.sin, [theta]), em.call(I.cos, [theta]));
  const negative = b.CreateICmpNE(b.CreateAnd(b.CreateAdd(q, u32(1)), u32(2)), u32(0)); // q mod 4 is 1 or 2
  return b.CreateFMul(radius, b.CreateSelect(negative, b.CreateFNeg(cs), cs));
}
