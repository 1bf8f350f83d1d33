// The LLVM target's register-blocked strategies at their edges, against the kernel-IR interpreter:
// grid extents that are not multiples of the block and reduce lengths that are not multiples of the
// vector width (the remainder loops), serial and split over threads (chunks not block-aligned);
// built for smaller register files (--cpu x86-64-v2 / -v3: smaller blocks), the same bits.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { nativeAssembly } from '../targets/llvm/index.js';
import { cpuProfile, hostTriple } from '../targets/llvm/cpu.js';
import { strategyOf } from '../compiler/kernel/opt.js';
import { shapeFor } from '../compiler/kernel/opt-cpu.js';
import {
  add,
  bin,
  buf,
  c,
  ci,
  io,
  kernel,
  ld,
  loop,
  mul,
  program,
  randn,
  runBoth,
  store,
  v,
  where,
} from './llvm-helpers.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-llvm-block-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const both = (p: KernelProgram, inputs: Float32Array[], parallelThreshold?: number, cpu?: string) =>
  runBoth(p, inputs, { cacheDir, parallelThreshold, cpu });

/** x86 levels this host can run (their code runs here): the CPU flags each one needs */
const flags = existsSync('/proc/cpuinfo')
  ? new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? [])
  : new Set<string>();
const x86 = hostTriple().startsWith('x86_64');
const levels = [
  ...(x86 && flags.has('sse4_2') && flags.has('popcnt') ? ['x86-64-v2'] : []),
  ...(x86 && ['avx2', 'fma', 'bmi2', 'movbe'].every((f) => flags.has(f)) ? ['x86-64-v3'] : []),
];

/** vector spills (stores to the stack) in the basic block with the most packed multiplies: the
 * vector reduce loop (a reload of a loop-invariant value spilled outside it costs what a load does) */
function hotLoopSpills(asm: string): number {
  const blocks = asm.split(/^\.?[\w.$]+:.*$/m);
  const hot = blocks.reduce(
    (a, b) => ((b.match(/mulps/g) ?? []).length > (a.match(/mulps/g) ?? []).length ? b : a),
    '',
  );
  expect(hot).toMatch(/mulps/);
  return (hot.match(/^\s*v?mov[au]ps\s+%[xyz]mm\d+, -?\d*\(%rsp\)/gm) ?? []).length;
}

