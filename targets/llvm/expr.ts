// Expressions → LLVM values. Register representation per kernel type: f32 → float, i32 → i64
// (index math in i64 keeps GEP offsets free of sign-extensions, so SCEV sees affine addresses and
// the vectorizer proves contiguity; stores truncate, which equals int32 wrapping for add/sub/mul),
// bool → i1 (stored as i32 0/1).
import llvm from 'llvm-bindings';
import type { BinaryFn, BufferDecl, Expr, KType, UnaryFn } from '../../compiler/ir/kernel.js';
import { emitRandom } from './philox.js';

export type Binding = { k: 'val'; v: llvm.Value } | { k: 'acc'; ptr: llvm.Value; fn: 'add' | 'max'; type: KType };
export type Env = Map<string, Binding>;

export class ExprEmitter {
  readonly f32: llvm.Type;
  readonly i64: llvm.IntegerType;
  readonly i32: llvm.IntegerType;
  readonly i1: llvm.IntegerType;
  b!: llvm.IRBuilder;
  args: llvm.Value[] = [];
  private intrinsics = new Map<number, llvm.Function>();

  constructor(
    readonly ctx: llvm.LLVMContext,
    readonly mod: llvm.Module,
    readonly bufs: BufferDecl[],
  ) {
    this.f32 = llvm.Type.getFloatTy(ctx);
    this.i64 = llvm.Type.getInt64Ty(ctx);
    this.i32 = llvm.Type.getInt32Ty(ctx);
    this.i1 = llvm.Type.getInt1Ty(ctx);
  }

  ty(t: KType): llvm.Type {
    return t === 'f32' ? this.f32 : t === 'i32' ? this.i64 : this.i1;
  }
  i(v: number): llvm.Value {
    return llvm.ConstantInt.get(this.i64, v, true);
  }
  constant(t: KType, v: number): llvm.Value {
    if (t === 'f32') return llvm.ConstantFP.get(this.f32, v);
    if (t === 'i32') return llvm.ConstantInt.get(this.i64, Math.trunc(v), true);
    return llvm.ConstantInt.get(this.i1, v ? 1 : 0, false);
  }

  private intrinsic(id: number, t: llvm.Type[]): llvm.Function {
    const key = id * 8 + (t.length > 1 ? 1 : 0);
    let f = this.intrinsics.get(key);
    if (!f) {
      f = llvm.Intrinsic.getDeclaration(this.mod, id, t);
      this.intrinsics.set(key, f);
    }
    return f;
  }
  call(id: number, args: llvm.Value[], t: llvm.Type[] = [this.f32]): llvm.Value {
    return this.b.CreateCall(this.intrinsic(id, t), args);
  }

  /** pointer to element `index` (i64) of buffer `buf` */
  addr(buf: number, index: llvm.Value): llvm.Value {
    const d = this.bufs[buf];
    if (!d) throw new Error(`kernel refers to buffer ${buf}, but the program declares ${this.bufs.length}`);
    return this.b.CreateInBoundsGEP(d.dtype === 'f32' ? this.f32 : this.i32, this.args[buf], index);
  }

  load(buf: number, index: llvm.Value, t: KType): llvm.Value {
    const d = this.bufs[buf];
    const p = this.addr(buf, index);
    if (d.dtype === 'f32') {
      if (t !== 'f32') throw new Error(`load of ${t} from float32 buffer ${buf} (${d.name})`);
      return this.b.CreateLoad(this.f32, p);
    }
    const raw = this.b.CreateLoad(this.i32, p);
    if (t === 'f32') throw new Error(`load of f32 from int32 buffer ${buf} (${d.name})`);
    return t === 'bool'
      ? this.b.CreateICmpNE(raw, llvm.ConstantInt.get(this.i32, 0, false))
      : this.b.CreateSExt(raw, this.i64);
  }

  store(buf: number, index: llvm.Value, v: llvm.Value, t: KType): void {
    const d = this.bufs[buf];
    const p = this.addr(buf, index);
    if (d.dtype === 'f32') {
      if (t !== 'f32') throw new Error(`store of ${t} into float32 buffer ${buf} (${d.name})`);
      this.b.CreateStore(v, p);
    } else {
      if (t === 'f32') throw new Error(`store of f32 into int32 buffer ${buf} (${d.name})`);
      this.b.CreateStore(t === 'bool' ? this.b.CreateZExt(v, this.i32) : this.b.CreateTrunc(v, this.i32), p);
    }
  }

