// The native runtime and the LLVM toolchain around it: state arenas, input checks, the cache,
// toolchain errors, and the vector instructions the Adam and matmul kernels compile to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileNative, compileNativeAsync, nativeAssembly, toolchainStats } from '../targets/llvm/index.js';
import { verifierMessage } from '../targets/llvm/toolchain.js';
import { createNativeDevice } from '../runtime/native/index.js';
import {
  adamProgram,
  adamScalars,
  add,
  ci,
  kernel,
  ld,
  matmul,
  mul,
  program,
  randn,
  relErr,
  sc,
  store,
  sub,
  v,
} from './llvm-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-llvm-rt-'));
const cacheDir = join(root, 'cache');
const freshDir = (name: string) => mkdtempSync(join(root, `${name}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const PACKED = /\bv(mul|add|sub|div|sqrt|fmadd\w*|fnmadd\w*)ps\s[^\n]*%[xyz]mm/;

describe('llvm target: native runtime', () => {
  it.each([
    ['serial', Infinity],
    ['split over threads', 0],
  ])('fused Adam over a flat state arena with host scalars (%s)', async (_, parallelThreshold) => {
    const n = 10007,
      off = { p: 3, g: 3 + n, m: 3 + 2 * n + 5, v: 3 + 3 * n + 11 };
    const prog = adamProgram(n, off);
    const dev = createNativeDevice();
    const exe = await dev.load(compileNative(prog, { cacheDir, parallelThreshold }));
    const init = {
      p: randn(n, 1),
      g: randn(n, 2),
      m: randn(n, 3).map((x) => x * 0.1),
      v: randn(n, 4).map((x) => x * x),
    };
    for (const k of ['p', 'g', 'm', 'v'] as const) dev.writeState('f32', off[k], init[k]);
    const ref = { p: init.p.slice(), m: init.m.slice(), v: init.v.slice() };
    const f = Math.fround;
    for (let t = 1; t <= 3; t++) {
      const s = adamScalars(t);
      await exe.run([], s);
      for (let i = 0; i < n; i++) {
        const g = init.g[i];
        ref.m[i] = f(f(s[0] * ref.m[i]) + f(s[1] * g));
        ref.v[i] = f(f(s[2] * ref.v[i]) + f(f(s[3] * g) * g));
        ref.p[i] = f(ref.p[i] - f(f(s[4] * ref.m[i]) / f(f(f(Math.sqrt(ref.v[i])) / s[5]) + s[6])));
      }
    }
    expect(relErr(await dev.readState('f32', off.p, n), ref.p)).toBeLessThan(1e-6);
    expect(relErr(await dev.readState('f32', off.m, n), ref.m)).toBeLessThan(1e-6);
    expect(relErr(await dev.readState('f32', off.v, n), ref.v)).toBeLessThan(1e-6);
    expect(await dev.readState('f32', off.g, n)).toEqual(init.g); // gradients untouched
  });

  it('the Adam and matmul kernels compile to packed vector instructions', () => {
    const adam = nativeAssembly(adamProgram(4096));
    expect(adam).toMatch(PACKED);
    expect(adam).toMatch(/\bvsqrtps\b/);
    expect(nativeAssembly(matmul(64, 64, 64))).toMatch(PACKED);
  });

  it('wrong inputs throw clear errors and change no state', async () => {
    // sgd-like: state[i] -= scalar0 * x[i]
    const n = 100;
    const prog = program(
      [
        { name: 'state', kind: 'state', dtype: 'f32', size: n },
        { name: 'x', kind: 'input', dtype: 'f32', size: n },
        { name: 'scalars', kind: 'scalars', dtype: 'f32', size: 1 },
      ],
      [kernel('sgd', [n], [store(0, v('g0'), sub(ld(0, v('g0')), mul(sc(0), ld(1, v('g0')))))])],
      { inputs: [{ buf: 1, offset: 0, shape: [n], dtype: 'float32' }], scalars: 1 },
    );
    const dev = createNativeDevice();
    const exe = await dev.load(compileNative(prog, { cacheDir }));
    const p0 = randn(n, 9);
    dev.writeState('f32', 0, p0);
    const one = Float32Array.of(1);
    await expect(exe.run([new Float32Array(n - 1)], one)).rejects.toThrow(
      /input 0: expected 100 elements for shape \[100\], got 99/,
    );
    await expect(exe.run([new Int32Array(n)], one)).rejects.toThrow(/input 0: expected a Float32Array \(dtype float32/);
    await expect(exe.run([], one)).rejects.toThrow(/expected 1 inputs, got 0/);
    await expect(exe.run([new Float32Array(n)], new Float32Array(0))).rejects.toThrow(/scalars.*needs 1/);
    expect(await dev.readState('f32', 0, n)).toEqual(p0);
    await exe.run([new Float32Array(n).fill(1)], Float32Array.of(0.5));
    expect(
      relErr(
        await dev.readState('f32', 0, n),
        p0.map((x) => x - 0.5),
      ),
    ).toBeLessThan(1e-6);
    // the executable keeps the scalars array it was last given; one that shrinks in place (a
    // length-tracking view of a resizable buffer) is measured again on the next call
    type Resizable = ArrayBuffer & { resize(bytes: number): void };
    const buffer = new (ArrayBuffer as unknown as new (n: number, o: object) => Resizable)(4, { maxByteLength: 8 });
    const shrinking = new Float32Array(buffer);
    shrinking[0] = 0.25;
    await exe.run([new Float32Array(n).fill(1)], shrinking);
    const after = await dev.readState('f32', 0, n);
    buffer.resize(0);
    await expect(exe.run([new Float32Array(n)], shrinking)).rejects.toThrow(
      /scalars.*has 0 elements; the program needs 1/,
    );
    expect(await dev.readState('f32', 0, n)).toEqual(after);
  });

  it('state arenas grow keeping contents; cells keep their offsets', async () => {
    const dev = createNativeDevice();
    dev.ensureState('i32', 4);
    dev.writeState('i32', 1, Int32Array.of(7, 8));
    dev.ensureState('i32', 1000);
    expect(await dev.readState('i32', 0, 4)).toEqual(Int32Array.of(0, 7, 8, 0));
    expect(() => dev.writeState('i32', 999, Int32Array.of(1, 2))).toThrow(/outside the i32 state arena/);
  });

  it('an identical program is not rebuilt (content-hash cache)', () => {
    const dir = freshDir('cache');
    const a = compileNative(adamProgram(1234), { cacheDir: dir });
    const runs = toolchainStats.runs;
    const b = compileNative(adamProgram(1234), { cacheDir: dir });
    expect(toolchainStats.runs).toBe(runs);
    expect(b.code.library).toBe(a.code.library);
    compileNative(adamProgram(1235), { cacheDir: dir });
    expect(toolchainStats.runs).toBeGreaterThan(runs);
  });

  it('builds without blocking the event loop (compileNativeAsync), into the same cache', async () => {
    const dir = freshDir('async');
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 1);
    const a = await compileNativeAsync(adamProgram(777), { cacheDir: dir });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    expect(compileNative(adamProgram(777), { cacheDir: dir }).code.library).toBe(a.code.library);
    const dev = createNativeDevice();
    await (await dev.load(a)).run([], adamScalars(1));
  });

  it('toolchain problems become clear errors', () => {
    const dir = freshDir('err');
    const saved = process.env.KILN_OPT;
    process.env.KILN_OPT = '/nonexistent/opt';
    try {
      expect(() => compileNative(adamProgram(99), { cacheDir: dir })).toThrow(
        /`\/nonexistent\/opt` was not found on PATH/,
      );
    } finally {
      if (saved === undefined) delete process.env.KILN_OPT;
      else process.env.KILN_OPT = saved;
    }
    expect(verifierMessage('define void @f() {\n  ret i32 0\n}\n')).toMatch(
      /opt.*failed[\s\S]*value doesn't match function result type/,
    );
    const bad = program(
      [{ name: 'o', kind: 'output', dtype: 'f32', size: 4 }],
      [kernel('bad', [4], [store(0, v('g0'), add(v('nope', 'f32'), ci(1)))])],
    );
    expect(() => compileNative(bad, { cacheDir: dir })).toThrow(/unbound variable nope/);
  });
});
