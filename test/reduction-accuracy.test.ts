// Long float32 sums on every target (compiler/ir/accumulate.ts): what a sum accumulates in is
// written down once (float32; a cascade of 32-term chains above 4096 terms), the kernel IR records
// it on the accumulator, the graph interpreter and the kernel interpreter give the same bits, and
// every device stays within 1e-6 of the exact sum where one float32 chain was off by percents.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, type Tensor } from 'kiln';
import type { Stmt } from '../compiler/ir/kernel.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { CASCADE_MIN_TERMS, cascadeSum } from '../compiler/ir/accumulate.js';
import { cascadeSums } from '../compiler/kernel/cascade.js';
import { printKernel } from '../compiler/kernel/print.js';
import { g, program, runReference, runScheduled } from './kernels-util.js';

const TOL = 1e-6;
const VALUE = Math.fround(0.16);
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
// native before webgpu: llvm-bindings' LLVM must load before Mesa's (the other order aborts the process)
const targets = ['reference', ...(availableTargets().includes('native') ? ['native'] : []), 'webgpu'];
/** WebGPU binds at most 128 MiB per buffer (maxStorageBufferBindingSize): 2e7 floats there */
const sizes = (target: string) => [1e6, 1e7, target.startsWith('webgpu') ? 2e7 : 5e7];

/** x.sum(axes) over an input of `shape`, as a graph program */
function sumProgram(shape: number[], axes: number[]) {
  const x = g.input(0, shape);
  return program({ inputs: [{ name: 'x', shape, dtype: 'float32' }], outputs: [g.sum(x, axes)] });
}

/** every accumulator of a scheduled program */
function accsOf(stmts: readonly Stmt[], out: Extract<Stmt, { s: 'acc' }>[] = []) {
  for (const s of stmts) {
    if (s.s === 'acc') out.push(s);
    else if (s.s === 'loop') accsOf(s.body, out);
  }
  return out;
}

/** values spanning many magnitudes and both signs, so that grouping changes the float32 result */
function wild(n: number, seed = 7): Float32Array {
  let s = seed;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 10 ** Math.floor(r() * 8));
}

describe('the accumulator of a float32 sum', () => {
  it('is recorded in the kernel IR: a chain up to 4096 terms, a cascade beyond', () => {
    const short = schedule(sumProgram([CASCADE_MIN_TERMS], [0]), new StateLayout());
    const long = schedule(sumProgram([CASCADE_MIN_TERMS + 1], [0]), new StateLayout());
    expect(accsOf(short.kernels[0].body).map((a) => [a.type, a.scheme])).toEqual([['f32', undefined]]);
    expect(accsOf(long.kernels[0].body).map((a) => [a.type, a.scheme])).toEqual([['f32', 'cascade']]);
  });

  it('[1e8, 1, -1e8].sum() is 0 (float32) in the graph and kernel interpreters and on every device', async () => {
    const gp = sumProgram([3], [0]);
    const env = { inputs: [Float32Array.of(1e8, 1, -1e8)], cells: new Map(), scalars: new Float32Array(0) };
    expect(runReference(gp, env).outputs[0][0]).toBe(0);
    expect(runScheduled(schedule(gp, new StateLayout()), env).outputs[0][0]).toBe(0);
    for (const target of targets) {
      const f = await compile((x: Tensor) => x.sum(), { inputs: [{ shape: [3], dtype: 'float32' }], target });
      expect((await f.run(Float32Array.of(1e8, 1, -1e8))).item(), target).toBe(0);
    }
  });

  it('graph and kernel interpreters group the terms alike: the same bits, one axis or several', () => {
    const cases = [
      [[100003], [0]],
      [[37, 5000], [1]],
      [
        [300, 70, 9],
        [0, 2],
      ],
      [
        [50, 4000],
        [0, 1],
      ],
    ] as const;
    for (const [shape, axes] of cases) {
      const gp = sumProgram([...shape], [...axes]);
      const env = { inputs: [wild(shape.reduce((a, b) => a * b, 1))], cells: new Map(), scalars: new Float32Array(0) };
      const want = runReference(gp, env).outputs[0];
      const got = runScheduled(schedule(gp, new StateLayout()), env).outputs[0];
      expect(Array.from(got), `sum over ${axes} of [${shape}]`).toEqual(Array.from(want));
    }
  });

  it('cascadeSum is float32 chains of 32: blocks, blocks of block sums, each remainder added last', () => {
    const n = 32 * 32 * 20 + 32 * 5 + 17,
      x = wild(n);
    const f = Math.fround;
    const chain = (t: ArrayLike<number>, lo: number, hi: number) => {
      let acc = 0;
      for (let i = lo; i < hi; i++) acc = f(acc + t[i]);
      return acc;
    };
    const blocks = Float32Array.from({ length: 645 }, (_, j) => chain(x, j * 32, j * 32 + 32));
    const supers = Float32Array.from({ length: 20 }, (_, j) => chain(blocks, j * 32, j * 32 + 32));
    const want = f(f(chain(supers, 0, 20) + chain(blocks, 640, 645)) + chain(x, 645 * 32, n));
    expect(cascadeSum(0, n, (i) => x[i])).toBe(want);
    expect(want).not.toBe(chain(x, 0, n)); // the grouping matters for these terms
  });
});