  /**
   * max that propagates NaN like torch.maximum and keeps the first operand on a tie (-0, +0) like std::max:
   * b where a < b or b is NaN (an unordered compare), a where a is NaN
   */
  fmax(a: llvm.Value, b: llvm.Value, min = false): llvm.Value {
    const pickB = min ? this.b.CreateFCmpUGT(a, b) : this.b.CreateFCmpULT(a, b);
    const m = this.b.CreateSelect(pickB, b, a);
    return this.b.CreateSelect(this.b.CreateFCmpUNE(a, a), a, m);
  }

  combine(fn: 'add' | 'max', t: KType, a: llvm.Value, b: llvm.Value): llvm.Value {
    if (t === 'f32') return fn === 'add' ? this.b.CreateFAdd(a, b) : this.fmax(a, b);
    if (t === 'bool') return this.b.CreateOr(a, b);
    return fn === 'add' ? this.b.CreateAdd(a, b) : this.b.CreateSelect(this.b.CreateICmpSGT(a, b), a, b);
  }

  identity(fn: 'add' | 'max', t: KType): llvm.Value {
    if (fn === 'add') return this.constant(t, 0);
    return this.constant(t, t === 'f32' ? -Infinity : t === 'i32' ? -2147483648 : 0);
  }

  expr(e: Expr, env: Env): llvm.Value {
    const b = this.b;
    switch (e.e) {
      case 'const':
        return this.constant(e.type, e.value);
      case 'var': {
        const x = env.get(e.name);
        if (!x) throw new Error(`unbound variable ${e.name}`);
        return x.k === 'val' ? x.v : b.CreateLoad(this.ty(x.type), x.ptr);
      }
      case 'load':
        return this.load(e.buf, this.expr(e.index, env), e.type);
      case 'scalar': {
        const s = this.bufs.findIndex((d) => d.kind === 'scalars');
        if (s < 0) throw new Error('kernel reads a host scalar but the program has no scalars buffer');
        return this.load(s, this.i(e.slot), 'f32');
      }
      case 'unary':
        return this.unary(e.fn, e.a.type, this.expr(e.a, env));
      case 'binary':
        return this.binary(e.fn, e.a.type, this.expr(e.a, env), this.expr(e.b, env));
      case 'where':
        return b.CreateSelect(this.expr(e.cond, env), this.expr(e.a, env), this.expr(e.b, env));
      case 'cast':
        return this.cast(this.expr(e.a, env), e.a.type, e.type);
      // one rounding, as PyTorch's CPU add-with-alpha; the loop vectorizer widens it to vfmadd
      case 'fma':
        return this.call(llvm.Intrinsic.fma, [this.expr(e.a, env), this.expr(e.b, env), this.expr(e.c, env)]);
      case 'random':
        return emitRandom(
          this,
          e,
          this.expr(e.index, env),
          e.pieces.map((p) => this.expr(p, env)),
        );
    }
  }

  private unary(fn: UnaryFn, t: KType, a: llvm.Value): llvm.Value {
    const r = UNARY[fn];
    if (t === 'f32') return r.f32(this.b, a, this);
    // integer operands of a float function go through f32
    if (t === 'i32') {
      return r.i32 ? r.i32(this.b, a, this) : this.cast(r.f32(this.b, this.cast(a, t, 'f32'), this), 'f32', t);
    }
    if (r.bool) return r.bool(this.b, a, this);
    throw new Error(`unary ${fn} on ${t} is not supported by the LLVM target`);
  }

  private binary(fn: BinaryFn, t: KType, x: llvm.Value, y: llvm.Value): llvm.Value {
    const r = t === 'f32' ? BINARY[fn].f32 : BINARY[fn].int;
    if (!r) throw new Error(`binary ${fn} on ${t} is not supported by the LLVM target`);
    return r(this.b, x, y, this, t);
  }

  /** y, or 1 where y is 0 (division by zero is undefined behaviour in LLVM and would trap) */
  nonzero(y: llvm.Value): llvm.Value {
    if (y instanceof llvm.ConstantInt) return y;
    return this.b.CreateSelect(this.b.CreateICmpEQ(y, this.i(0)), this.i(1), y);
  }

  cast(a: llvm.Value, from: KType, to: KType): llvm.Value {
    const b = this.b;
    if (from === to) return a;
    if (to === 'f32') return from === 'i32' ? b.CreateSIToFP(a, this.f32) : b.CreateUIToFP(a, this.f32);
    if (to === 'bool') {
      return from === 'f32' ? b.CreateFCmpUNE(a, this.constant('f32', 0)) : b.CreateICmpNE(a, this.i(0));
    }
    if (from === 'bool') return b.CreateZExt(a, this.i64);
    // float → int truncates toward zero; saturating so NaN/out-of-range give defined results
    const t = b.CreateCall(this.intrinsic(llvm.Intrinsic.fptosi_sat, [this.i32, this.f32]), [a]);
    return b.CreateSExt(t, this.i64);
  }
}

