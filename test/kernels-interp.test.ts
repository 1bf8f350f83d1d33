// The kernel interpreter on hand-written kernels: the oracle must itself be right.
import { describe, expect, it } from 'vitest';
import type { Expr, Kernel, KernelProgram } from '../compiler/ir/kernel.js';
import { runKernel, runKernelProgram } from '../targets/reference/kernels.js';

const v = (name: string): Expr => ({ e: 'var', type: 'i32', name });
const c = (value: number, type: 'f32' | 'i32' = 'i32'): Expr => ({ e: 'const', type, value });
const bin = (fn: any, a: Expr, b: Expr, type: any = a.type): Expr => ({ e: 'binary', type, fn, a, b });
const ld = (buf: number, index: Expr, type: any = 'f32'): Expr => ({ e: 'load', type, buf, index });
const meta = { ops: [], flops: 0, bytesRead: 0, bytesWritten: 0 };

describe('kernel interpreter', () => {
  it('runs an elementwise grid with f32 rounding', () => {
    const k: Kernel = {
      name: 'add',
      grid: [3],
      meta,
      body: [{ s: 'store', buf: 2, index: v('g0'), value: bin('add', ld(0, v('g0')), ld(1, v('g0'))) }],
    };
    const a = new Float32Array([0.1, 1e8, -2]),
      b = new Float32Array([0.2, 1, 0.5]),
      out = new Float32Array(3);
    runKernel(k, [a, b, out]);
    expect(Array.from(out)).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2)), 1e8, -1.5]);
  });

  it('reduces with accumulators in a serial loop (row sums of a 2x3 matrix, 2-d grid indexing)', () => {
    const k: Kernel = {
      name: 'rowsum',
      grid: [2],
      meta,
      body: [
        { s: 'acc', name: 'a', type: 'f32', fn: 'add', init: 0 },
        { s: 'acc', name: 'm', type: 'f32', fn: 'max', init: -Infinity },
        {
          s: 'loop',
          var: 'r0',
          extent: 3,
          reduce: true,
          body: [
            { s: 'let', name: 'x', value: ld(0, bin('add', bin('mul', v('g0'), c(3)), v('r0'))) },
            { s: 'accum', name: 'a', value: { e: 'var', type: 'f32', name: 'x' } },
            { s: 'accum', name: 'm', value: { e: 'var', type: 'f32', name: 'x' } },
          ],
        },
        { s: 'store', buf: 1, index: v('g0'), value: { e: 'var', type: 'f32', name: 'a' } },
        { s: 'store', buf: 2, index: v('g0'), value: { e: 'var', type: 'f32', name: 'm' } },
      ],
    };
    const x = new Float32Array([1, 2, 3, 4, -5, 6]),
      s = new Float32Array(2),
      m = new Float32Array(2);
    runKernel(k, [x, s, m]);
    expect(Array.from(s)).toEqual([6, 5]);
    expect(Array.from(m)).toEqual([3, 6]);
  });

  it('does index math, where, casts, bools stored as i32 and host scalars', () => {
    // out[i] = where(mask[i], x[i % 2] * s0, float(i / 2))
    const i = v('g0');
    const k: Kernel = {
      name: 'mix',
      grid: [4],
      meta,
      body: [
        {
          s: 'store',
          buf: 3,
          index: i,
          value: {
            e: 'where',
            type: 'f32',
            cond: { e: 'cast', type: 'bool', a: ld(1, i, 'i32') },
            a: bin('mul', ld(0, bin('mod', i, c(2))), { e: 'scalar', type: 'f32', slot: 0 }),
            b: { e: 'cast', type: 'f32', a: bin('idiv', i, c(2)) },
          },
        },
      ],
    };
    const prog: KernelProgram = {
      buffers: [
        { name: 'x', kind: 'input', dtype: 'f32', size: 2 },
        { name: 'mask', kind: 'input', dtype: 'i32', size: 4 },
        { name: 'scalars', kind: 'scalars', dtype: 'f32', size: 1 },
        { name: 'out', kind: 'output', dtype: 'f32', size: 4 },
      ],
      host: { vars: [], stmts: [], scalarCount: 1 },
      inputs: [],
      outputs: [],
      cells: [],
      peakBytes: 0,
      kernels: [k],
    };
    const out = new Float32Array(4);
    runKernelProgram(prog, [new Float32Array([10, 20]), new Int32Array([1, 0, 0, 1]), new Float32Array([0.5]), out]);
    expect(Array.from(out)).toEqual([5, 0, 1, 10]);
  });

  it('reports out-of-bounds accesses instead of reading undefined', () => {
    const k: Kernel = {
      name: 'oob',
      grid: [2],
      meta,
      body: [{ s: 'store', buf: 1, index: v('g0'), value: ld(0, bin('add', v('g0'), c(1))) }],
    };
    expect(() => runKernel(k, [new Float32Array(2), new Float32Array(2)])).toThrow(/out of bounds/);
  });
});

describe('kernel printer', () => {
  it('prints loops, accumulators, loads and stores as pseudo-code', async () => {
    const { printKernel } = await import('../compiler/kernel/print.js');
    const k: Kernel = {
      name: 'rowmax',
      grid: [2],
      meta,
      body: [
        { s: 'acc', name: 'm', type: 'f32', fn: 'max', init: -Infinity },
        {
          s: 'loop',
          var: 'r0',
          extent: 3,
          reduce: true,
          body: [{ s: 'accum', name: 'm', value: ld(0, bin('add', bin('mul', v('g0'), c(3)), v('r0'))) }],
        },
        { s: 'store', buf: 1, index: v('g0'), value: { e: 'var', type: 'f32', name: 'm' } },
      ],
    };
    expect(printKernel(k)).toBe(
      [
        'kernel rowmax grid[2]  # ',
        '  m: f32 = -Infinity (max)',
        '  for r0 < 3 (reduce):',
        '    m max= b0[((g0 * 3) + r0)]',
        '  b1[g0] = m',
      ].join('\n'),
    );
  });
});