describe('a cascade over several axes', () => {
  it("sums each innermost row as its own cascade, the rows' sums as the next axis's terms", () => {
    const ext = [70, 20, 3],
      n = 70 * 20 * 3,
      x = wild(n, 11);
    const f = Math.fround;
    const chain = (t: (i: number) => number, lo: number, hi: number) => {
      let acc = 0;
      for (let i = lo; i < hi; i++) acc = f(acc + t(i));
      return acc;
    };
    const rows3 = (r: number) => chain((i) => x[r * 3 + i], 0, 3); // [70, 20] rows of 3 terms
    const rows20 = (q: number) => chain((j) => rows3(q * 20 + j), 0, 20); // [70] rows of 20 row sums
    // 70 terms: two blocks of 32 and the remainder, as one axis's cascade
    const want = f(f(chain(rows20, 0, 32) + chain(rows20, 32, 64)) + chain(rows20, 64, 70));
    expect(cascadeSum(0, ext, (i) => x[i])).toBe(want);
    expect(want).not.toBe(cascadeSum(0, n, (i) => x[i])); // not the flat grouping
  });

  it('expands to loops over affine indices: no division recovers a loop variable', () => {
    const k = schedule(sumProgram([32, 8, 14, 14], [0, 2, 3]), new StateLayout()).kernels[0];
    expect(accsOf(k.body).map((a) => a.scheme)).toEqual(['cascade']);
    const text = printKernel(cascadeSums(k));
    expect(text).not.toMatch(/ [/%] /);
    expect(text.match(/for \w+ < (\d+)/g)).toEqual(['for r_c0 < 32', 'for r_c2 < 14', 'for r_c4 < 14']);
  });
});

describe.each(targets)('long sums on %s', (target) => {
  it.each(sizes(target))(
    'mean and sum of %d copies of 0.16 within 1e-6',
    async (n) => {
      const x = new Float32Array(n).fill(VALUE);
      const inputs = [{ shape: [n], dtype: 'float32' as const }];
      const mean = await compile((t: Tensor) => t.mean(), { inputs, target });
      const sum = await compile((t: Tensor) => t.sum(), { inputs, target });
      const m = (await mean.run(x)).item(),
        s = (await sum.run(x)).item();
      expect(rel(m, VALUE), `mean of ${n}: ${m}`).toBeLessThanOrEqual(TOL);
      expect(rel(s, n * VALUE), `sum of ${n}: ${s}`).toBeLessThanOrEqual(TOL);
    },
    120_000,
  );

  it('a sum over two axes of 1e6 varied terms within 1e-6 of the float64 sum', async () => {
    const x = Float32Array.from({ length: 1e6 }, (_, i) => 1 + ((i * 7919) % 1000) / 1000);
    let exact = 0;
    for (const v of x) exact += v;
    const f = await compile((t: Tensor) => t.sum(), { inputs: [{ shape: [1000, 1000], dtype: 'float32' }], target });
    expect(rel((await f.run(x)).item(), exact)).toBeLessThanOrEqual(TOL);
  }, 120_000);
});
