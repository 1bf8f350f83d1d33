// The kernel-IR interpreter: runs a KernelProgram over typed arrays. It is the oracle for the
// LLVM and WGSL renderers, so it is deliberately plain: a graph op's kernel function computes the
// op catalog's scalar semantics (compiler/ir/ops.ts: every f32 result rounded to float32, as on a
// float32 device; fma rounds once), i32 ops wrap to 32 bits, bools are 0/1.
// Grid points run serially in row-major order; a correct kernel must not depend on that order.
// Cascade sums are expanded as every target expands them (compiler/kernel/cascade.ts).
// Each kernel is first turned into closures over a slot array (one slot per variable name), which
// keeps the semantics in one small switch while running fast enough for the golden tests.
import type { BinaryFn, Expr, Kernel, KernelProgram, KType, Stmt, UnaryFn } from '../../compiler/ir/kernel.js';
import { OPS, scalarFn, type BinaryOp, type UnaryOp } from '../../compiler/ir/ops.js';
import { randomAt } from './philox.js';
import { cascadeSums } from '../../compiler/kernel/cascade.js';
import { guardHolds, numel } from '../../runtime/manifest.js';
import { CollectiveSchedule } from '../../runtime/distributed/collectives.js';

export type Memory = Float32Array | Int32Array;

type Ev = (v: Float64Array) => number;
type Ex = (v: Float64Array) => void;

const f = Math.fround;
const i32 = (x: number) => x | 0;

/** rounds a value to what a `type` register holds */
export function toType(type: KType, x: number): number {
  return type === 'f32' ? f(x) : type === 'i32' ? i32(x) : x ? 1 : 0;
}

type BinaryImpl = (type: KType, argType: KType) => (a: number, b: number) => number;
type UnaryImpl = (type: KType) => (a: number) => number;
/** a graph op's kernel function: the op catalog's scalar semantics for the operand type */
const op2 =
  (op: BinaryOp): BinaryImpl =>
  (_type, argType) =>
    scalarFn(op, argType !== 'f32');
const op1 =
  (op: UnaryOp): UnaryImpl =>
  (type) =>
    scalarFn(op, type !== 'f32');

const BINARY: Record<BinaryFn, BinaryImpl> = {
  add: op2('add'),
  sub: op2('sub'),
  mul: op2('mul'),
  div: op2('div'),
  max: op2('max'),
  min: op2('min'),
  pow: op2('pow'),
  lt: op2('lt'),
  le: op2('le'),
  gt: op2('gt'),
  ge: op2('ge'),
  eq: op2('eq'),
  ne: op2('ne'),
  // on i32 (index math) and/or are bitwise
  and: (type, argType) => (type === 'bool' ? op2('and')(type, argType) : (a, b) => a & b),
  or: (type, argType) => (type === 'bool' ? op2('or')(type, argType) : (a, b) => a | b),
  idiv: () => (a, b) => Math.floor(a / b) | 0,
  mod: () => (a, b) => (a - Math.floor(a / b) * b) | 0,
};

const UNARY: Record<UnaryFn, UnaryImpl> = {
  neg: op1('neg'),
  exp: op1('exp'),
  log: op1('log'),
  sqrt: op1('sqrt'),
  abs: op1('abs'),
  recip: op1('recip'),
  not: () => (a) => +(a === 0),
};

