// The WGSL expression printer: a table from kernel-IR op to WGSL text, fully parenthesized.
// WGSL differs from C (and from PyTorch) in ways that matter here; each is handled at its op:
//   - `select(f, t, cond)` takes the false value first;
//   - `pow(x, y)` is undefined for x < 0, where PyTorch (C powf) gives a real for integer y;
//   - a const-expression that overflows to inf/NaN is a shader-creation error, so infinities
//     come from a bitcast of a private variable (evaluated at run time);
//   - there is no f64, and bool is not storable: bool values live in i32 buffers as 0/1;
//   - implementations may assume floats are finite (llvmpipe folds x*0 and x-x to 0, max drops
//     NaN), so float arithmetic goes through IEEE helpers (ieee.ts) unless an operand is a
//     finite constant that rules the special cases out.
import type { Access } from '../../compiler/kernel/traffic.js';
import type { Window, Windows } from './windows.js';
import type { BinaryFn, Expr, KType, UnaryFn } from '../../compiler/ir/kernel.js';
import type { StorageDType } from '../../runtime/manifest.js';
import { PHILOX_DEPS, PHILOX_HELPERS } from './philox.js';
import { IEEE_BINARY, IEEE_DEPS, IEEE_HELPERS } from './ieee.js';

/** What printing a kernel learns: the buffers it touches, and the helper functions it calls. */
export interface Ctx {
  dtypes: readonly StorageDType[];
  read: Set<number>;
  written: Set<number>;
  scalars: number; // highest scalar slot used + 1
  helpers: Set<HelperName>;
  /** variables known to be >= 0 (grid and loop variables, lets of such): plain `/` and `%` suffice */
  nonNeg: Set<string>;
  /** unroll factor for long innermost loops (see loops.ts) */
  unroll: number;
  /** buffers bound as several windows (windows.ts), and the windows the shader used */
  windows?: Windows;
  usedWindows: Set<Window>;
  /**
   * the kernel's lifted integer constants (LIFT_MIN and up: placement offsets, strides), read from a uniform
   * array instead of written in the shader: kernels of the same shape in different places (a transformer's
   * blocks) become one shader text, which the runtime compiles once; undefined: constants stay literals
   */
  consts?: number[];
}

/** integer constants at least this large are lifted (smaller ones are loop-invariant arithmetic the driver folds) */
export const LIFT_MIN = 256;

/** how a kernel renders beyond its strategy: its binding windows, and whether large integer constants are lifted */
export interface RenderOptions {
  windows?: Windows;
  liftConstants?: boolean;
}

export function newCtx(dtypes: readonly StorageDType[], r: RenderOptions = {}): Ctx {
  const windows = r.windows;
  return {
    ...(r.liftConstants ? { consts: [] } : {}),
    dtypes,
    read: new Set(),
    written: new Set(),
    scalars: 0,
    helpers: new Set(),
    nonNeg: new Set(),
    unroll: 8,
    windows,
    usedWindows: new Set(),
  };
}

/** a lifted constant's read from the kernel's uniform (Ctx.consts), one slot a distinct value */
function lifted(value: number, ctx: Ctx): string {
  const consts = ctx.consts!;
  let j = consts.indexOf(value);
  if (j < 0) j = consts.push(value) - 1;
  return `kiln_c${j}`;
}

/** the lifted constants as lets at the top of main (read once per invocation, whatever the helpers' branches) */
export function constLets(ctx: Ctx): string[] {
  return (ctx.consts ?? []).map((_, j) => `  let kiln_c${j}: i32 = kiln_k[${j >> 2}].${'xyzw'[j & 3]};`);
}

/** `name[index]` of an access: its buffer's binding, or the window holding it (indexed from the window's base) */
export function accessOf(node: Access, buf: number, idx: string, ctx: Ctx): string {
  if (!ctx.windows?.windowed.has(buf)) return `${bufName(buf)}[${idx}]`;
  const w = ctx.windows.byAccess.get(node);
  if (!w) throw new Error(`wgsl: an access of buffer ${buf} outside every binding window`);
  ctx.usedWindows.add(w);
  return `${w.name}[${w.base ? `${idx} - ${w.base}i` : idx}]`;
}

