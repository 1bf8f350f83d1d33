// Index algebra: symbolic non-negative integer expressions over loop variables, used for every
// memory access. An expression is kept in linear normal form `c + sum(coef * atom)`, where an
// atom is a loop variable (with its extent), `floor(e / d)` or `e mod d`. Normalizing on
// construction makes simplification local and terminating:
//   - constants fold, x*0 and x+0 vanish, like terms combine;
//   - floor((d*q + r) / d) = q + floor(r / d), and (d*q + r) mod d = r mod d;
//   - range-aware: floor(r / d) = 0 and r mod d = r when 0 <= r < d for every value of the
//     variables (their extents are known), which removes the div/mod a reshape introduces;
//   - gcd factoring: floor((g*x + r) / (g*k)) = floor(x / k) when 0 <= r < g;
//   - nesting: floor(floor(e/a)/b) = floor(e/(a*b)); (e mod a) mod b = e mod b when b | a;
//   - recombination: d*floor(e/d) + (e mod d) = e;
//   - windows: the index inside a pad is used only where its guard holds, so it is known to lie in
//     [0, n) there (win): floor((g - 256) / 128) over g < 384 is not affine, over the window it is 0.
import type { Atom, Expr, Ix, Kernel, Stmt, Term } from '../ir/kernel.js';
import { mapExpr } from '../ir/kernel.js';
export type { Atom, Ix, Term } from '../ir/kernel.js';

export const atomKey = (a: Atom): string =>
  a.k === 'var'
    ? a.name
    : a.k === 'div'
      ? `(${ixKey(a.a)})/${a.d}`
      : a.k === 'mod'
        ? `(${ixKey(a.a)})%${a.d}`
        : `[${ixKey(a.a)}]<${a.ext}`;
export const ixKey = (e: Ix): string =>
  [
    ...e.terms.map((t) => (t.coef === 1 ? t.key : `${t.coef}*${t.key}`)),
    ...(e.c || !e.terms.length ? [String(e.c)] : []),
  ].join('+');

export const ixConst = (c: number): Ix => ({ c, terms: [] });
export const ixVar = (name: string, ext: number): Ix =>
  ext <= 1 ? ixConst(0) : { c: 0, terms: [{ atom: { k: 'var', name, ext }, coef: 1, key: name }] };
const ofAtom = (atom: Atom, coef = 1): Ix => ({ c: 0, terms: [{ atom, coef, key: atomKey(atom) }] });

/** sums terms with equal atoms, drops zeros, recombines d*floor(e/d) + e mod d, sorts by key */
function normalize(c: number, terms: Term[]): Ix {
  const byKey = new Map<string, Term>();
  for (const t of terms) {
    const prev = byKey.get(t.key);
    byKey.set(t.key, prev ? { ...prev, coef: prev.coef + t.coef } : t);
  }
  for (const [k, t] of byKey) {
    if (t.coef === 0 || t.atom.k !== 'mod') continue;
    // the matching floor(a / d), in normal form: floor(floor(e/2)/2) is keyed floor(e/4)
    const m = t.atom,
      q = idiv(m.a, m.d);
    const dk = !q.c && q.terms.length === 1 && q.terms[0].coef === 1 ? q.terms[0].key : `(${ixKey(m.a)})/${m.d}`,
      dt = byKey.get(dk);
    if (dt && dt.coef === t.coef * m.d) {
      byKey.delete(k);
      byKey.delete(dk);
      return add(normalize(c, [...byKey.values()]), mul(m.a, t.coef));
    }
  }
  const out = [...byKey.values()]
    .filter((t) => t.coef !== 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { c, terms: out };
}

export function add(a: Ix, b: Ix): Ix {
  if (!b.terms.length && !b.c) return a;
  if (!a.terms.length && !a.c) return b;
  return normalize(a.c + b.c, [...a.terms, ...b.terms]);
}
export const addc = (a: Ix, c: number): Ix => (c ? { c: a.c + c, terms: a.terms } : a);
export function mul(a: Ix, k: number): Ix {
  if (k === 0) return ixConst(0);
  if (k === 1) return a;
  return { c: a.c * k, terms: a.terms.map((t) => ({ ...t, coef: t.coef * k })) };
}
export const sum = (xs: Ix[]): Ix => xs.reduce(add, ixConst(0));

/**
 * [min, max] over all values of the variables; `unguarded`: a window's true values too (max(a, 0) over all of
 * a's), not only those where its guard holds: the index a load takes when it is made unconditionally
 */
export function range(e: Ix, unguarded = false): [number, number] {
  let lo = e.c,
    hi = e.c;
  for (const t of e.terms) {
    const [a, b] = atomRange(t.atom, unguarded);
    if (t.coef >= 0) {
      lo += t.coef * a;
      hi += t.coef * b;
    } else {
      lo += t.coef * b;
      hi += t.coef * a;
    }
  }
  return [lo, hi];
}
function atomRange(a: Atom, unguarded = false): [number, number] {
  if (a.k === 'var') return [0, a.ext - 1];
  if (a.k === 'win') {
    if (!unguarded) return [0, a.ext - 1];
    const [lo, hi] = range(a.a, true);
    return [Math.max(0, lo), Math.max(0, hi)];
  }
  const [lo, hi] = range(a.a, unguarded);
  if (a.k === 'div') return [Math.floor(lo / a.d), Math.floor(hi / a.d)];
  return lo >= 0 && hi < a.d ? [lo, hi] : lo >= 0 ? [0, a.d - 1] : [-(a.d - 1), a.d - 1];
}

export const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};
const within = (e: Ix, d: number) => {
  const [lo, hi] = range(e);
  return lo >= 0 && hi < d;
};