class Compiler {
  readonly slots = new Map<string, number>();
  constructor(
    private mem: readonly Memory[],
    private scalars: Float32Array,
  ) {}

  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = this.slots.size;
      this.slots.set(name, s);
    }
    return s;
  }

  expr(e: Expr): Ev {
    switch (e.e) {
      case 'const': {
        const c = toType(e.type, e.value);
        return () => c;
      }
      case 'var': {
        const s = this.slot(e.name);
        return (v) => v[s];
      }
      case 'scalar': {
        const sc = this.scalars,
          k = e.slot;
        return () => sc[k];
      }
      case 'load': {
        const m = this.mem[e.buf],
          ix = this.expr(e.index),
          t = e.type;
        if (!m) throw new Error(`kernel interpreter: no memory for buffer ${e.buf}`);
        return (v) => {
          const i = ix(v);
          if (!(i >= 0 && i < m.length)) {
            throw new RangeError(`load buf${e.buf}[${i}] out of bounds (length ${m.length})`);
          }
          return t === 'bool' ? +(m[i] !== 0) : m[i];
        };
      }
      case 'unary': {
        const a = this.expr(e.a),
          g = UNARY[e.fn](e.type);
        return (v) => g(a(v));
      }
      case 'binary': {
        const a = this.expr(e.a),
          b = this.expr(e.b),
          g = BINARY[e.fn](e.type, e.a.type);
        return (v) => g(a(v), b(v));
      }
      case 'where': {
        const c = this.expr(e.cond),
          a = this.expr(e.a),
          b = this.expr(e.b);
        return (v) => (c(v) ? a(v) : b(v));
      }
      case 'fma': {
        const a = this.expr(e.a),
          b = this.expr(e.b),
          c = this.expr(e.c),
          fma = OPS.fma.scalar.f32;
        return (v) => fma(a(v), b(v), c(v));
      }
      case 'random': {
        const ix = this.expr(e.index),
          ps = e.pieces.map((p) => this.expr(p)),
          { dist, draw } = e;
        const pieces = new Array<number>(ps.length);
        return (v) => {
          for (let k = 0; k < ps.length; k++) pieces[k] = ps[k](v);
          return randomAt(dist, ix(v), draw, pieces);
        };
      }
      case 'cast': {
        const a = this.expr(e.a),
          t = e.type;
        if (t === 'i32') return (v) => Math.trunc(a(v)) | 0;
        return (v) => toType(t, a(v));
      }
    }
  }

  stmts(body: readonly Stmt[]): Ex {
    const parts = body.map((s) => this.stmt(s));
    return (v) => {
      for (const p of parts) p(v);
    };
  }

  private accType = new Map<string, { type: KType; fn: 'add' | 'max' }>();

  stmt(s: Stmt): Ex {
    switch (s.s) {
      case 'let': {
        const k = this.slot(s.name),
          val = this.expr(s.value);
        return (v) => {
          v[k] = val(v);
        };
      }
      case 'store': {
        const m = this.mem[s.buf],
          ix = this.expr(s.index),
          val = this.expr(s.value);
        if (!m) throw new Error(`kernel interpreter: no memory for buffer ${s.buf}`);
        return (v) => {
          const i = ix(v);
          if (!(i >= 0 && i < m.length)) {
            throw new RangeError(`store buf${s.buf}[${i}] out of bounds (length ${m.length})`);
          }
          m[i] = val(v);
        };
      }
      case 'loop': {
        const k = this.slot(s.var),
          n = s.extent,
          body = this.stmts(s.body);
        return (v) => {
          for (let i = 0; i < n; i++) {
            v[k] = i;
            body(v);
          }
        };
      }
      case 'acc': {
        const k = this.slot(s.name),
          init = toType(s.type, s.init);
        this.accType.set(s.name, { type: s.type, fn: s.fn });
        return (v) => {
          v[k] = init;
        };
      }
      case 'accum': {
        const k = this.slot(s.name),
          val = this.expr(s.value),
          t = this.accType.get(s.name);
        if (!t) throw new Error(`kernel interpreter: accum into undeclared accumulator ${s.name}`);
        const g = BINARY[t.fn](t.type, t.type);
        return (v) => {
          v[k] = g(v[k], val(v));
        };
      }
    }
  }
}

/** Runs one kernel: every grid point, row-major. */
export function runKernel(k: Kernel, mem: readonly Memory[], scalars: Float32Array = new Float32Array(0)): void {
  const c = new Compiler(mem, scalars);
  const gslots = k.grid.map((_, i) => c.slot(`g${i}`));
  const body = c.stmts(cascadeSums(k).body);
  const v = new Float64Array(Math.max(c.slots.size, 1));
  const total = numel(k.grid);
  const idx = new Array(k.grid.length).fill(0);
  for (let n = 0; n < total; n++) {
    for (let d = 0; d < idx.length; d++) v[gslots[d]] = idx[d];
    body(v);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < k.grid[d]) break;
      idx[d] = 0;
    }
  }
}

/** Allocates one zeroed typed array per buffer declaration (state arenas at their needed size). */
export function allocMemories(prog: Pick<KernelProgram, 'buffers'>): Memory[] {
  return prog.buffers.map((b) => (b.dtype === 'f32' ? new Float32Array(b.size) : new Int32Array(b.size)));
}

/**
 * Runs every kernel of `prog` once, in order, over `memories` (indexed like `prog.buffers`).
 * `scalars` defaults to the memory of the program's `scalars` buffer, if it declares one.
 */
export function runKernelProgram(
  prog: Pick<KernelProgram, 'kernels' | 'buffers' | 'collectives'>,
  memories: readonly Memory[],
  scalars?: Float32Array,
): void {
  if (memories.length < prog.buffers.length) {
    throw new Error(`expected ${prog.buffers.length} memories, got ${memories.length}`);
  }
  prog.buffers.forEach((b, i) => {
    const m = memories[i],
      want = b.dtype === 'f32' ? Float32Array : Int32Array;
    if (!(m instanceof want)) throw new TypeError(`buffer ${i} (${b.name}): expected ${want.name}`);
    if (m.length < b.size) throw new RangeError(`buffer ${i} (${b.name}): ${m.length} elements, needs ${b.size}`);
  });
  if (!scalars) {
    const si = prog.buffers.findIndex((b) => b.kind === 'scalars');
    scalars = si >= 0 ? (memories[si] as Float32Array) : new Float32Array(0);
  }
  const run = (k: Kernel) => guardHolds(k.when, scalars!) && runKernel(k, memories, scalars!);
  if (!prog.collectives?.length) {
    for (const k of prog.kernels) run(k);
    return;
  }
  const cs = new CollectiveSchedule(prog);
  cs.runAll(
    (i) => run(prog.kernels[i]),
    (c) => (memories[c.buf] as Float32Array).subarray(c.offset, c.offset + c.length),
  );
}
