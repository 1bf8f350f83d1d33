// Expressions → LLVM values. Register representation per kernel type: f32 → float, i32 → i64
// (index math in i64 keeps GEP offsets free of sign-extensions, so SCEV sees affine addresses and
// the vectorizer proves contiguity; stores truncate, which equals int32 wrapping for add/sub/mul),
// bool → i1 (stored as i32 0/1).
import llvm from 'llvm-bindings';
import type { BufferDecl, Expr, KType } from '../../compiler/ir/kernel.js';
import { emitRandom } from './philox.js';

export type Binding =
  | { k: 'val'; v: llvm.Value }
  | { k: 'acc'; ptr: llvm.Value; fn: 'add' | 'max'; type: KType };
export type Env = Map<string, Binding>;

export class ExprEmitter {
  readonly f32: llvm.Type;
  readonly i64: llvm.IntegerType;
  readonly i32: llvm.IntegerType;
  readonly i1: llvm.IntegerType;
  b!: llvm.IRBuilder;
  args: llvm.Value[] = [];
  private intrinsics = new Map<number, llvm.Function>();

  constructor(readonly ctx: llvm.LLVMContext, readonly mod: llvm.Module, readonly bufs: BufferDecl[]) {
    this.f32 = llvm.Type.getFloatTy(ctx);
    this.i64 = llvm.Type.getInt64Ty(ctx);
    this.i32 = llvm.Type.getInt32Ty(ctx);
    this.i1 = llvm.Type.getInt1Ty(ctx);
  }

  ty(t: KType): llvm.Type { return t === 'f32' ? this.f32 : t === 'i32' ? this.i64 : this.i1; }
  i(v: number): llvm.Value { return llvm.ConstantInt.get(this.i64, v, true); }
  constant(t: KType, v: number): llvm.Value {
    if (t === 'f32') return llvm.ConstantFP.get(this.f32, v);
    if (t === 'i32') return llvm.ConstantInt.get(this.i64, Math.trunc(v), true);
    return llvm.ConstantInt.get(this.i1, v ? 1 : 0, false);
  }

  private intrinsic(id: number, t: llvm.Type[]): llvm.Function {
    const key = id * 8 + (t.length > 1 ? 1 : 0);
    let f = this.intrinsics.get(key);
    if (!f) { f = llvm.Intrinsic.getDeclaration(this.mod, id, t); this.intrinsics.set(key, f); }
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

  /** max that propagates NaN like torch.maximum */
  fmax(a: llvm.Value, b: llvm.Value, min = false): llvm.Value {
    const pick = min ? this.b.CreateFCmpOLT(a, b) : this.b.CreateFCmpOGT(a, b);
    const m = this.b.CreateSelect(pick, a, b);
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
      case 'const': return this.constant(e.type, e.value);
      case 'var': {
        const x = env.get(e.name);
        if (!x) throw new Error(`unbound variable ${e.name}`);
        return x.k === 'val' ? x.v : b.CreateLoad(this.ty(x.type), x.ptr);
      }
      case 'load': return this.load(e.buf, this.expr(e.index, env), e.type);
      case 'scalar': {
        const s = this.bufs.findIndex((d) => d.kind === 'scalars');
        if (s < 0) throw new Error('kernel reads a host scalar but the program has no scalars buffer');
        return this.load(s, this.i(e.slot), 'f32');
      }
      case 'unary': return this.unary(e.fn, e.a.type, this.expr(e.a, env));
      case 'binary': return this.binary(e.fn, e.a.type, this.expr(e.a, env), this.expr(e.b, env));
      case 'where': return b.CreateSelect(this.expr(e.cond, env), this.expr(e.a, env), this.expr(e.b, env));
      case 'cast': return this.cast(this.expr(e.a, env), e.a.type, e.type);
      // one rounding, as PyTorch's CPU add-with-alpha; the loop vectorizer widens it to vfmadd
      case 'fma': return this.call(llvm.Intrinsic.fma, [this.expr(e.a, env), this.expr(e.b, env), this.expr(e.c, env)]);
      case 'random': return emitRandom(this, e, this.expr(e.index, env), e.pieces.map((p) => this.expr(p, env)));
    }
  }