/** splits e = d*q + r: q gathers the terms (and constant part) divisible by d */
function splitBy(e: Ix, d: number): { q: Ix; r: Ix } {
  const qt: Term[] = [],
    rt: Term[] = [];
  for (const t of e.terms) (t.coef % d === 0 ? qt : rt).push(t);
  const cq = Math.floor(e.c / d);
  return { q: { c: cq, terms: qt.map((t) => ({ ...t, coef: t.coef / d })) }, r: { c: e.c - cq * d, terms: rt } };
}

/** finds g > 1 with g | d and e = g*x + r, 0 <= r < g for all values: returns x and r */
function gcdFactor(e: Ix, d: number): { g: number; x: Ix; r: Ix } | null {
  const ts = [...e.terms].sort((a, b) => Math.abs(a.coef) - Math.abs(b.coef));
  for (let i = 0; i < ts.length; i++) {
    const big = ts.slice(i),
      small = ts.slice(0, i);
    const g = big.reduce((acc, t) => gcd(acc, t.coef), d);
    if (g <= 1) continue;
    const cq = Math.floor(e.c / g);
    const r = normalize(e.c - cq * g, small);
    if (!within(r, g)) continue;
    return {
      g,
      x: normalize(
        cq,
        big.map((t) => ({ ...t, coef: t.coef / g })),
      ),
      r,
    };
  }
  return null;
}

/** floor(e / d) for d > 0 */
export function idiv(e: Ix, d: number): Ix {
  if (d === 1) return e;
  if (!e.terms.length) return ixConst(Math.floor(e.c / d));
  const { q, r } = splitBy(e, d);
  if (q.terms.length || q.c) return add(q, idiv(r, d));
  if (within(e, d)) return ixConst(0);
  const f = gcdFactor(e, d);
  if (f) return idiv(f.x, d / f.g);
  if (e.terms.length === 1 && !e.c && e.terms[0].coef === 1 && e.terms[0].atom.k === 'div') {
    const inner = e.terms[0].atom;
    return idiv(inner.a, inner.d * d);
  }
  return ofAtom({ k: 'div', a: e, d });
}