// Helpers are emitted once per shader, only when used.
export const HELPERS = {
  kiln_inf: `var<private> kiln_inf_bits: u32 = 0x7f800000u;
fn kiln_inf() -> f32 { return bitcast<f32>(kiln_inf_bits); }`,
  kiln_nan: `var<private> kiln_nan_bits: u32 = 0x7fc00000u;
fn kiln_nan() -> f32 { return bitcast<f32>(kiln_nan_bits); }`,
  kiln_sq: `fn kiln_sq(x: f32) -> f32 { return x * x; }`,
  // C powf semantics: negative bases with integer exponents, 0^y; WGSL pow covers x > 0 only.
  kiln_pow: `fn kiln_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0f) { return 1.0f; }
  // NaN and zero of x on the bits: llvmpipe assumes finite floats and let a NaN x through the zero test
  let ux = bitcast<u32>(x) & 0x7fffffffu;
  if (ux > 0x7f800000u) { return kiln_nan(); }
  if (ux == 0u) { return select(kiln_inf(), 0.0f, y > 0.0f); }
  let r = pow(abs(x), y);
  if (x < 0.0f) {
    if (fract(y) != 0.0f) { return kiln_nan(); }
    if (fract(y * 0.5f) != 0.0f) { return -r; }
  }
  return r;
}`,
  // powf(x, 0.5): sqrt but for its two C special cases, powf(-inf, 0.5) = +inf and powf(-0, 0.5) = +0
  kiln_pow_half: `fn kiln_pow_half(x: f32) -> f32 {
  let ux = bitcast<u32>(x);
  if (ux == 0xff800000u) { return kiln_inf(); }
  if ((ux & 0x7fffffffu) == 0u) { return 0.0f; }
  return sqrt(x);
}`,
  // floor division and Python-sign remainder, for i32 operands not known to be non-negative
  kiln_floordiv: `fn kiln_floordiv(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1i, (a % b != 0i) && ((a < 0i) != (b < 0i)));
}`,
  kiln_floormod: `fn kiln_floormod(a: i32, b: i32) -> i32 {
  let r = a % b;
  return select(r, r + b, (r != 0i) && ((r < 0i) != (b < 0i)));
}`,
  ...PHILOX_HELPERS,
  ...IEEE_HELPERS,
} as const;
export type HelperName = keyof typeof HELPERS;
const HELPER_DEPS: Partial<Record<HelperName, readonly HelperName[]>> = {
  kiln_pow: ['kiln_inf', 'kiln_nan'],
  kiln_pow_half: ['kiln_inf'],
  ...PHILOX_DEPS,
  ...(IEEE_DEPS as Partial<Record<HelperName, HelperName[]>>),
};

export function useHelper(ctx: Ctx, h: HelperName): void {
  ctx.helpers.add(h);
  for (const d of HELPER_DEPS[h] ?? []) useHelper(ctx, d);
}

/** the helpers' source, in a fixed order (dependencies first) */
export function helperSource(ctx: Ctx): string {
  return (Object.keys(HELPERS) as HelperName[])
    .filter((h) => ctx.helpers.has(h))
    .map((h) => HELPERS[h])
    .join('\n');
}

export const WGSL_TYPE: Record<KType, string> = { f32: 'f32', i32: 'i32', bool: 'bool' };
/** IR names (loop variables, lets, accumulators) get a prefix: no clash with WGSL keywords or ours */
export const ident = (name: string) => `v_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
export const bufName = (i: number) => `b${i}`;
export const storageKType = (d: StorageDType): KType => d;

export function lit(type: KType, value: number, ctx: Ctx): string {
  if (type === 'bool') return value ? 'true' : 'false';
  if (type === 'i32') {
    const v = Number.isNaN(value) ? 0 : Math.max(-2147483648, Math.min(2147483647, Math.trunc(value)));
    if (v === -2147483648) return '(-2147483647i - 1i)'; // the literal 2147483648 is out of range
    return v < 0 ? `(${v}i)` : `${v}i`;
  }
  if (Number.isNaN(value)) {
    useHelper(ctx, 'kiln_nan');
    return 'kiln_nan()';
  }
  const f = Math.fround(value);
  if (!Number.isFinite(f)) {
    useHelper(ctx, 'kiln_inf');
    return f > 0 ? 'kiln_inf()' : '(-kiln_inf())';
  }
  // String() of the float32 value is the shortest decimal that reads back as exactly this double,
  // hence as exactly this float32.
  const s = String(Object.is(f, -0) ? '-0.0' : f);
  return s.startsWith('-') ? `(${s}f)` : `${s}f`;
}

/** converts WGSL code of IR type `from` to IR type `to` */
export function conv(code: string, from: KType, to: KType): string {
  if (from === to) return code;
  if (to === 'bool') return from === 'f32' ? `(${code} != 0.0f)` : `(${code} != 0i)`;
  return `${to}(${code})`; // f32(i32|bool), i32(f32) truncates toward zero, i32(bool) is 0/1
}

type Printer<A extends unknown[]> = (...a: A) => string;
const UNARY: Record<UnaryFn, Printer<[string, KType]>> = {
  neg: (a) => `(-${a})`,
  exp: (a) => `exp(${a})`,
  log: (a) => `kiln_log(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  abs: (a) => `abs(${a})`,
  recip: (a, t) => (t === 'f32' ? `kiln_div(1.0f, ${a})` : `(1i / ${a})`),
  not: (a, t) => `(!${conv(a, t, 'bool')})`,
};

