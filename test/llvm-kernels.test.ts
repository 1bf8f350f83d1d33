// The LLVM target on hand-built kernels, checked against the kernel-IR interpreter
// (targets/reference/kernels.ts) running the same program.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelProgram, Stmt } from '../compiler/ir/kernel.js';
import { llvmIR, nativeAssembly } from '../targets/llvm/index.js';
import { strategyOf } from '../compiler/kernel/opt.js';
import type { HostArray } from '../runtime/device.js';
import {
  add,
  bin,
  buf,
  c,
  cast,
  ci,
  div,
  io,
  kernel,
  ld,
  loop,
  matmul,
  mul,
  program,
  randn,
  relErr,
  runBoth,
  store,
  sub,
  un,
  v,
  where,
} from './llvm-helpers.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-llvm-test-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const both = (p: KernelProgram, inputs: HostArray[], parallelThreshold?: number) =>
  runBoth(p, inputs, { cacheDir, parallelThreshold });

describe('llvm target: kernels', () => {
  it('elementwise with broadcast index math (idiv/mod), flat and 3-d grids', async () => {
    const [A, B, C] = [3, 5, 37],
      n = A * B * C;
    const i = v('g0');
    const flat = kernel(
      'bcast',
      [n],
      [
        { s: 'let', name: 'a', value: bin('idiv', i, ci(B * C)) },
        { s: 'let', name: 'cc', value: bin('mod', i, ci(C)) },
        store(3, i, add(mul(ld(0, i), ld(1, add(mul(v('a'), ci(C)), v('cc')))), un('exp', ld(2, v('cc'))))),
      ],
    );
    const grid3 = kernel(
      'bcast3',
      [A, B, C],
      [
        store(
          4,
          add(mul(add(mul(v('g0'), ci(B)), v('g1')), ci(C)), v('g2')),
          bin('max', sub(ld(0, add(mul(add(mul(v('g0'), ci(B)), v('g1')), ci(C)), v('g2'))), ld(2, v('g2'))), c(0)),
        ),
      ],
    );
    const p = program(
      [
        buf('x', 'input', n),
        buf('y', 'input', A * C),
        buf('bias', 'input', C),
        buf('o1', 'output', n),
        buf('o2', 'output', n),
      ],
      [flat, grid3],
      { inputs: [io(0, [A, B, C]), io(1, [A, 1, C]), io(2, [C])], outputs: [io(3, [A, B, C]), io(4, [A, B, C])] },
    );
    const { native, oracle } = await both(p, [randn(n, 1), randn(A * C, 2), randn(C, 3)]);
    expect(relErr(native[0], oracle[0])).toBeLessThan(1e-6);
    expect(relErr(native[1], oracle[1])).toBe(0);
  });

  it('sum and max over the last axis take the multi-accumulator path (with remainder)', async () => {
    const [R, K] = [7, 1003];
    const body: Stmt[] = [
      { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
      { s: 'acc', name: 'm', type: 'f32', fn: 'max', init: -Infinity },
      loop(
        'k',
        K,
        [
          { s: 'accum', name: 's', value: ld(0, add(mul(v('g0'), ci(K)), v('k'))) },
          { s: 'accum', name: 'm', value: ld(0, add(mul(v('g0'), ci(K)), v('k'))) },
        ],
        true,
      ),
      store(1, v('g0'), v('s', 'f32')),
      store(2, v('g0'), v('m', 'f32')),
    ];
    const k = kernel('sum_max', [R], body);
    expect(strategyOf(k).cpu.kind).toBe('unroll');
    const p = program([buf('x', 'input', R * K), buf('sum', 'output', R), buf('max', 'output', R)], [k], {
      inputs: [io(0, [R, K])],
      outputs: [io(1, [R]), io(2, [R])],
    });
    const x = randn(R * K, 4);
    x[3 * K + K - 1] = 50; // the maximum sits in the remainder
    const { native, oracle } = await both(p, [x]);
    for (let r = 0; r < R; r++) {
      let exact = 0,
        mag = 0;
      for (let j = 0; j < K; j++) {
        exact += x[r * K + j];
        mag += Math.abs(x[r * K + j]);
      }
      // a reassociated float32 sum: within float32 rounding of the sum's magnitude
      expect(Math.abs(native[0][r] - exact)).toBeLessThan(1e-6 * mag);
      expect(Math.abs(oracle[0][r] - exact)).toBeLessThan(1e-6 * mag);
    }
    expect(native[1]).toEqual(oracle[1]);
    expect(native[1][3]).toBe(50);
  });

  it('sum over the first axis tiles the grid (exact: each lane sums in order)', async () => {
    const [K, N] = [300, 101];
    const k = kernel(
      'colsum',
      [N],
      [
        { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
        loop('k', K, [{ s: 'accum', name: 's', value: ld(0, add(mul(v('k'), ci(N)), v('g0'))) }], true),
        store(1, v('g0'), v('s', 'f32')),
      ],
    );
    expect(strategyOf(k).cpu.kind).toBe('tile');
    const p = program([buf('x', 'input', K * N), buf('o', 'output', N)], [k], {
      inputs: [io(0, [K, N])],
      outputs: [io(1, [N])],
    });
    const { native, oracle } = await both(p, [randn(K * N, 5)]);
    expect(relErr(native[0], oracle[0])).toBeLessThan(1e-6);
  });

  it('matmul: grid [M, N], reduce over K', async () => {
    const [M, N, K] = [33, 70, 45];
    const p = matmul(M, N, K);
    expect(strategyOf(p.kernels[0]).cpu.kind).toBe('tile');
    const { native, oracle } = await both(p, [randn(M * K, 6), randn(K * N, 7)]);
    expect(relErr(native[0], oracle[0])).toBeLessThan(1e-6);
    // and split over threads (threshold 0 forces kiln_par)
    const par = await both(p, [randn(M * K, 6), randn(K * N, 7)], 0);
    expect(par.native[0]).toEqual(native[0]);
  });

  it('batched matmul: grid [B, M, N] (rows blocked only in M)', async () => {
    const [Bt, M, N, K] = [3, 10, 19, 12];
    const k = kernel(
      'bmm',
      [Bt, M, N],
      [
        { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
        loop(
          'k',
          K,
          [
            {
              s: 'accum',
              name: 's',
              value: mul(
                ld(0, add(mul(add(mul(v('g0'), ci(M)), v('g1')), ci(K)), v('k'))),
                ld(1, add(mul(add(mul(v('g0'), ci(K)), v('k')), ci(N)), v('g2'))),
              ),
            },
          ],
          true,
        ),
        store(2, add(mul(add(mul(v('g0'), ci(M)), v('g1')), ci(N)), v('g2')), v('s', 'f32')),
      ],
    );
    expect(strategyOf(k).cpu.kind).toBe('tile');
    const p = program(
      [buf('a', 'input', Bt * M * K), buf('b', 'input', Bt * K * N), buf('c', 'output', Bt * M * N)],
      [k],
      { inputs: [io(0, [Bt, M, K]), io(1, [Bt, K, N])], outputs: [io(2, [Bt, M, N])] },
    );
    const { native, oracle } = await both(p, [randn(Bt * M * K, 13), randn(Bt * K * N, 14)]);
    expect(relErr(native[0], oracle[0])).toBeLessThan(1e-6);
    expect(llvmIR(p).length).toBeLessThan(400_000); // no 8 × 8 × 16 blow-up
  });

  it('int32 and bool values: comparisons, where, casts, logic', async () => {
    const n = 1000;
    const i = v('g0'),
      a = ld(0, i, 'i32'),
      x = ld(1, i);
    const k = kernel(
      'ints',
      [n],
      [
        { s: 'let', name: 'pos', value: bin('gt', x, c(0.25)) },
        store(2, i, where(v('pos', 'bool'), bin('mod', mul(a, ci(3)), ci(7)), un('neg', a))),
        store(3, i, add(mul(cast(a, 'f32'), x), cast(v('pos', 'bool'), 'f32'))),
        store(4, i, cast(bin('or', bin('eq', bin('idiv', a, ci(2)), ci(3)), un('not', v('pos', 'bool'))), 'i32')),
        store(5, i, cast(mul(x, c(10)), 'i32')),
        store(6, i, bin('and', ld(7, i, 'bool'), bin('lt', a, ci(500)))),
      ],
    );
    const p = program(
      [
        buf('a', 'input', n, 'i32'),
        buf('x', 'input', n),
        buf('o1', 'output', n, 'i32'),
        buf('o2', 'output', n),
        buf('o3', 'output', n, 'i32'),
        buf('o4', 'output', n, 'i32'),
        buf('o5', 'output', n, 'i32'),
        buf('flag', 'input', n, 'i32'),
      ],
      [k],
      {
        inputs: [io(0, [n], 'int32'), io(1, [n]), io(7, [n], 'bool')],
        outputs: [io(2, [n], 'int32'), io(3, [n]), io(4, [n], 'bool'), io(5, [n], 'int32'), io(6, [n], 'bool')],
      },
    );
    const ai = Int32Array.from({ length: n }, (_, j) => (j * 37) % 1000);
    const flag = Int32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 1 : 0));
    const { native, oracle } = await both(p, [ai, randn(n, 8), flag]);
    native.forEach((o, j) => expect(o, `output ${j}`).toEqual(oracle[j]));
    expect(native[3].some((z) => z < 0)).toBe(true); // negative truncation toward zero exercised
  });

  it('softmax over the last axis: several loops reading accumulators; a two-axis sum; an int32 sum', async () => {
    const [R, K] = [5, 203];
    const x = (k: string) => ld(0, add(mul(v('g0'), ci(K)), v(k)));
    const softmax = kernel(
      'softmax',
      [R],
      [
        { s: 'acc', name: 'm', type: 'f32', fn: 'max', init: -Infinity },
        loop('k', K, [{ s: 'accum', name: 'm', value: x('k') }], true),
        { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
        loop('k', K, [{ s: 'accum', name: 's', value: un('exp', sub(x('k'), v('m', 'f32'))) }], true),
        loop('k', K, [
          store(1, add(mul(v('g0'), ci(K)), v('k')), div(un('exp', sub(x('k'), v('m', 'f32'))), v('s', 'f32'))),
        ]),
      ],
    );
    const [A, B] = [7, 29]; // sum over axes 1, 2 of x viewed as [R, A, B] (A * B = K)
    const sum2 = kernel(
      'sum2',
      [R],
      [
        { s: 'acc', name: 't', type: 'f32', fn: 'add', init: 1 },
        loop(
          'a',
          A,
          [
            loop(
              'b',
              B,
              [{ s: 'accum', name: 't', value: ld(0, add(mul(v('g0'), ci(K)), add(mul(v('a'), ci(B)), v('b')))) }],
              true,
            ),
          ],
          true,
        ),
        store(2, v('g0'), v('t', 'f32')),
      ],
    );
    const isum = kernel(
      'isum',
      [R],
      [
        { s: 'acc', name: 'n', type: 'i32', fn: 'add', init: 0 },
        loop('k', K, [{ s: 'accum', name: 'n', value: cast(bin('gt', x('k'), c(0)), 'i32') }], true),
        store(3, v('g0'), v('n')),
      ],
    );
    const p = program(
      [buf('x', 'input', R * K), buf('sm', 'output', R * K), buf('s2', 'output', R), buf('cnt', 'output', R, 'i32')],
      [softmax, sum2, isum],
      { inputs: [io(0, [R, K])], outputs: [io(1, [R, K]), io(2, [R]), io(3, [R], 'int32')] },
    );
    const { native, oracle } = await both(p, [randn(R * K, 11)]);
    expect(relErr(native[0], oracle[0])).toBeLessThan(1e-5); // exp: libm vs Math.exp, plus a reassociated sum
    expect(relErr(native[1], oracle[1], 1)).toBeLessThan(1e-5);
    expect(native[2]).toEqual(oracle[2]);
  });

  it('a kernel with an empty grid (a total) runs its body once', async () => {
    const n = 4099;
    const total = kernel(
      'total',
      [],
      [
        { s: 'acc', name: 't', type: 'f32', fn: 'add', init: 0 },
        loop('k', n, [{ s: 'accum', name: 't', value: ld(0, v('k')) }], true),
        store(1, ci(0), v('t', 'f32')),
      ],
    );
    const p = program([buf('x', 'input', n), buf('o', 'output', 1)], [total], {
      inputs: [io(0, [n])],
      outputs: [io(1, [])],
    });
    const x = randn(n, 12);
    const { native } = await both(p, [x], 0);
    const mag = x.reduce((a, b) => a + Math.abs(b), 0);
    expect(Math.abs(native[0][0] - x.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6 * mag);
  });

  it('exposes LLVM IR and assembly for one kernel', () => {
    const p = matmul(16, 32, 8);
    expect(llvmIR(p)).toMatch(/define void @kiln_run\(float\* noalias %b0, float\* noalias %b1, float\* noalias %b2\)/);
    const one = llvmIR(p, { kernel: 0 });
    expect(one).toMatch(/define void @matmul\(/);
    expect(one).not.toMatch(/kiln_run/);
    expect(nativeAssembly(p, { kernel: 0 })).toMatch(/^matmul:/m);
  });
});
