// Graph passes: each rule of the simplification table, constant folding, CSE and DCE.
import { describe, expect, it } from 'vitest';
import { countNodes } from '../compiler/passes/rewrite.js';
import { cse, dce, runPasses, simplify } from '../compiler/passes/index.js';
import { cell, check, g, program } from './kernels-util.js';
import type { Node } from '../compiler/ir/graph.js';
import { argOf } from '../compiler/ir/graph.js';

const S = [3, 4];
const x = () => g.input(0, S);
const inputs = [{ name: 'x', shape: S, dtype: 'float32' as const }];
const k = (v: number) => g.bcast(g.const(v), S);
const simplified = (out: Node) => simplify(program({ inputs, outputs: [out] })).outputs[0];

describe('simplification rules', () => {
  it.each([
    ['x*1', (a: Node) => g.mul(a, k(1))],
    ['1*x', (a: Node) => g.mul(k(1), a)],
    ['x+0', (a: Node) => g.add(a, k(0))],
    ['0+x', (a: Node) => g.add(k(0), a)],
    ['x-0', (a: Node) => g.sub(a, k(0))],
    ['x/1', (a: Node) => g.div(a, k(1))],
    ['-(-x)', (a: Node) => g.neg(g.neg(a))],
    ['where(true, x, y)', (a: Node) => g.where(g.gt(k(1), k(0)), a, g.neg(a))],
    ['where(c, x, x)', (a: Node) => g.where(g.gt(a, k(0)), a, a)],
    ['reshape to same shape', (a: Node) => g.reshape(a, S)],
    ['identity permute', (a: Node) => g.permute(a, [0, 1])],
    ['permute twice', (a: Node) => g.permute(g.permute(a, [1, 0]), [1, 0])],
    ['reshape chain back', (a: Node) => g.reshape(g.reshape(a, [12]), S)],
  ])('%s simplifies to x', (_, f) => {
    const a = x();
    expect(simplified(f(a))).toBe(a);
  });

  it('folds constants, including through broadcasts and reductions', () => {
    const out = simplified(g.sum(g.mul(g.add(k(2), k(3)), g.exp(k(0))), [0, 1]));
    expect(out.op).toBe('const');
    expect(argOf(out, 'const').value).toBe(60);
  });

  it('keeps NaN-producing forms: x*0 is not folded', () => {
    const a = x();
    expect(simplified(g.mul(a, k(0))).op).toBe('mul');
  });

  it('folds zero-size values: an empty value is a constant, a reduction over nothing its identity', () => {
    const e = g.input(0, [0, 4]);
    const empty = [{ name: 'e', shape: [0, 4], dtype: 'float32' as const }];
    const [ex, sum, max, pad] = simplify(
      program({
        inputs: empty,
        outputs: [g.exp(e), g.sum(g.mul(e, e), [0]), g.rmax(e, [0]), g.pad(g.reshape(e, [0]), [1], [2])],
      }),
    ).outputs;
    expect([ex.op, ex.shape]).toEqual(['const', [0, 4]]);
    expect([argOf(sum, 'const').value, argOf(max, 'const').value]).toEqual([0, -Infinity]);
    expect([pad.shape, argOf(pad, 'const').value]).toEqual([[3], 0]);
  });

  it('drops updates of cells with no elements', () => {
    const c = cell(1, [3, 0]);
    const p = dce(program({ cells: [c], updates: [{ cell: 1, value: g.neg(g.state(1, [3, 0])) }], outputs: [] }));
    expect(p.updates).toEqual([]);
  });

  it('composes slices and expands into one view', () => {
    const a = g.input(0, [8]);
    const s = g.slice(g.slice(a, [1], [2], [4]), [1], [1], [3]);
    const out = simplify(program({ inputs: [{ name: 'x', shape: [8], dtype: 'float32' }], outputs: [s] })).outputs[0];
    expect(out.op).toBe('slice');
    expect(out.src[0]).toBe(a);
    expect(out.arg).toEqual({ starts: [3], steps: [2] });
  });
});

describe('CSE and DCE', () => {
  it('hash-conses equal subexpressions', () => {
    const a = x();
    const p = program({ inputs, outputs: [g.add(g.exp(a), g.exp(a))] });
    const q = cse(p);
    expect(countNodes(q)).toBe(countNodes(p) - 1);
    expect(q.outputs[0].src[0]).toBe(q.outputs[0].src[1]);
  });

  it('drops c <- c updates and unused cells', () => {
    const p = program({
      cells: [cell(1, S), cell(2, S)],
      outputs: [g.exp(g.state(2, S))],
      updates: [{ cell: 1, value: g.state(1, S) }],
    });
    const q = dce(p);
    expect(q.updates).toHaveLength(0);
    expect(q.cells.map((c) => c.id)).toEqual([2]);
  });

  it('the pipeline preserves values', () => {
    const a = x();
    const out = g.add(g.mul(g.neg(g.neg(a)), k(1)), g.where(g.gt(k(1), k(0)), g.exp(a), a));
    const p = program({ inputs, outputs: [out, g.exp(a)] });
    expect(countNodes(runPasses(p))).toBeLessThan(countNodes(p));
    expect(check(p).err).toBe(0);
  });
});
