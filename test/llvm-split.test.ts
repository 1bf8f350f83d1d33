// The split native build (targets/llvm/split.ts, objects.ts): one module per kernel plus the entry
// module, each object cached by its own text, so a program that changes one kernel re-runs opt and llc
// for that kernel and the entry module only; identical kernels are one module; serial and thread-split
// kernels give the interpreter's results.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileNative, compileNativeAsync, hostCpu, toolchainStats } from '../targets/llvm/index.js';
import { add, buf, c, io, kernel, ld, mul, program, randn, runBoth, store, v } from './llvm-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-llvm-split-'));
const freshDir = (name: string) => mkdtempSync(join(root, `${name}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const n = 64;
/** out0 = x * a, out1 = x + b, out2 = out0 + out1 (three kernels); `a`, `b`: constants in the IR */
function threeKernels(a: number, b: number) {
  const g = v('g0');
  return program(
    [buf('x', 'input', n), buf('o0', 'output', n), buf('o1', 'output', n), buf('o2', 'output', n)],
    [
      kernel('scale', [n], [store(1, g, mul(ld(0, g), c(a)))]),
      kernel('shift', [n], [store(2, g, add(ld(0, g), c(b)))]),
      kernel('sum', [n], [store(3, g, add(ld(1, g), ld(2, g)))]),
    ],
    { inputs: [io(0, [n])], outputs: [io(1, [n]), io(2, [n]), io(3, [n])] },
  );
}

const objects = (dir: string) => readdirSync(join(dir, 'obj')).filter((f) => f.endsWith('.o')).length;

describe('llvm target: split build', () => {
  it('rebuilds only the kernel that changed (and the entry module), then links', async () => {
    const dir = freshDir('one');
    hostCpu(); // asks llc once per process: not a build's run
    const before = toolchainStats.runs;
    await compileNativeAsync(threeKernels(2, 1), { cacheDir: dir });
    // 4 modules × (opt, llc), the runtime's object, the link
    expect(toolchainStats.runs - before).toBe(4 * 2 + 1 + 1);
    expect(objects(dir)).toBe(5);
    const again = toolchainStats.runs;
    await compileNativeAsync(threeKernels(3, 1), { cacheDir: dir });
    // the scale kernel and the entry module (it calls the new kernel by its new name), the link
    expect(toolchainStats.runs - again).toBe(2 * 2 + 1);
    expect(objects(dir)).toBe(7);
    const sync = toolchainStats.runs;
    compileNative(threeKernels(3, 5), { cacheDir: dir }); // the synchronous build shares the objects
    expect(toolchainStats.runs - sync).toBe(2 * 2 + 1);
  });

  it.each([
    ['serial', Infinity],
    ['split over threads', 0],
  ])('gives the interpreter results (%s), identical kernels built once', async (_, parallelThreshold) => {
    const dir = freshDir('twice');
    const p = threeKernels(0.5, -2);
    p.kernels.push({ ...p.kernels[0] }); // the same kernel again: one module, called twice
    const x = randn(n, 3);
    const before = toolchainStats.runs;
    const { native, oracle } = await runBoth(p, [x], { cacheDir: dir, parallelThreshold });
    expect(toolchainStats.runs - before).toBe(4 * 2 + 1 + 1);
    expect(native).toEqual(oracle);
  });
});