type Unary = (b: llvm.IRBuilder, a: llvm.Value, x: ExprEmitter) => llvm.Value;
type Binary = (b: llvm.IRBuilder, a: llvm.Value, c: llvm.Value, x: ExprEmitter, t: KType) => llvm.Value;

/** each kernel function per operand type (i32 absent: through f32; bool absent: unsupported) */
const UNARY: Record<UnaryFn, { f32: Unary; i32?: Unary; bool?: Unary }> = {
  neg: { f32: (b, a) => b.CreateFNeg(a), i32: (b, a) => b.CreateNeg(a) },
  exp: { f32: (_b, a, x) => x.call(llvm.Intrinsic.exp, [a]) },
  log: { f32: (_b, a, x) => x.call(llvm.Intrinsic.log, [a]) },
  sqrt: { f32: (_b, a, x) => x.call(llvm.Intrinsic.sqrt, [a]) },
  abs: {
    f32: (_b, a, x) => x.call(llvm.Intrinsic.fabs, [a]),
    i32: (b, a, x) => b.CreateSelect(b.CreateICmpSLT(a, x.i(0)), b.CreateNeg(a), a),
  },
  recip: { f32: (b, a, x) => b.CreateFDiv(x.constant('f32', 1), a) },
  not: {
    f32: (b, a, x) => b.CreateFCmpOEQ(a, x.constant('f32', 0)),
    i32: (b, a, x) => b.CreateICmpEQ(a, x.i(0)),
    bool: (b, a, x) => b.CreateXor(a, x.constant('bool', 1)),
  },
};

/** each kernel function on f32 and on integer (i32 or bool) operands; absent: unsupported */
const BINARY: Record<BinaryFn, { f32?: Binary; int?: Binary }> = {
  add: { f32: (b, x, y) => b.CreateFAdd(x, y), int: (b, x, y) => b.CreateAdd(x, y) },
  sub: { f32: (b, x, y) => b.CreateFSub(x, y), int: (b, x, y) => b.CreateSub(x, y) },
  mul: { f32: (b, x, y) => b.CreateFMul(x, y), int: (b, x, y) => b.CreateMul(x, y) },
  div: { f32: (b, x, y) => b.CreateFDiv(x, y), int: (b, x, y, e) => b.CreateSDiv(x, e.nonzero(y)) },
  max: { f32: (_b, x, y, e) => e.fmax(x, y), int: (b, x, y) => b.CreateSelect(b.CreateICmpSGT(x, y), x, y) },
  min: { f32: (_b, x, y, e) => e.fmax(x, y, true), int: (b, x, y) => b.CreateSelect(b.CreateICmpSLT(x, y), x, y) },
  pow: {
    f32: (_b, x, y, e) => e.call(llvm.Intrinsic.pow, [x, y]),
    int: (b, x, y, e, t) => e.cast(BINARY.pow.f32!(b, e.cast(x, t, 'f32'), e.cast(y, t, 'f32'), e, 'f32'), 'f32', t),
  },
  lt: { f32: (b, x, y) => b.CreateFCmpOLT(x, y), int: (b, x, y) => b.CreateICmpSLT(x, y) },
  le: { f32: (b, x, y) => b.CreateFCmpOLE(x, y), int: (b, x, y) => b.CreateICmpSLE(x, y) },
  gt: { f32: (b, x, y) => b.CreateFCmpOGT(x, y), int: (b, x, y) => b.CreateICmpSGT(x, y) },
  ge: { f32: (b, x, y) => b.CreateFCmpOGE(x, y), int: (b, x, y) => b.CreateICmpSGE(x, y) },
  eq: { f32: (b, x, y) => b.CreateFCmpOEQ(x, y), int: (b, x, y) => b.CreateICmpEQ(x, y) },
  ne: { f32: (b, x, y) => b.CreateFCmpUNE(x, y), int: (b, x, y) => b.CreateICmpNE(x, y) },
  and: { int: (b, x, y) => b.CreateAnd(x, y) },
  or: { int: (b, x, y) => b.CreateOr(x, y) },
  // index math on non-negative values: unsigned division is cheapest
  idiv: { int: (b, x, y, e) => b.CreateUDiv(x, e.nonzero(y)) },
  mod: { int: (b, x, y, e) => b.CreateURem(x, e.nonzero(y)) },
};
