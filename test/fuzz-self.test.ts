// The fuzzer itself: recipes are deterministic and well-typed, the comparison catches what it must,
// and the minimizer shrinks a failing recipe to the op that fails.
import { describe, expect, it } from 'vitest';
import { compile, type Tensor } from '../compiler/index.js';
import { batchFunction, recipeInputs } from './fuzz/build.js';
import { compareArrays } from './fuzz/compare.js';
import { minimize } from './fuzz/minimize.js';
import { randomGraphRecipe, type GraphRecipe } from './fuzz/recipe.js';
import { randomTrainRecipe } from './fuzz/train.js';

describe('fuzz recipes', () => {
  it('are deterministic per seed', () => {
    expect(JSON.stringify(randomGraphRecipe(42))).toBe(JSON.stringify(randomGraphRecipe(42)));
    expect(JSON.stringify(randomTrainRecipe(42))).toBe(JSON.stringify(randomTrainRecipe(42)));
    expect(JSON.stringify(randomGraphRecipe(42))).not.toBe(JSON.stringify(randomGraphRecipe(43)));
  });

  it('trace with the shapes they declare, covering every op kind, zero-size dims and special values', async () => {
    const kinds = new Set<string>();
    let zero = 0,
      special = 0,
      big = 0,
      rejected = 0;
    for (let s = 1; s <= 400; s++) {
      const rec = randomGraphRecipe(s);
      rec.ops.forEach((op) => kinds.add(op.k));
      if (rec.values.some((v) => v.shape.includes(0))) zero++;
      if (rec.inputs.some((i) => i.fill === 'special')) special++;
      if (rec.inputs[0].shape.reduce((a, b) => a * b, 1) >= 1e5) {
        big++;
        continue;
      }
      let outs: Tensor[];
      try {
        const fn = await compile(batchFunction([rec]), {
          inputs: rec.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype })),
        });
        outs = (await fn.run(...recipeInputs(rec))) as Tensor[];
      } catch {
        rejected++;
        continue;
      } // a kiln error everywhere: the campaign checks targets agree
      outs.forEach((t, i) => expect(t.shape).toEqual(rec.values[rec.outputs[i]].shape));
    }
    expect([...kinds].sort()).toEqual([
      'binary',
      'clamp',
      'expand',
      'gather',
      'matmul',
      'pad',
      'permute',
      'reduce',
      'reshape',
      'scalar',
      'slice',
      'toFloat',
      'toInt',
      'unary',
      'where',
    ]);
    expect(zero).toBeGreaterThan(5);
    expect(special).toBeGreaterThan(50);
    expect(big).toBeGreaterThan(2);
    expect(rejected).toBeLessThan(20);
  });
});

describe('fuzz comparison', () => {
  const tol = { rtol: 1e-4, atol: 1e-5 };
  it('accepts rounding, rejects wrong values, NaN for a number, and the wrong infinity', () => {
    expect(compareArrays([1.00001, NaN, Infinity], [1, NaN, Infinity], tol)).toBeNull();
    expect(compareArrays([1.01], [1], tol)?.reason).toMatch(/off by/);
    expect(compareArrays([0], [NaN], tol)?.reason).toBe('NaN differs');
    expect(compareArrays([-Infinity], [Infinity], tol)?.reason).toBe('infinity differs');
    expect(compareArrays([3e38], [Infinity], tol)?.reason).toBe('infinity differs');
    expect(compareArrays([1, 2], [1], tol)?.reason).toBe('length differs');
  });
});

describe('fuzz minimizer', () => {
  it('shrinks a failing recipe to the ops the failure needs', async () => {
    // a recipe with an op that "fails" (a predicate standing in for a device mismatch): log
    const rec: GraphRecipe = {
      kind: 'graph',
      seed: 5,
      inputs: [
        { shape: [3, 4], dtype: 'float32', fill: 'special' },
        { shape: [3, 4], dtype: 'float32', fill: 'normal' },
      ],
      ops: [
        { k: 'unary', f: 'exp', a: 0 },
        { k: 'binary', f: 'add', a: 2, b: 1 },
        { k: 'unary', f: 'log', a: 3 },
        { k: 'unary', f: 'tanh', a: 4 },
        { k: 'reduce', f: 'sum', a: 5, dims: [1], keep: false },
      ],
      values: [[3, 4], [3, 4], [3, 4], [3, 4], [3, 4], [3, 4], [3]].map((shape) => ({
        shape,
        dtype: 'float32' as const,
      })),
      outputs: [6, 2],
    };
    const fails = async (r: GraphRecipe) => r.ops.some((op) => op.k === 'unary' && op.f === 'log');
    const small = await minimize(rec, fails);
    expect(small.ops).toEqual([{ k: 'unary', f: 'log', a: 0 }]);
    expect(small.inputs).toEqual([{ shape: [3, 4], dtype: 'float32', fill: 'normal', pos: 0 }]);
  });
});