  private unary(fn: string, t: KType, a: llvm.Value): llvm.Value {
    const b = this.b, I = llvm.Intrinsic;
    if (t === 'f32') {
      switch (fn) {
        case 'neg': return b.CreateFNeg(a);
        case 'exp': return this.call(I.exp, [a]);
        case 'log': return this.call(I.log, [a]);
        case 'sqrt': return this.call(I.sqrt, [a]);
        case 'abs': return this.call(I.fabs, [a]);
        case 'recip': return b.CreateFDiv(this.constant('f32', 1), a);
        case 'not': return b.CreateFCmpOEQ(a, this.constant('f32', 0));
      }
    } else if (t === 'i32') {
      switch (fn) {
        case 'neg': return b.CreateNeg(a);
        case 'abs': return b.CreateSelect(b.CreateICmpSLT(a, this.i(0)), b.CreateNeg(a), a);
        case 'not': return b.CreateICmpEQ(a, this.i(0));
        default: return this.cast(this.unary(fn, 'f32', this.cast(a, 'i32', 'f32')), 'f32', 'i32');
      }
    } else if (fn === 'not') return b.CreateXor(a, this.constant('bool', 1));
    throw new Error(`unary ${fn} on ${t} is not supported by the LLVM target`);
  }

  private binary(fn: string, t: KType, x: llvm.Value, y: llvm.Value): llvm.Value {
    const b = this.b;
    if (t === 'f32') {
      switch (fn) {
        case 'add': return b.CreateFAdd(x, y);
        case 'sub': return b.CreateFSub(x, y);
        case 'mul': return b.CreateFMul(x, y);
        case 'div': return b.CreateFDiv(x, y);
        case 'max': return this.fmax(x, y);
        case 'min': return this.fmax(x, y, true);
        case 'pow': return this.call(llvm.Intrinsic.pow, [x, y]);
        case 'lt': return b.CreateFCmpOLT(x, y);
        case 'le': return b.CreateFCmpOLE(x, y);
        case 'gt': return b.CreateFCmpOGT(x, y);
        case 'ge': return b.CreateFCmpOGE(x, y);
        case 'eq': return b.CreateFCmpOEQ(x, y);
        case 'ne': return b.CreateFCmpUNE(x, y);
      }
    } else {
      switch (fn) {
        case 'add': return b.CreateAdd(x, y);
        case 'sub': return b.CreateSub(x, y);
        case 'mul': return b.CreateMul(x, y);
        // index math on non-negative values: unsigned division is cheapest; a zero divisor is
        // replaced by 1 (division by zero is undefined behaviour in LLVM and would trap)
        case 'idiv': return b.CreateUDiv(x, this.nonzero(y));
        case 'mod': return b.CreateURem(x, this.nonzero(y));
        case 'div': return b.CreateSDiv(x, this.nonzero(y));
        case 'max': return b.CreateSelect(b.CreateICmpSGT(x, y), x, y);
        case 'min': return b.CreateSelect(b.CreateICmpSLT(x, y), x, y);
        case 'lt': return b.CreateICmpSLT(x, y);
        case 'le': return b.CreateICmpSLE(x, y);
        case 'gt': return b.CreateICmpSGT(x, y);
        case 'ge': return b.CreateICmpSGE(x, y);
        case 'eq': return b.CreateICmpEQ(x, y);
        case 'ne': return b.CreateICmpNE(x, y);
        case 'and': return b.CreateAnd(x, y);
        case 'or': return b.CreateOr(x, y);
        case 'pow':
          return this.cast(this.binary('pow', 'f32', this.cast(x, t, 'f32'), this.cast(y, t, 'f32')), 'f32', t);
      }
    }
    throw new Error(`binary ${fn} on ${t} is not supported by the LLVM target`);
  }

  private nonzero(y: llvm.Value): llvm.Value {
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
