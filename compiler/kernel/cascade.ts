// The expansion of a `scheme: 'cascade'` sum (compiler/ir/accumulate.ts) into plain kernel IR,
// shared by every consumer (kernel interpreter, LLVM, WGSL) so they group the terms alike.
// The reduce loop nest accumulating into such an accumulator (loops that each hold only the next,
// around a body of lets and accums) becomes nested loops over blocks of CASCADE_BLOCK terms: each
// block sums into a fresh partial accumulator (a chain), added once into the block one level up.
// The nest's loop variables are recovered from the flat term index, so the terms keep their order;
// max and integer accumulators in the same loop are exact in any grouping and accumulate directly.
import type { Expr, Ix, Kernel, Stmt } from '../ir/kernel.js';
import { mapExpr, readsVar } from '../ir/kernel.js';
import { CASCADE_BLOCK } from '../ir/accumulate.js';
import { add, idiv, mod, mul, ixConst, ixVar, substIx } from './index-algebra.js';

type Loop = Extract<Stmt, { s: 'loop' }>;
export type Acc = Extract<Stmt, { s: 'acc' }>;
/**
 * one term's statements, accumulating into `into` (original accumulator name -> the one to add to);
 * `ix` is the term index as index algebra, which the term's loads' ix follow (without it they drop it)
 */
export type TermAt = (index: Expr, into: ReadonlyMap<string, string>, ix?: Ix) => Stmt[];

const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
const ivar = (name: string): Expr => ({ e: 'var', type: 'i32', name });
const fvar = (name: string): Expr => ({ e: 'var', type: 'f32', name });
const bin = (fn: 'add' | 'mul' | 'idiv' | 'mod', a: Expr, b: Expr): Expr => ({ e: 'binary', type: 'i32', fn, a, b });

/** every accumulator declared in `body`, by name */
export function accumulators(body: readonly Stmt[], out = new Map<string, Acc>()): Map<string, Acc> {
  for (const s of body) {
    if (s.s === 'acc') out.set(s.name, s);
    else if (s.s === 'loop') accumulators(s.body, out);
  }
  return out;
}

/** `k` with its cascade sums expanded (`k` itself when it has none) */
export function cascadeSums(k: Kernel): Kernel {
  const accs = accumulators(k.body);
  if (![...accs.values()].some((a) => a.scheme === 'cascade')) return k;
  let fresh = 0;
  const name = (base: string) => `${base}_c${fresh++}`;
  const rewrite = (ss: readonly Stmt[]): Stmt[] =>
    ss.flatMap((s): Stmt[] => {
      if (s.s !== 'loop') return [s];
      const c = cascadeNest(s, accs);
      if (!c) return [{ ...s, body: rewrite(s.body) }];
      return c.levels(new Map(c.sums.map((n) => [n, n])), name);
    });
  return { ...k, body: rewrite(k.body) };
}

/**
 * a cascade sum's loop nest: seen as one sequence of terms (how many, and term r's statements: the WebGPU tree
 * reduction strides them over its threads), and as the serial statements of its cascade (`levels`)
 */
export interface CascadeNest {
  terms: number;
  termAt: TermAt;
  sums: string[];
  levels: (into: ReadonlyMap<string, string>, name: (base: string) => string) => Stmt[];
}

