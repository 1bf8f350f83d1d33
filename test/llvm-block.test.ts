// The LLVM target's register-blocked strategies at their edges, against the kernel-IR interpreter:
// grid extents that are not multiples of the block and reduce lengths that are not multiples of the
// vector width (the remainder loops), serial and split over threads (chunks not block-aligned).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BufferDecl, KernelProgram } from '../compiler/ir/kernel.js';
import { compileNative, nativeAssembly } from '../targets/llvm/index.js';
import { chooseStrategy } from '../targets/llvm/plan.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { allocMemories, runKernelProgram } from '../targets/reference/kernels.js';
import { add, bin, c, ci, kernel, ld, loop, mul, program, randn, store, v, where } from './llvm-helpers.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-llvm-block-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

async function both(p: KernelProgram, inputs: Float32Array[], parallelThreshold?: number) {
  const exe = await createNativeDevice().load(compileNative(p, { cacheDir, parallelThreshold }));
  const native = await exe.run(inputs, new Float32Array(0));
  const bufs = allocMemories(p);
  p.inputs.forEach((pl, i) => bufs[pl.buf].set(inputs[i], pl.offset));
  runKernelProgram(p, bufs);
  const oracle = p.outputs.map((pl) => bufs[pl.buf].slice(pl.offset, pl.offset + pl.shape.reduce((a, b) => a * b, 1)));
  return { native, oracle };
}

const buf = (name: string, kind: BufferDecl['kind'], size: number): BufferDecl => ({ name, kind, dtype: 'f32', size });
const io = (b: number, shape: number[]) => ({ buf: b, offset: 0, shape, dtype: 'float32' as const });

/** relu(x·Wᵀ + bias), x [M,K], W [N,K] (both contiguous along K, like a Linear layer's forward) */
function linearRelu(M: number, N: number, K: number): KernelProgram {
  const g0 = v('g0'), g1 = v('g1');
  const k = kernel('linear', [M, N], [
    { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
    loop('r', K, [
      { s: 'let', name: 'a', value: ld(0, add(mul(g0, ci(K)), v('r'))) },
      { s: 'let', name: 'w', value: ld(1, add(mul(g1, ci(K)), v('r'))) },
      { s: 'accum', name: 's', value: mul(v('a', 'f32'), v('w', 'f32')) },
    ], true),
    { s: 'let', name: 'y', value: add(v('s', 'f32'), ld(2, g1)) },
    store(3, add(mul(g0, ci(N)), g1), where(bin('gt', v('y', 'f32'), c(0)), v('y', 'f32'), c(0))),
  ], 2 * M * N * K);
  return program([buf('x', 'input', M * K), buf('w', 'input', N * K), buf('bias', 'input', N), buf('y', 'output', M * N)], [k],
    { inputs: [io(0, [M, K]), io(1, [N, K]), io(2, [N])], outputs: [io(3, [M, N])] });
}

describe('llvm target: blocked strategies at their edges', () => {
  it('block: x·Wᵀ with grid and reduce extents off the block (4×4 points, 8 lanes)', async () => {
    for (const [M, N, K] of [[13, 10, 37], [4, 4, 8], [6, 3, 21], [9, 17, 100]]) {
      const p = linearRelu(M, N, K);
      expect(chooseStrategy(p.kernels[0])).toBe('block');
      const inputs = [randn(M * K, M), randn(N * K, N), randn(N, K)];
      const { native, oracle } = await both(p, inputs);
      // lanes sum every 8th term in order, then pairwise: a reordered sum, so within the float32
      // rounding bound of a K-term sum (a dropped or doubled term would be off by ~|a·w|)
      let worst = 0;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let mag = Math.abs(inputs[2][j]);
        for (let r = 0; r < K; r++) mag += Math.abs(inputs[0][i * K + r] * inputs[1][j * K + r]);
        worst = Math.max(worst, Math.abs(native[0][i * N + j] - oracle[0][i * N + j]) / (mag * (K + 1) * 2 ** -24));
      }
      expect(worst).toBeLessThan(1);
      const par = await both(p, inputs, 0); // kiln_par: chunks of g0 need not be multiples of 4
      expect(par.native[0]).toEqual(native[0]);
    }
  });

  it('block: a reduce shorter than the vector width is a plain loop (unroll strategy)', () => {
    expect(chooseStrategy(linearRelu(5, 5, 7).kernels[0])).toBe('unroll');
  });

  it('block compiles to packed multiplies and adds, not FMA', () => {
    const asm = nativeAssembly(linearRelu(16, 16, 64), { kernel: 0 });
    expect(asm).toMatch(/vmulps\s+[^\n]*[yz]mm/);
    expect(asm).toMatch(/vaddps\s+[^\n]*[yz]mm/);
    expect(asm).not.toMatch(/vfmadd/);
  });

  it('tile with 8 blocked rows: gᵀ·x (grid [I, J], reduce over the batch), bit-exact', async () => {
    for (const [I, J, R] of [[11, 37, 9], [8, 16, 64], [21, 50, 3]]) {
      const k = kernel('gtx', [I, J], [
        { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
        loop('r', R, [
          { s: 'let', name: 'a', value: ld(0, add(v('g0'), mul(v('r'), ci(I)))) },
          { s: 'let', name: 'b', value: ld(1, add(v('g1'), mul(v('r'), ci(J)))) },
          { s: 'accum', name: 's', value: mul(v('a', 'f32'), v('b', 'f32')) },
        ], true),
        store(2, add(mul(v('g0'), ci(J)), v('g1')), v('s', 'f32')),
      ]);
      expect(chooseStrategy(k)).toBe('tile');
      const p = program([buf('g', 'input', R * I), buf('x', 'input', R * J), buf('out', 'output', I * J)], [k],
        { inputs: [io(0, [R, I]), io(1, [R, J])], outputs: [io(2, [I, J])] });
      const inputs = [randn(R * I, I), randn(R * J, J)];
      const { native, oracle } = await both(p, inputs);
      expect(native[0]).toEqual(oracle[0]); // each lane sums in order
      expect((await both(p, inputs, 0)).native[0]).toEqual(oracle[0]);
    }
  });
});