/** e mod d for d > 0 (e >= 0) */
export function mod(e: Ix, d: number): Ix {
  if (d === 1) return ixConst(0);
  const { r } = splitBy(e, d);
  if (!r.terms.length) return ixConst(r.c);
  if (within(r, d)) return r;
  const f = gcdFactor(r, d);
  if (f && f.g < d) return add(mul(mod(f.x, d / f.g), f.g), f.r);
  if (
    r.terms.length === 1 &&
    !r.c &&
    r.terms[0].coef === 1 &&
    r.terms[0].atom.k === 'mod' &&
    r.terms[0].atom.d % d === 0
  ) {
    return mod(r.terms[0].atom.a, d);
  }
  return ofAtom({ k: 'mod', a: r, d });
}

/**
 * `e`, for an access made only where 0 <= e < ext (a pad's bound holds): a window atom that carries the range,
 * or e itself when its own range already says so
 */
export function win(e: Ix, ext: number): Ix {
  if (within(e, ext)) return e;
  return ofAtom({ k: 'win', a: e, ext });
}

export const isConst = (e: Ix, c?: number) => !e.terms.length && (c === undefined || e.c === c);
/** e is exactly the variable `name` */
export const isVarIx = (e: Ix, name: string) =>
  !e.c && e.terms.length === 1 && e.terms[0].coef === 1 && e.terms[0].atom.k === 'var' && e.terms[0].atom.name === name;
/** the loop variables e depends on */
export function varsOf(e: Ix, out = new Set<string>()): Set<string> {
  for (const t of e.terms)
    if (t.atom.k === 'var') out.add(t.atom.name);
    else varsOf(t.atom.a, out);
  return out;
}

/** row-major strides */
export function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}
/** offset + sum(idx[d] * stride[d]) */
export function flatten(idx: readonly Ix[], shape: readonly number[], offset = 0): Ix {
  const st = strides(shape);
  return addc(sum(idx.map((x, d) => (shape[d] === 1 ? ixConst(0) : mul(x, st[d])))), offset);
}
/** the multi-index of a row-major flat index */
export function unflatten(flat: Ix, shape: readonly number[]): Ix[] {
  const st = strides(shape);
  return shape.map((n, d) => (n === 1 ? ixConst(0) : d === 0 ? idiv(flat, st[d]) : mod(idiv(flat, st[d]), n)));
}

const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
const bin = (fn: 'add' | 'mul' | 'idiv' | 'mod' | 'sub' | 'max', a: Expr, b: Expr): Expr => ({
  e: 'binary',
  type: 'i32',
  fn,
  a,
  b,
});

/** a window's index: max(a, 0) is a where it is used, and says to a renderer that it is >= 0 */
const windowExpr = (a: Ix): Expr => (range(a)[0] >= 0 ? toExpr(a) : bin('max', toExpr(a), i32(0)));

/** renders to kernel IR (i32 arithmetic) */
export function toExpr(e: Ix): Expr {
  let out: Expr | null = null;
  for (const t of e.terms) {
    const a: Expr =
      t.atom.k === 'var'
        ? { e: 'var', type: 'i32', name: t.atom.name }
        : t.atom.k === 'win'
          ? windowExpr(t.atom.a)
          : bin(t.atom.k === 'div' ? 'idiv' : 'mod', toExpr(t.atom.a), i32(t.atom.d));
    const term = Math.abs(t.coef) === 1 ? a : bin('mul', a, i32(Math.abs(t.coef)));
    out = out === null ? (t.coef < 0 ? bin('sub', i32(0), term) : term) : bin(t.coef < 0 ? 'sub' : 'add', out, term);
  }
  if (out === null) return i32(e.c);
  return e.c ? bin(e.c < 0 ? 'sub' : 'add', out, i32(Math.abs(e.c))) : out;
}

/**
 * How far `e` moves when the loop variable `v` steps by one, wherever the other variables are:
 * the coefficient of v's term (0 when e does not use v), or null when v also sits inside a
 * floor or mod atom (the step then depends on the point: not affine in v).
 */
export function strideOf(e: Ix, v: string): number | null {
  let s = 0;
  for (const t of e.terms) {
    if (t.atom.k === 'var') {
      if (t.atom.name === v) s += t.coef;
    } else if (t.atom.k === 'win') {
      const inner = strideOf(t.atom.a, v); // a window is its index (where it is used)
      if (inner === null) return null;
      s += t.coef * inner;
    } else if (varsOf(t.atom.a).has(v)) return null;
  }
  return s;
}