/** the cascade `loop` (the top of a reduce nest accumulating into cascade sums), or null */
export function cascadeNest(loop: Loop, accs: ReadonlyMap<string, Acc>): CascadeNest | null {
  const nest = reduceNest(loop);
  const sums = nest ? cascadedAccs(nest.leaf, accs) : null;
  if (!nest || !sums) return null;
  const { vars, extents, leaf } = nest;
  // the leaf at flat term index r: each loop variable is its digit of r (the first the most significant)
  const termAt: TermAt = (r, into, rIx) => {
    const digits: Stmt[] = [],
      digitIx = new Map<string, Ix>();
    let below = 1;
    for (let j = vars.length - 1; j >= 0; j--) {
      const q = below === 1 ? r : bin('idiv', r, i32(below));
      digits.unshift({ s: 'let', name: vars[j], value: j === 0 ? q : bin('mod', q, i32(extents[j])) });
      if (rIx) digitIx.set(vars[j], j === 0 ? idiv(rIx, below) : mod(idiv(rIx, below), extents[j]));
      below *= extents[j];
    }
    // the loop variables are now lets of the term index: the loads' ix in terms of it
    const follow = (ix: Ix) => (rIx ? substIx(ix, (v) => digitIx.get(v.name)) : undefined);
    const ex = (e: Expr): Expr => mapExpr(e, ex, follow);
    const term = leaf.map((s): Stmt =>
      s.s === 'accum'
        ? { ...s, name: into.get(s.name) ?? s.name, value: ex(s.value) }
        : s.s === 'let'
          ? { ...s, value: ex(s.value) }
          : s,
    );
    return [...digits, ...term];
  };
  const leafInto = (into: ReadonlyMap<string, string>): Stmt[] =>
    leaf.map((s) => (s.s === 'accum' ? { ...s, name: into.get(s.name) ?? s.name } : s));
  const levels = (into: ReadonlyMap<string, string>, name: (base: string) => string) =>
    nestLevels(vars, extents, leafInto, into, sums, name);
  return { terms: extents.reduce((a, b) => a * b, 1), termAt, sums, levels };
}

/**
 * The cascade of a loop nest (compiler/ir/accumulate.ts cascadeSum): each row of the innermost loop summed as
 * a cascade of its own into fresh partials, which are the terms of the cascade over the loops outside it. Every
 * level is one loop over affine indices: no loop variable is recovered from a flat term index by division.
 */
function nestLevels(
  vars: readonly string[],
  extents: readonly number[],
  body: (into: ReadonlyMap<string, string>) => Stmt[],
  into: ReadonlyMap<string, string>,
  sums: string[],
  name: (base: string) => string,
): Stmt[] {
  const last = vars.length - 1;
  // the statements of `inner` with loop variable v bound to a term index (and the loads' ix following it)
  const along =
    (v: string, ext: number, inner: (into: ReadonlyMap<string, string>) => Stmt[]): TermAt =>
    (index, to, ix) => {
      const follow = (x: Ix) => (ix ? substIx(x, (a) => (a.name === v && a.ext === ext ? ix : undefined)) : undefined);
      return [{ s: 'let', name: v, value: index }, ...mapStmts(inner(to), follow)];
    };
  if (last === 0) return cascadeLevels(extents[0], along(vars[0], extents[0], body), into, sums, name);
  const row = (to: ReadonlyMap<string, string>): Stmt[] => {
    const partial = partials(sums, name, 'row');
    return intoPartials(
      sums,
      partial,
      to,
      cascadeLevels(extents[last], along(vars[last], extents[last], body), partial, sums, name),
    );
  };
  return nestLevels(vars.slice(0, last), extents.slice(0, last), row, into, sums, name);
}

/** a fresh partial accumulator per sum (named base_kind_cN) */
const partials = (sums: string[], name: (base: string) => string, kind: string) =>
  new Map(sums.map((s) => [s, name(`${s}_${kind}`)]));

/** `body` summed into fresh partials (zeroed first), each then added once into its sum in `outer` */
function intoPartials(
  sums: string[],
  partial: ReadonlyMap<string, string>,
  outer: ReadonlyMap<string, string>,
  body: Stmt[],
): Stmt[] {
  return [
    ...sums.map((s): Stmt => ({ s: 'acc', name: partial.get(s)!, type: 'f32', fn: 'add', init: 0 })),
    ...body,
    ...sums.map((s): Stmt => ({ s: 'accum', name: outer.get(s)!, value: fvar(partial.get(s)!) })),
  ];
}

