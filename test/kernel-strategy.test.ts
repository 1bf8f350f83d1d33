// The strategy pass (compiler/kernel/opt.ts): strides read off the index algebra, each target's
// choice recorded on the scheduled kernel and printed with its kernel IR.
import { describe, expect, it } from 'vitest';
import { ixOfExpr, ixVar, strideOf } from '../compiler/kernel/index-algebra.js';
import { printStrategy, strategyOf } from '../compiler/kernel/opt.js';
import { printKernel } from '../compiler/kernel/print.js';
import { add, bin, ci, kernel, ld, loop, mul, store, v, where } from './llvm-helpers.js';

const scope = (extents: Record<string, number>, lets: Record<string, ReturnType<typeof v>> = {}) => ({
  extent: (n: string) => extents[n],
  value: (n: string) => lets[n],
});

describe('strides from the index algebra', () => {
  it('reads a linear index off exactly, through lets; not affine inside floor and mod', () => {
    const ix = ixOfExpr(add(mul(v('g0'), ci(784)), v('r')), scope({ g0: 64, r: 784 }))!;
    expect(strideOf(ix, 'r')).toBe(1);
    expect(strideOf(ix, 'g0')).toBe(784);
    expect(strideOf(ix, 'g1')).toBe(0);
    const viaLet = ixOfExpr(add(v('t'), ci(3)), scope({ r: 8 }, { t: mul(v('r'), ci(5)) }))!;
    expect(strideOf(viaLet, 'r')).toBe(5);
    // r mod 4 over r < 8 wraps: no single step
    expect(strideOf(ixOfExpr(bin('mod', v('r'), ci(4)), scope({ r: 8 }))!, 'r')).toBeNull();
    // ... but over r < 4 it is r itself
    expect(strideOf(ixOfExpr(bin('mod', v('r'), ci(4)), scope({ r: 4 }))!, 'r')).toBe(1);
    expect(strideOf(ixVar('g0', 10), 'g0')).toBe(1);
  });
  it('a guarded index or a loaded value is not index math', () => {
    const s = scope({ g0: 8 });
    expect(ixOfExpr(where(bin('lt', v('g0'), ci(4)), v('g0'), ci(0)), s)).toBeNull();
    expect(ixOfExpr(add(v('g0'), ld(0, v('g0'), 'i32')), s)).toBeNull();
    expect(ixOfExpr(mul(v('g0'), v('g0')), s)).toBeNull();
  });
});

describe('strategy pass', () => {
  const colsum = (K: number, N: number, stride: number) =>
    kernel(
      'colsum',
      [N],
      [
        { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
        loop(
          'k',
          K,
          [{ s: 'accum', name: 's', value: ld(0, add(mul(v('k'), ci(N * stride)), mul(v('g0'), ci(stride)))) }],
          true,
        ),
        store(1, v('g0'), v('s', 'f32')),
      ],
    );
  it('tiles a reduction whose loads are contiguous across the last grid dim, unrolls otherwise', () => {
    expect(strategyOf(colsum(300, 101, 1)).cpu).toEqual({ kind: 'tile', lanes: 16, maxRows: 1 });
    expect(strategyOf(colsum(300, 101, 2)).cpu).toEqual({ kind: 'unroll', factor: 8, loops: ['k'] });
  });
  it('picks a tree reduction on the GPU for a long reduction over a small grid', () => {
    const s = strategyOf(colsum(4096, 4, 1));
    expect(s.gpu).toEqual({ kind: 'tree', workgroupSize: 64, loops: [1], unroll: 8, loopTrips: 24 });
    // each thread's 64 iterations unrolled by 8 (8 + 1 main trips, 8 + 1 remainder), plus 6 tree rounds
    expect(printStrategy(s)).toBe(
      'cpu: unroll x8 [k]; gpu: tree reduction, 64 threads, body[1], unroll x8, <= 24 loop trips',
    );
  });
  it("finds a matmul by its loads' strides, whatever the variables are named", () => {
    const [M, N, K] = [33, 70, 45];
    const mm = kernel(
      'mm',
      [M, N],
      [
        { s: 'acc', name: 'acc', type: 'f32', fn: 'add', init: 0 },
        loop(
          'q',
          K,
          [
            {
              s: 'accum',
              name: 'acc',
              value: mul(ld(1, add(mul(v('q'), ci(N)), v('g1'))), ld(0, add(mul(v('g0'), ci(K)), v('q')))),
            },
          ],
          true,
        ),
        store(2, add(mul(v('g0'), ci(N)), v('g1')), v('acc', 'f32')),
      ],
    );
    expect(strategyOf(mm).gpu).toEqual({ kind: 'tile', edge: 8, loop: 1, a: 1, b: 0 });
  });
  it('is printed with the kernel IR once recorded', () => {
    const k = colsum(300, 101, 1);
    expect(printKernel(k)).not.toMatch(/strategy/);
    expect(printKernel({ ...k, strategy: strategyOf(k) }).split('\n')[1]).toBe(
      '  strategy: cpu: tile 16 lanes, rows <= 1; gpu: tree reduction, 64 threads, body[1], unroll x8, ' +
        '<= 12 loop trips',
    );
  });
});