/** is `e` provably >= 0? (a cheap syntactic check, enough for index math) */
export function nonNeg(e: Expr, ctx: Ctx): boolean {
  switch (e.e) {
    case 'const':
      return e.value >= 0;
    case 'var':
      return ctx.nonNeg.has(e.name);
    case 'binary':
      if (e.fn === 'max') return nonNeg(e.a, ctx) || nonNeg(e.b, ctx);
      return ['add', 'mul', 'idiv', 'mod', 'min'].includes(e.fn) && nonNeg(e.a, ctx) && nonNeg(e.b, ctx);
    case 'cast':
      return e.a.type === 'bool' || nonNeg(e.a, ctx);
    case 'where':
      return nonNeg(e.a, ctx) && nonNeg(e.b, ctx);
    default:
      return e.type === 'bool';
  }
}

type BinaryExpr = Extract<Expr, { e: 'binary' }>;
/** prints `e` from its operands' code `a`, `b` */
type BinaryPrinter = (e: BinaryExpr, a: string, b: string, ctx: Ctx) => string;

/** an IEEE helper for float operands unless a finite constant rules the special cases out */
function ieee(e: BinaryExpr, a: string, b: string, ctx: Ctx): string | undefined {
  const h = e.a.type === 'f32' ? IEEE_BINARY[e.fn] : undefined;
  if (!h || specialsRuledOut(e)) return undefined;
  useHelper(ctx, h);
  return `${h}(${a}, ${b})`;
}
const arith =
  (op: string): BinaryPrinter =>
  (e, a, b, ctx) =>
    ieee(e, a, b, ctx) ?? `(${a} ${op} ${b})`;
const minmax: BinaryPrinter = (e, a, b, ctx) => ieee(e, a, b, ctx) ?? `${e.fn}(${a}, ${b})`;
/** float comparisons always go through their IEEE helper (NaN compares false, except ne) */
const compare =
  (op: string): BinaryPrinter =>
  (e, a, b, ctx) => {
    if (e.a.type !== 'f32') return conv(`(${a} ${op} ${b})`, 'bool', e.type);
    const h = IEEE_BINARY[e.fn]!;
    useHelper(ctx, h);
    return conv(`${h}(${a}, ${b})`, 'bool', e.type);
  };
/** logical on bool results, bitwise on i32 (index math) */
const logic =
  (logical: string, bitwise: string): BinaryPrinter =>
  (e, a, b) => {
    if (e.type === 'bool') return `(${conv(a, e.a.type, 'bool')} ${logical} ${conv(b, e.b.type, 'bool')})`;
    return e.a.type === 'bool' ? `(${a} ${logical} ${b})` : `(${a} ${bitwise} ${b})`;
  };
/**
 * idiv/mod floor (Python); WGSL's `/` and `%` truncate (C). They agree on non-negative operands,
 * which index math almost always has, so the helpers are called only when that is not known.
 */
const floored =
  (op: string, helper: 'kiln_floordiv' | 'kiln_floormod'): BinaryPrinter =>
  (e, a, b, ctx) => {
    if (e.a.type === 'f32') return e.fn === 'idiv' ? `floor(${a} / ${b})` : `(${a} - ${b} * floor(${a} / ${b}))`;
    if (nonNeg(e.a, ctx) && nonNeg(e.b, ctx)) return `(${a} ${op} ${b})`;
    useHelper(ctx, helper);
    return `${helper}(${a}, ${b})`;
  };

const BINARY: Record<BinaryFn, BinaryPrinter> = {
  add: arith('+'),
  sub: arith('-'),
  mul: arith('*'),
  div: arith('/'),
  max: minmax,
  min: minmax,
  pow: (e, a, b, ctx) => pow(e.a, e.b, a, b, ctx),
  lt: compare('<'),
  le: compare('<='),
  gt: compare('>'),
  ge: compare('>='),
  eq: compare('=='),
  ne: compare('!='),
  and: logic('&&', '&'),
  or: logic('||', '|'),
  idiv: floored('/', 'kiln_floordiv'),
  mod: floored('%', 'kiln_floormod'),
};