/** statements with every load's ix moved by `follow` (index expressions stay: they read the let-bound names) */
function mapStmts(ss: readonly Stmt[], follow: (x: Ix) => Ix | undefined): Stmt[] {
  const ex = (e: Expr): Expr => mapExpr(e, ex, follow);
  return ss.map((s): Stmt => {
    switch (s.s) {
      case 'let':
      case 'accum':
        return { ...s, value: ex(s.value) };
      case 'store':
        return { ...s, index: ex(s.index), value: ex(s.value), ...(s.ix && { ix: follow(s.ix) }) };
      case 'loop':
        return { ...s, body: mapStmts(s.body, follow) };
      default:
        return s;
    }
  });
}

interface Nest {
  vars: string[];
  extents: number[];
  leaf: Stmt[];
}

/** loops that each hold only the next one, all `reduce`, around a body of lets and accums */
function reduceNest(top: Loop): Nest | null {
  const vars: string[] = [],
    extents: number[] = [];
  for (let l = top; ; l = l.body[0] as Loop) {
    if (!l.reduce) return null;
    vars.push(l.var);
    extents.push(l.extent);
    if (l.body.length === 1 && l.body[0].s === 'loop') continue;
    return l.body.every((x) => x.s === 'let' || x.s === 'accum') ? { vars, extents, leaf: l.body } : null;
  }
}

/**
 * the cascade sums the leaf accumulates into, or null when there are none or it reads one (a
 * running value: regrouping would change what it sees; such a sum stays a chain)
 */
function cascadedAccs(leaf: Stmt[], accs: ReadonlyMap<string, Acc>): string[] | null {
  const sums = [...new Set(leaf.flatMap((s) => (s.s === 'accum' ? [s.name] : [])))].filter(
    (n) => accs.get(n)?.scheme === 'cascade',
  );
  const isSum = (name: string) => sums.includes(name);
  if (!sums.length || leaf.some((s) => (s.s === 'let' || s.s === 'accum') && readsVar(s.value, isSum))) return null;
  return sums;
}

/**
 * statements adding terms 0..n-1 (termAt) of the sums `sums` into `into` as a cascade: one loop
 * when n <= CASCADE_BLOCK, else full blocks (a cascade one level up) and the remainder block
 */
export function cascadeLevels(
  n: number,
  termAt: TermAt,
  into: ReadonlyMap<string, string>,
  sums: string[],
  name: (base: string) => string,
): Stmt[] {
  const B = CASCADE_BLOCK;
  // a term index as an expression and, where known, as index algebra
  type At = (v: Expr, vIx: Ix) => [Expr, Ix | undefined];
  const loop = (extent: number, at: At, inner: ReadonlyMap<string, string>): Loop => {
    const v = name('r'),
      [index, ix] = at(ivar(v), ixVar(v, extent));
    return { s: 'loop', var: v, extent, reduce: true, body: termAt(index, inner, ix) };
  };
  if (n <= B) return [loop(n, (v, vIx) => [v, vIx], into)];
  // one block: `len` terms from `start` into fresh partials, then each partial added once
  const block = (start: Expr, startIx: Ix | undefined, len: number, outer: ReadonlyMap<string, string>): Stmt[] => {
    const partial = partials(sums, name, 'b');
    const at: At = (v, vIx) => [
      start.e === 'const' && start.value === 0 ? v : bin('add', start, v),
      startIx && add(startIx, vIx),
    ];
    return intoPartials(sums, partial, outer, [loop(len, at, partial)]);
  };
  const blocks = Math.floor(n / B),
    rest = n - blocks * B;
  const blockAt: TermAt = (jb, outer, jbIx) => block(bin('mul', jb, i32(B)), jbIx && mul(jbIx, B), B, outer);
  const out = cascadeLevels(blocks, blockAt, into, sums, name);
  if (rest > 0) out.push(...block(i32(blocks * B), ixConst(blocks * B), rest, into));
  return out;
}
