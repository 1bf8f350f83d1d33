// Tensor's elementwise arithmetic, comparisons and logic: operands are lifted to tensors, promoted
// to a common dtype and broadcast with explicit `expand` nodes (binary nodes take equal shapes).
// A method group: tensor.ts loads it, and `addMethods` installs it on the Tensor class.
import type { BinaryOp, DType, UnaryOp } from './ir/graph.js';
import { makeNode } from './ir/graph.js';
import { OPS } from './ir/ops.js';
import { KilnError, fmtShape } from './errors.js';
import { HostScalar, type ScalarLike } from './host-scalar.js';
import { currentTrace } from './trace-context.js';
import { Tensor, addMethods, type TensorLike } from './tensor-class.js';
import { evalConst, full, where } from './tensor-create.js';
import { broadcastShapes, promote } from './tensor-shape.js';

/** `x` as a tensor operand of `self`: a number takes self's dtype where it can, a host scalar is read */
function lift(self: Tensor, x: TensorLike): Tensor {
  if (x instanceof Tensor) return x;
  if (x instanceof HostScalar) {
    const t = currentTrace();
    if (!t) return full([], evalConst(x), self.dtype === 'bool' ? 'float32' : self.dtype);
    const n = t.scalarNode(x);
    return new Tensor(n);
  }
  const dtype: DType =
    self.dtype === 'float32' || !Number.isInteger(x) ? 'float32' : self.dtype === 'bool' ? 'int32' : self.dtype;
  return new Tensor(makeNode('const', [], [], dtype, { value: dtype === 'float32' ? Math.fround(x) : x }));
}

function unary(self: Tensor, op: UnaryOp): Tensor {
  if (op === 'neg' && self.dtype === 'bool') {
    throw new KilnError(
      `neg: Negation, the \`-\` operator, on a bool tensor is not supported (bool${fmtShape(self.shape)}). ` +
        'If you are trying to invert a mask, use logicalNot() instead.',
    );
  }
  const x = self.dtype !== 'float32' && OPS[op].dtype === 'float' ? self.float() : self;
  return Tensor.derive(op, [x], x.shape, x.dtype);
}

function binary(self: Tensor, op: BinaryOp, other: TensorLike): Tensor {
  const o = lift(self, other);
  let a: Tensor = self,
    b = o;
  const common = promote(a.dtype, b.dtype);
  if (op === 'sub' && common === 'bool') {
    throw new KilnError(
      'sub: Subtraction, the `-` operator, with two bool tensors is not supported ' +
        `(shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}). Use logicalXor() or logicalNot() instead.`,
    );
  }
  const rule = OPS[op].dtype;
  const t = rule === 'float' && common !== 'float32' ? 'float32' : common;
  if (a.dtype !== t) a = a.to(t);
  if (b.dtype !== t) b = b.to(t);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return Tensor.derive(op, [a.expand(shape), b.expand(shape)], shape, rule === 'bool' ? 'bool' : t);
}

/** fma(a, b, c) = a*b + c with one rounding, in float32, broadcasting all three */
function fused(a: Tensor, b: Tensor, c: Tensor): Tensor {
  const [x, y, z] = [a, b, c].map((t) => t.to('float32'));
  const shape = broadcastShapes('add', broadcastShapes('add', z.shape, x.shape), y.shape);
  return Tensor.derive('fma', [x.expand(shape), y.expand(shape), z.expand(shape)], shape, 'float32');
}