/** relu(x·Wᵀ + bias), x [M,K], W [N,K] (both contiguous along K, like a Linear layer's forward) */
function linearRelu(M: number, N: number, K: number): KernelProgram {
  const g0 = v('g0'),
    g1 = v('g1');
  const k = kernel(
    'linear',
    [M, N],
    [
      { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
      loop(
        'r',
        K,
        [
          { s: 'let', name: 'a', value: ld(0, add(mul(g0, ci(K)), v('r'))) },
          { s: 'let', name: 'w', value: ld(1, add(mul(g1, ci(K)), v('r'))) },
          { s: 'accum', name: 's', value: mul(v('a', 'f32'), v('w', 'f32')) },
        ],
        true,
      ),
      { s: 'let', name: 'y', value: add(v('s', 'f32'), ld(2, g1)) },
      store(3, add(mul(g0, ci(N)), g1), where(bin('gt', v('y', 'f32'), c(0)), v('y', 'f32'), c(0))),
    ],
    2 * M * N * K,
  );
  return program(
    [buf('x', 'input', M * K), buf('w', 'input', N * K), buf('bias', 'input', N), buf('y', 'output', M * N)],
    [k],
    { inputs: [io(0, [M, K]), io(1, [N, K]), io(2, [N])], outputs: [io(3, [M, N])] },
  );
}

/** gᵀ·x: grid [I, J], reduce over the batch R (g [R, I], x [R, J]): the 'tile' strategy */
function gtx(I: number, J: number, R: number): KernelProgram {
  const k = kernel(
    'gtx',
    [I, J],
    [
      { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
      loop(
        'r',
        R,
        [
          { s: 'let', name: 'a', value: ld(0, add(v('g0'), mul(v('r'), ci(I)))) },
          { s: 'let', name: 'b', value: ld(1, add(v('g1'), mul(v('r'), ci(J)))) },
          { s: 'accum', name: 's', value: mul(v('a', 'f32'), v('b', 'f32')) },
        ],
        true,
      ),
      store(2, add(mul(v('g0'), ci(J)), v('g1')), v('s', 'f32')),
    ],
  );
  return program([buf('g', 'input', R * I), buf('x', 'input', R * J), buf('out', 'output', I * J)], [k], {
    inputs: [io(0, [R, I]), io(1, [R, J])],
    outputs: [io(2, [I, J])],
  });
}

describe('llvm target: blocked strategies at their edges', () => {
  it('block: x·Wᵀ with grid and reduce extents off the block (4×4 points, 8 lanes)', async () => {
    for (const [M, N, K] of [
      [13, 10, 37],
      [4, 4, 8],
      [6, 3, 21],
      [9, 17, 100],
    ]) {
      const p = linearRelu(M, N, K);
      expect(strategyOf(p.kernels[0]).cpu.kind).toBe('block');
      const inputs = [randn(M * K, M), randn(N * K, N), randn(N, K)];
      const { native, oracle } = await both(p, inputs);
      // lanes sum every 8th term in order, then pairwise: a reordered sum, so within the float32
      // rounding bound of a K-term sum (a dropped or doubled term would be off by ~|a·w|)
      let worst = 0;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let mag = Math.abs(inputs[2][j]);
          for (let r = 0; r < K; r++) mag += Math.abs(inputs[0][i * K + r] * inputs[1][j * K + r]);
          worst = Math.max(worst, Math.abs(native[0][i * N + j] - oracle[0][i * N + j]) / (mag * (K + 1) * 2 ** -24));
        }
      expect(worst).toBeLessThan(1);
      const par = await both(p, inputs, 0); // kiln_par: chunks of g0 need not be multiples of 4
      expect(par.native[0]).toEqual(native[0]);
    }
  });

  it.skipIf(levels.length === 0)(
    "block and tile built for x86-64-v2 / -v3 (smaller blocks): the native build's bits",
    async () => {
      for (const cpu of levels) {
        for (const [M, N, K] of [
          [13, 10, 37],
          [4, 4, 8],
          [9, 17, 100],
          [64, 20, 784],
        ]) {
          const p = linearRelu(M, N, K);
          const inputs = [randn(M * K, M + 1), randn(N * K, N + 1), randn(N, K + 1)];
          const ref = await both(p, inputs);
          // same lanes (8 partial sums per point, whatever the vector width), no FMA: the same bits
          expect((await both(p, inputs, undefined, cpu)).native[0]).toEqual(ref.native[0]);
          expect((await both(p, inputs, 0, cpu)).native[0]).toEqual(ref.native[0]);
        }
        for (const [I, J, R] of [
          [11, 37, 9],
          [8, 16, 64],
        ]) {
          const p = gtx(I, J, R),
            inputs = [randn(R * I, I), randn(R * J, J)];
          const { native, oracle } = await both(p, inputs, undefined, cpu);
          expect(native[0]).toEqual(oracle[0]);
        }
        const asm = nativeAssembly(linearRelu(16, 16, 256), { kernel: 0, cpu });
        expect(asm).not.toMatch(/vfmadd/);
        expect(hotLoopSpills(asm)).toBe(0);
      }
    },
  );

  it('the block loop keeps its accumulators and operands in registers (no spills)', () => {
    expect(hotLoopSpills(nativeAssembly(linearRelu(16, 16, 256), { kernel: 0, cpu: 'native' }))).toBe(0);
  });

  it('register blocks follow the target CPU', () => {
    expect(shapeFor(cpuProfile('x86-64-v4', 'x86_64-pc-linux-gnu'))).toEqual({
      tileRows: 8,
      blockRows: 4,
      blockCols: 4,
    });
    expect(shapeFor(cpuProfile('skylake-avx512', 'x86_64-pc-linux-gnu'))).toEqual({
      tileRows: 8,
      blockRows: 4,
      blockCols: 4,
    });
    expect(shapeFor(cpuProfile('x86-64-v3', 'x86_64-pc-linux-gnu'))).toEqual({
      tileRows: 4,
      blockRows: 2,
      blockCols: 4,
    });
    expect(shapeFor(cpuProfile('haswell', 'x86_64-pc-linux-gnu'))).toEqual({ tileRows: 4, blockRows: 2, blockCols: 4 });
    expect(shapeFor(cpuProfile('x86-64-v2', 'x86_64-pc-linux-gnu'))).toEqual({
      tileRows: 2,
      blockRows: 2,
      blockCols: 2,
    });
    expect(shapeFor(cpuProfile('x86-64', 'x86_64-pc-linux-gnu'))).toEqual({ tileRows: 2, blockRows: 2, blockCols: 2 });
    expect(shapeFor(cpuProfile('native', 'aarch64-unknown-linux-gnu'))).toEqual({
      tileRows: 4,
      blockRows: 2,
      blockCols: 4,
    });
    if (x86 && flags.has('avx512f')) {
      expect(shapeFor(cpuProfile('native'))).toEqual({ tileRows: 8, blockRows: 4, blockCols: 4 });
    }
  });

  it('block: a reduce shorter than the vector width is a plain loop (unroll strategy)', () => {
    expect(strategyOf(linearRelu(5, 5, 7).kernels[0]).cpu.kind).toBe('unroll');
  });

  it('block compiles to packed multiplies and adds, not FMA', () => {
    const asm = nativeAssembly(linearRelu(16, 16, 64), { kernel: 0 });
    expect(asm).toMatch(/vmulps\s+[^\n]*[yz]mm/);
    expect(asm).toMatch(/vaddps\s+[^\n]*[yz]mm/);
    expect(asm).not.toMatch(/vfmadd/);
  });

  it('tile with blocked rows (8 on AVX-512): gᵀ·x (grid [I, J], reduce over the batch), bit-exact', async () => {
    for (const [I, J, R] of [
      [11, 37, 9],
      [8, 16, 64],
      [21, 50, 3],
    ]) {
      const p = gtx(I, J, R);
      expect(strategyOf(p.kernels[0]).cpu.kind).toBe('tile');
      const inputs = [randn(R * I, I), randn(R * J, J)];
      const { native, oracle } = await both(p, inputs);
      expect(native[0]).toEqual(oracle[0]); // each lane sums in order
      expect((await both(p, inputs, 0)).native[0]).toEqual(oracle[0]);
    }
  });
});
