// Host scalars: float64 values computed on the CPU each step (Adam's bias corrections, step
// sizes), as PyTorch computes them in Python floats. Inside a trace they are symbolic
// expressions over host variables (step counters); a tensor op that uses one turns it into a
// float32 `scalar` node whose value the host program emits before the kernels run.
import type { HostExpr } from '../runtime/host.js';

export type ScalarLike = number | HostScalar;

export class HostScalar {
  constructor(readonly expr: HostExpr) {}

  static of(x: ScalarLike): HostScalar {
    return x instanceof HostScalar ? x : new HostScalar({ k: 'num', v: x });
  }
  /** the value when it does not depend on any host variable */
  get constant(): number | undefined {
    return this.expr.k === 'num' ? this.expr.v : undefined;
  }

  private bin(k: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min', o: ScalarLike): HostScalar {
    const b = HostScalar.of(o);
    const x = this.constant,
      y = b.constant;
    if (x !== undefined && y !== undefined) {
      const v = {
        add: x + y,
        sub: x - y,
        mul: x * y,
        div: x / y,
        pow: Math.pow(x, y),
        max: Math.max(x, y),
        min: Math.min(x, y),
      }[k];
      return new HostScalar({ k: 'num', v });
    }
    return new HostScalar({ k, a: this.expr, b: b.expr });
  }
  add(o: ScalarLike) {
    return this.bin('add', o);
  }
  sub(o: ScalarLike) {
    return this.bin('sub', o);
  }
  mul(o: ScalarLike) {
    return this.bin('mul', o);
  }
  div(o: ScalarLike) {
    return this.bin('div', o);
  }
  pow(o: ScalarLike) {
    return this.bin('pow', o);
  }
  max(o: ScalarLike) {
    return this.bin('max', o);
  }
  min(o: ScalarLike) {
    return this.bin('min', o);
  }
  neg() {
    const c = this.constant;
    return new HostScalar(c !== undefined ? { k: 'num', v: -c } : { k: 'neg', a: this.expr });
  }
  sqrt() {
    const c = this.constant;
    return new HostScalar(c !== undefined ? { k: 'num', v: Math.sqrt(c) } : { k: 'sqrt', a: this.expr });
  }
  floor() {
    const c = this.constant;
    return new HostScalar(c !== undefined ? { k: 'num', v: Math.floor(c) } : { k: 'floor', a: this.expr });
  }
  /** `base ** this` */
  rpow(base: number) {
    return HostScalar.of(base).pow(this);
  }
}

/** Python-style scalar-first subtraction: `rsub(1, x)` is `1 - x`. */
export const rsub = (a: ScalarLike, b: ScalarLike) => HostScalar.of(a).sub(b);