function binary(e: BinaryExpr, ctx: Ctx): string {
  const a = expr(e.a, ctx);
  const b = expr(e.b, ctx);
  return BINARY[e.fn](e, a, b, ctx);
}

/**
 * does a finite constant operand leave the plain operation IEEE results no compiler can fold
 * away? x ± c, x·c and x/c for c finite (and nonzero for · and /), which the hardware computes
 * right for x = ±inf or NaN and no identity rewrites wrongly (unlike x·0 -> 0)
 */
function specialsRuledOut(e: BinaryExpr): boolean {
  const finite = (x: Expr, nonZero: boolean) =>
    x.e === 'const' && Number.isFinite(Math.fround(x.value)) && (!nonZero || x.value !== 0);
  switch (e.fn) {
    case 'add':
    case 'sub':
      return finite(e.a, false) || finite(e.b, false);
    case 'mul':
      return finite(e.a, true) || finite(e.b, true);
    case 'div':
      return finite(e.b, true);
    default:
      return false;
  }
}

function pow(ea: Expr, eb: Expr, a: string, b: string, ctx: Ctx): string {
  if (ea.type !== 'f32') throw new Error(`wgsl: pow on ${ea.type} is not supported`);
  if (eb.e === 'const') {
    // exponents PyTorch code uses most, exact for every sign of the base
    switch (eb.value) {
      case 0:
        return '1.0f';
      case 1:
        return a;
      case 2:
        useHelper(ctx, 'kiln_sq');
        return `kiln_sq(${a})`;
      case 0.5:
        useHelper(ctx, 'kiln_pow_half');
        return `kiln_pow_half(${a})`;
      case -1:
        return `(1.0f / ${a})`;
    }
  }
  useHelper(ctx, 'kiln_pow');
  return `kiln_pow(${a}, ${b})`;
}

export function expr(e: Expr, ctx: Ctx): string {
  switch (e.e) {
    case 'const':
      if (ctx.consts && e.type === 'i32' && Math.abs(e.value) >= LIFT_MIN && Number.isSafeInteger(e.value)) {
        return lifted(e.value, ctx);
      }
      return lit(e.type, e.value, ctx);
    case 'var':
      return ident(e.name);
    case 'load': {
      const dt = ctx.dtypes[e.buf];
      if (dt === undefined) throw new Error(`wgsl: load from unknown buffer ${e.buf}`);
      if (!ctx.windows?.windowed.has(e.buf)) ctx.read.add(e.buf);
      return conv(accessOf(e, e.buf, index(e.index, ctx), ctx), storageKType(dt), e.type);
    }
    case 'scalar':
      ctx.scalars = Math.max(ctx.scalars, e.slot + 1);
      return `kiln_scalars[${e.slot >> 2}].${'xyzw'[e.slot & 3]}`;
    case 'unary': {
      if (e.fn === 'recip' && e.a.type === 'f32') useHelper(ctx, 'kiln_div');
      if (e.fn === 'log') useHelper(ctx, 'kiln_log');
      const code = UNARY[e.fn](expr(e.a, ctx), e.a.type);
      return e.fn === 'not' ? conv(code, 'bool', e.type) : code;
    }
    case 'binary':
      return binary(e, ctx);
    case 'where':
      return `select(${expr(e.b, ctx)}, ${expr(e.a, ctx)}, ${conv(expr(e.cond, ctx), e.cond.type, 'bool')})`;
    case 'cast':
      return conv(expr(e.a, ctx), e.a.type, e.type);
    // WGSL's fma may or may not be fused on a given device (the spec allows either)
    case 'fma':
      useHelper(ctx, 'kiln_fma');
      return `kiln_fma(${expr(e.a, ctx)}, ${expr(e.b, ctx)}, ${expr(e.c, ctx)})`;
    case 'random': {
      const h = e.dist === 'uniform' ? 'kiln_uniform' : 'kiln_normal';
      useHelper(ctx, h);
      const p = e.pieces.map((x) => expr(x, ctx));
      const vec = (ps: string[]) => `vec4<f32>(${ps.join(', ')})`;
      // the draw number too: each dropout of a transformer's blocks is its own draw, in one shader text
      const draw = ctx.consts && e.draw <= 0x7fffffff ? `u32(${lifted(e.draw, ctx)})` : `${e.draw >>> 0}u`;
      return `${h}(kiln_philox(${index(e.index, ctx)}, ${draw}, ${vec(p.slice(0, 4))}, ${vec(p.slice(4))}))`;
    }
  }
}

export const index = (e: Expr, ctx: Ctx) => conv(expr(e, ctx), e.type, 'i32');
