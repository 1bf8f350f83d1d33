// Grid loops are parallel (targets/llvm/parallel.ts): every buffer access of a kernel joins one access
// group and each grid loop's back-edge says llvm.loop.parallel_accesses, so LLVM vectorizes a grid loop
// even where the kernel reads and writes one buffer (the scratch arena) at places it cannot prove apart;
// serial loops (a reduction) and locals keep their ordering.
import { describe, expect, it } from 'vitest';
import { llvmIR, nativeAssembly } from '../targets/llvm/index.js';
import { nativeAvailable } from '../compiler/targets/native.js';
import { parallelGrids } from '../targets/llvm/parallel.js';
import { add, ci, kernel, ld, loop, mul, program, store, v } from './llvm-helpers.js';

const N = 1024;
/** b0[N + g] = sum_r b0[g * 4 + r]: reads and writes the same buffer, apart */
const sameBuffer = () =>
  program(
    [{ name: 'scratch', kind: 'scratch', dtype: 'f32', size: 5 * N }],
    [
      kernel(
        'rowsum',
        [N],
        [
          { s: 'acc', name: 's', type: 'f32', fn: 'add', init: 0 },
          loop('r', 4, [{ s: 'accum', name: 's', value: ld(0, add(mul(v('g0'), ci(4)), v('r'))) }], true),
          store(0, add(v('g0'), ci(4 * N)), v('s', 'f32')),
        ],
      ),
    ],
  );

describe('parallel grid loops', () => {
  it('tags buffer accesses with one access group and only grid back-edges with parallel_accesses', () => {
    const ir = llvmIR(sameBuffer(), { kernel: 0 });
    const tagged = ir.split('\n').filter((l) => l.includes('!llvm.access.group'));
    expect(tagged.length).toBeGreaterThanOrEqual(2); // the load in the reduction and the store
    expect(tagged.every((l) => /float\* %/.test(l))).toBe(true); // no local (the accumulator, the counters)
    const latches = ir.split('\n').filter((l) => l.includes('!llvm.loop'));
    expect(latches.length).toBeGreaterThanOrEqual(1);
    expect(latches.every((l) => /br label %gcond\d*,/.test(l))).toBe(true);
    expect(ir).toMatch(/!\d+ = !\{!"llvm.loop.parallel_accesses", !\d+\}/);
  });

  it('leaves a module without grid loops as it was', () => {
    const ir = 'define void @f() {\nentry:\n  ret void\n}\n';
    expect(parallelGrids(ir)).toBe(ir);
  });

  it.runIf(nativeAvailable())('and LLVM then vectorizes the grid loop', () => {
    expect(nativeAssembly(sameBuffer(), { kernel: 0 })).toMatch(/\b(vaddps|vmovups|vgatherdps)\b.*[xyz]mm/);
  });
});
