// The index algebra: simplification rules, and agreement with brute-force evaluation.
import { describe, expect, it } from 'vitest';
import {
  add,
  flatten,
  idiv,
  ixConst,
  ixKey,
  ixVar,
  mod,
  mul,
  range,
  toExpr,
  unflatten,
  type Ix,
} from '../compiler/kernel/index-algebra.js';
import { throughViews } from '../compiler/kernel/views.js';
import { g } from './kernels-util.js';

/** evaluates an index expression through its kernel-IR rendering */
function evalIx(e: Ix, env: Record<string, number>): number {
  const ev = (x: any): number => {
    if (x.e === 'const') return x.value;
    if (x.e === 'var') return env[x.name];
    const a = ev(x.a),
      b = ev(x.b);
    return {
      add: a + b,
      sub: a - b,
      mul: a * b,
      max: Math.max(a, b),
      idiv: Math.floor(a / b),
      mod: a - Math.floor(a / b) * b,
    }[x.fn as 'add'];
  };
  return ev(toExpr(e));
}

describe('index algebra', () => {
  const i = ixVar('i', 4),
    j = ixVar('j', 3),
    k = ixVar('k', 5);
  it('folds constants and drops zero terms', () => {
    expect(ixKey(add(mul(i, 0), ixConst(0)))).toBe('0');
    expect(ixKey(add(add(i, ixConst(2)), ixConst(-2)))).toBe('i');
    expect(ixKey(add(mul(i, 3), mul(i, -3)))).toBe('0');
  });
  it('flattening a flat index unflattened over any shape gives it back (multi-tensor kernels need g0)', () => {
    for (const shape of [
      [7, 3],
      [4, 2, 2],
      [2, 3, 4],
      [3, 1, 5, 2],
      [2, 2, 2, 2],
    ]) {
      const n = shape.reduce((a, b) => a * b, 1);
      expect(ixKey(flatten(unflatten(ixVar('g0', n), shape), shape)), `[${shape}]`).toBe('g0');
    }
  });
  it("removes div/mod using the variables' extents", () => {
    expect(ixKey(idiv(add(mul(i, 3), j), 3))).toBe('i'); // (3i + j) / 3 = i since j < 3
    expect(ixKey(mod(add(mul(i, 3), j), 3))).toBe('j');
    expect(ixKey(idiv(j, 3))).toBe('0');
    expect(ixKey(mod(j, 7))).toBe('j');
    expect(ixKey(idiv(mul(i, 6), 3))).toBe('2*i'); // (a*k)/k
  });
  it('factors a common divisor and recombines d*(e/d) + e%d', () => {
    expect(ixKey(idiv(add(mul(i, 4), j), 8))).toBe(ixKey(idiv(i, 2))); // j < 4
    const e = add(mul(k, 4), i);
    expect(ixKey(add(mul(idiv(e, 3), 3), mod(e, 3)))).toBe(ixKey(e));
  });
  it('reshape round trips simplify to the identity', () => {
    const flat = flatten([i, j, k], [4, 3, 5]);
    const back = unflatten(flat, [4, 3, 5]);
    expect(back.map(ixKey)).toEqual(['i', 'j', 'k']);
    const split = unflatten(flatten([i, j], [4, 3]), [2, 6]);
    expect(ixKey(flatten(split, [2, 6]))).toBe(ixKey(flatten([i, j], [4, 3])));
  });
  it('agrees with brute force on random expressions', () => {
    let s = 7;
    const rnd = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
    for (let t = 0; t < 300; t++) {
      let e: Ix = add(mul(i, rnd(7)), add(mul(j, rnd(5)), mul(k, rnd(4))));
      const ops = Array.from({ length: 3 }, () => [rnd(3), 1 + rnd(6)]);
      const base = e;
      let f = (v: Record<string, number>) => evalIx(base, v);
      for (const [op, d] of ops) {
        const g0 = f;
        if (op === 0) {
          e = idiv(e, d);
          f = (v) => Math.floor(g0(v) / d);
        } else if (op === 1) {
          e = mod(e, d);
          f = (v) => g0(v) % d;
        } else {
          e = add(mul(e, d), i);
          f = (v) => g0(v) * d + v.i;
        }
      }
      for (let a = 0; a < 4; a++)
        for (let b = 0; b < 3; b++)
          for (let c = 0; c < 5; c++) {
            const v = { i: a, j: b, k: c };
            expect(evalIx(e, v)).toBe(f(v));
          }
      const [lo, hi] = range(e);
      expect(lo).toBeLessThanOrEqual(hi);
    }
  });
  it("folds a pad's source index over the window its guard selects (a concatenation's pieces)", () => {
    // cat along the last dim as pads: piece [2, 8] at columns 16..23 of [2, 24], read through a split
    // [2, 8] <- [2, 2, 4] <- permute of [2, 4, 2] (a q/k/v split into heads, transposed)
    const src = g.input(0, [2, 4, 2]);
    const piece = g.reshape(g.permute(src, [0, 2, 1]), [2, 8]);
    const padded = g.pad(piece, [0, 16], [0, 0]);
    const [r, c] = [ixVar('r', 2), ixVar('c', 24)];
    const a = throughViews(padded, [r, c]);
    expect(a.node).toBe(src);
    expect(a.bounds.map((b) => [ixKey(b.ix), b.lo, b.hi])).toEqual([['c+-16', 0, 8]]);
    // no division by a width the window fits in: c - 16 lies in [0, 8) wherever the bound holds
    expect(a.idx.map(ixKey)).toEqual(['r', '([c+-16]<8)%4', '([c+-16]<8)/4']);
    for (let rr = 0; rr < 2; rr++)
      for (let cc = 16; cc < 24; cc++) {
        const k = cc - 16;
        expect(a.idx.map((e) => evalIx(e, { r: rr, c: cc }))).toEqual([rr, k % 4, Math.floor(k / 4)]);
      }
  });
  it('turns a view chain into one index into the source', () => {
    // x[4,6] -> permute -> [6,4] -> reshape [24] -> slice(start 2, step 3) -> [8]
    const x = g.input(0, [4, 6]);
    const v = g.slice(g.reshape(g.permute(x, [1, 0]), [24]), [2], [3], [8]);
    const t = ixVar('t', 8);
    const a = throughViews(v, [t]);
    expect(a.node).toBe(x);
    for (let tt = 0; tt < 8; tt++) {
      const flat = 2 + 3 * tt,
        row = flat % 4,
        col = Math.floor(flat / 4);
      expect(a.idx.map((e) => evalIx(e, { t: tt }))).toEqual([row, col]);
    }
  });
});