const arithmetic = {
  neg(this: Tensor): Tensor {
    return unary(this, 'neg');
  },
  exp(this: Tensor): Tensor {
    return unary(this, 'exp');
  },
  log(this: Tensor): Tensor {
    return unary(this, 'log');
  },
  sqrt(this: Tensor): Tensor {
    return unary(this, 'sqrt');
  },
  abs(this: Tensor): Tensor {
    return unary(this, 'abs');
  },
  reciprocal(this: Tensor): Tensor {
    return unary(this, 'recip');
  },
  erf(this: Tensor): Tensor {
    return unary(this, 'erf');
  },
  /** where(x <= 0, 0, x): NaN stays NaN (as PyTorch's), and the gradient at 0 is 0 (threshold_backward) */
  relu(this: Tensor): Tensor {
    return where(this.le(0), 0, this);
  },
  /** PyTorch's `x.where(condition, y)`: where(condition, x, y) */
  where(this: Tensor, condition: Tensor, other: TensorLike): Tensor {
    return where(condition, this, other);
  },
  square(this: Tensor): Tensor {
    return this.mul(this);
  },
  sign(this: Tensor): Tensor {
    return where(this.gt(0), 1, where(this.lt(0), -1, 0)).to(this.dtype);
  },

  /**
   * `self + alpha * other`. PyTorch's CPU kernel is a fused multiply-add, fma(other, alpha, self)
   * (ATen ufunc::add: vec::fmadd), one rounding; sub is add with -alpha. Integer dtypes multiply.
   */
  add(this: Tensor, o: TensorLike, alpha?: ScalarLike): Tensor {
    if (alpha === undefined) return binary(this, 'add', o);
    const t = lift(this, o);
    return promote(this.dtype, t.dtype) === 'float32'
      ? fused(t, lift(this, alpha), this)
      : binary(this, 'add', t.mul(alpha));
  },
  sub(this: Tensor, o: TensorLike, alpha?: ScalarLike): Tensor {
    if (alpha === undefined) return binary(this, 'sub', o);
    const t = lift(this, o);
    if (promote(this.dtype, t.dtype) !== 'float32') return binary(this, 'sub', t.mul(alpha));
    return fused(t, lift(this, alpha instanceof HostScalar ? alpha.neg() : -alpha), this);
  },
  mul(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'mul', o);
  },
  div(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'div', o);
  },
  /** `x ** exponent` */
  pow(this: Tensor, exponent: TensorLike): Tensor {
    return binary(this, 'pow', exponent);
  },
  maximum(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'max', o);
  },
  minimum(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'min', o);
  },
  lt(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'lt', o);
  },
  le(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'le', o);
  },
  gt(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'gt', o);
  },
  ge(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'ge', o);
  },
  eq(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'eq', o);
  },
  ne(this: Tensor, o: TensorLike): Tensor {
    return binary(this, 'ne', o);
  },
  logicalAnd(this: Tensor, o: Tensor): Tensor {
    return binary(this.to('bool'), 'and', o.to('bool'));
  },
  logicalOr(this: Tensor, o: Tensor): Tensor {
    return binary(this.to('bool'), 'or', o.to('bool'));
  },
  logicalNot(this: Tensor): Tensor {
    return this.eq(0);
  },
  // addcmul/addcdiv/lerp as PyTorch 1.13's CPU kernels compute them (AVX2 build, measured against
  // torch bit for bit): addcmul's `self + value * t1 * t2` is fma(value * t1, t2, self) (the
  // compiler contracts the last multiply into the add); addcdiv's `self + value * t1 / t2` has no
  // multiply to fuse: three roundings.
  addcmul(this: Tensor, t1: TensorLike, t2: TensorLike, value: ScalarLike = 1): Tensor {
    const vt1 = lift(this, value).mul(t1),
      b = lift(this, t2);
    return promote(promote(this.dtype, vt1.dtype), b.dtype) === 'float32' ? fused(vt1, b, this) : this.add(vt1.mul(b));
  },
  addcdiv(this: Tensor, t1: TensorLike, t2: TensorLike, value: ScalarLike = 1): Tensor {
    return this.add(lift(this, value).mul(t1).div(t2));
  },
  /**
   * PyTorch's lerp: weight < 0.5 ? self + weight * (end - self) : end - (end - self) * (1 - weight),
   * each one fma (float32 weight and 1 - weight); a host-scalar weight picks per step with where.
   */
  lerp(this: Tensor, end: TensorLike, weight: ScalarLike): Tensor {
    const x: Tensor = this.dtype === 'float32' ? this : this.float();
    const e = lift(x, end).float(),
      d = e.sub(x);
    if (typeof weight === 'number') {
      const w = Math.fround(weight);
      return w < 0.5 ? fused(lift(x, w), d, x) : fused(d.neg(), lift(x, Math.fround(1 - w)), e);
    }
    const w = lift(x, weight);
    return where(w.lt(0.5), fused(w, d, x), fused(d.neg(), lift(x, 1).sub(w), e));
  },
};

type Arithmetic = typeof arithmetic;
declare module './tensor-class.js' {
  interface Tensor extends Arithmetic {}
}
addMethods(arithmetic);