/**
 * `e` with each loop variable replaced by sub(variable), where it gives an expression (kept where
 * it gives undefined), and renormalized: how an access's ix follows a rewrite of its index
 */
export function substIx(e: Ix, sub: (v: Extract<Atom, { k: 'var' }>) => Ix | undefined): Ix {
  let out = ixConst(e.c);
  for (const t of e.terms) {
    const a = t.atom;
    const x =
      a.k === 'var'
        ? (sub(a) ?? ofAtom(a))
        : a.k === 'div'
          ? idiv(substIx(a.a, sub), a.d)
          : a.k === 'mod'
            ? mod(substIx(a.a, sub), a.d)
            : win(substIx(a.a, sub), a.ext);
    out = add(out, mul(x, t.coef));
  }
  return out;
}

/** what an index expression's names mean: a loop variable's extent, or a let binding's value */
export interface IxScope {
  extent(name: string): number | undefined;
  value(name: string): Expr | undefined;
}

/**
 * The linear form of kernel IR index math (the inverse of toExpr, for index expressions built
 * without their ix: kernels written by hand, as in tests: constants, loop variables,
 * let bindings of index math, + - and * by a constant, floor division and mod by a positive
 * constant), or null for anything else: a guarded (`where`) index, a loaded value, a product of
 * two variables.
 */
export function ixOfExpr(e: Expr, scope: IxScope): Ix | null {
  if (e.type !== 'i32') return null; // index math is i32 (a let of float values is none)
  switch (e.e) {
    case 'const':
      return ixConst(e.value);
    case 'var': {
      const ext = scope.extent(e.name);
      if (ext !== undefined) return ixVar(e.name, ext);
      const bound = scope.value(e.name);
      return bound ? ixOfExpr(bound, scope) : null;
    }
    case 'binary': {
      const a = ixOfExpr(e.a, scope),
        b = ixOfExpr(e.b, scope);
      if (!a || !b) return null;
      switch (e.fn) {
        case 'add':
          return add(a, b);
        case 'sub':
          return add(a, mul(b, -1));
        case 'mul':
          return isConst(b) ? mul(a, b.c) : isConst(a) ? mul(b, a.c) : null;
        case 'idiv':
          return isConst(b) && b.c > 0 ? idiv(a, b.c) : null;
        case 'mod':
          return isConst(b) && b.c > 0 ? mod(a, b.c) : null;
        default:
          return null;
      }
    }
    default:
      return null;
  }
}

/**
 * `k` with every access's ix filled in from its index (ixOfExpr, let bindings resolved), where it
 * has none: for a kernel built by hand rather than by the scheduler, which sets them as it builds
 */
export function withIndexAlgebra(k: Kernel): Kernel {
  const extents = new Map<string, number>(k.grid.map((e, i) => [`g${i}`, e]));
  const stmts = (body: readonly Stmt[], lets: ReadonlyMap<string, Expr>): Stmt[] => {
    const scope = new Map(lets);
    const ixScope: IxScope = { extent: (n) => extents.get(n), value: (n) => scope.get(n) };
    const fill = <A extends { index: Expr; ix?: Ix }>(a: A): A => {
      const ix = a.ix ?? ixOfExpr(a.index, ixScope);
      return ix ? { ...a, ix } : a;
    };
    const ex = (e: Expr): Expr => {
      const inner = mapExpr(e, ex, (ix) => ix);
      return inner.e === 'load' ? fill(inner) : inner;
    };
    return body.map((s): Stmt => {
      switch (s.s) {
        case 'let': {
          const value = ex(s.value);
          scope.set(s.name, value);
          return { ...s, value };
        }
        case 'store':
          return fill({ ...s, value: ex(s.value) });
        case 'accum':
          return { ...s, value: ex(s.value) };
        case 'loop':
          extents.set(s.var, s.extent);
          return { ...s, body: stmts(s.body, scope) };
        default:
          return s;
      }
    });
  };
  return { ...k, body: stmts(k.body, new Map()) };
}
