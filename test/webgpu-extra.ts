// Device-level tests beyond kernel results: arena growth, limits, errors.
import { expect, it } from 'vitest';
import { createWebGPUDevice, type NodeBackend, type WebGPUDevice } from '../runtime/webgpu/index.js';
import { buildWGSL } from '../targets/wgsl/index.js';
import { acc, accum, bin, buf, c, g, kernel, ld, loop, place, program, st, v } from './webgpu-cases.js';

export function add(dev: () => WebGPUDevice, backend: string): void {
  it('state arena grows, keeps its contents and rebinds loaded programs', async () => {
    const d = dev();
    const base = d.stateLength('f32');
    // out[i] = state[i] * 2 over the first 64 cells of the f32 arena
    const p = program(
      [buf('s', 'state', 64), buf('o', 'output', 64)],
      [kernel('dbl', [64], [st(1, g(0), bin('mul', ld(0, g(0)), c(2)))])],
      [],
      [place(1, [64])],
    );
    const exe = await d.load(buildWGSL(p));
    const init = Float32Array.from({ length: 64 }, (_, i) => i + 0.5);
    d.writeState('f32', 0, init);
    expect(Array.from((await exe.run([], new Float32Array(0)))[0])).toEqual(Array.from(init, (x) => x * 2));
    d.ensureState('f32', Math.max(base, 64) * 4 + 1000); // replaces the arena buffer
    expect(d.stateLength('f32')).toBeGreaterThanOrEqual(Math.max(base, 64) * 4 + 1000);
    expect(Array.from(await d.readState('f32', 0, 64))).toEqual(Array.from(init));
    d.writeState('f32', 1, new Float32Array([100]));
    expect((await exe.run([], new Float32Array(0)))[0][1]).toBe(200);
    expect(() => d.writeState('f32', d.stateLength('f32'), new Float32Array(1))).toThrow(/outside the arena/);
  });

  it('a kernel binding more buffers than maxStorageBuffersPerShaderStage fails, naming the limit', async () => {
    const d = dev();
    const n = d.limits.maxStorageBuffersPerShaderStage + 1; // n - 1 inputs + 1 output
    let sum = ld(0, g(0));
    for (let i = 1; i < n - 1; i++) sum = bin('add', sum, ld(i, g(0)));
    const bufs = Array.from({ length: n - 1 }, (_, i) => buf(`x${i}`, 'input', 4));
    const p = program(
      [...bufs, buf('o', 'output', 4)],
      [kernel('wide', [4], [st(n - 1, g(0), sum)])],
      bufs.map((_, i) => place(i, [4])),
      [place(n - 1, [4])],
    );
    await expect(d.load(buildWGSL(p))).rejects.toThrow(/maxStorageBuffersPerShaderStage = \d+, the device allows \d+/);
  });

  it('a program at exactly maxStorageBuffersPerShaderStage loads and runs', async () => {
    const d = dev();
    const n = d.limits.maxStorageBuffersPerShaderStage;
    let sum = ld(0, g(0));
    for (let i = 1; i < n - 1; i++) sum = bin('add', sum, ld(i, g(0)));
    const bufs = Array.from({ length: n - 1 }, (_, i) => buf(`x${i}`, 'input', 4));
    const p = program(
      [...bufs, buf('o', 'output', 4)],
      [kernel('wide', [4], [st(n - 1, g(0), sum)])],
      bufs.map((_, i) => place(i, [4])),
      [place(n - 1, [4])],
    );
    const exe = await d.load(buildWGSL(p));
    const ins = bufs.map((_, i) => new Float32Array([i, 1, 2, 3]));
    const [out] = await exe.run(ins, new Float32Array(0));
    expect(Array.from(out)).toEqual([((n - 2) * (n - 1)) / 2, n - 1, 2 * (n - 1), 3 * (n - 1)]);
  });

  it('invalid WGSL fails at load with the kernel name; bad inputs fail before running', async () => {
    const d = dev();
    const p = program([buf('o', 'output', 4)], [kernel('ok', [4], [st(0, g(0), c(1))])], [], [place(0, [4])]);
    const art = buildWGSL(p);
    art.code.kernels[0].wgsl = art.code.kernels[0].wgsl.replace('b0[', 'nope[');
    await expect(d.load(art)).rejects.toThrow(/kernel ok/);
    const q = program(
      [buf('x', 'input', 4), buf('o', 'output', 4)],
      [kernel('cp', [4], [st(1, g(0), ld(0, g(0)))])],
      [place(0, [4])],
      [place(1, [4])],
    );
    const exe = await d.load(buildWGSL(q));
    await expect(exe.run([new Float32Array(3)], new Float32Array(0))).rejects.toThrow(/expected 4 elements/);
    expect(Array.from((await exe.run([new Float32Array([1, 2, 3, 4])], new Float32Array(0)))[0])).toEqual([1, 2, 3, 4]);
  });

  it('concurrent runs are serialized and each gets its own results', async () => {
    const q = program(
      [buf('x', 'input', 256), buf('o', 'output', 256)],
      [kernel('sq', [256], [st(1, g(0), bin('mul', ld(0, g(0)), ld(0, g(0))))])],
      [place(0, [256])],
      [place(1, [256])],
    );
    const exe = await dev().load(buildWGSL(q));
    const ins = [1, 2, 3, 4].map((k) => new Float32Array(256).fill(k));
    const outs = await Promise.all(ins.map((x) => exe.run([x], new Float32Array(0))));
    outs.forEach(([o], i) => expect(o.every((y) => y === (i + 1) ** 2)).toBe(true));
  });

  it("a kernel beyond llvmpipe's loop limit is refused there and runs elsewhere", async () => {
    const d = dev();
    const nested = (inner: number) => {
      const sum = loop('i', 2000, [loop('j', inner, [accum('s', ld(0, v('j')))])]);
      const body = [acc('s', 'add', 0), sum, st(1, g(0), v('s', 'f32'))];
      const bufs = [buf('x', 'input', inner), buf('o', 'output', 1)];
      return program(bufs, [kernel('long', [1], body)], [place(0, [inner])], [place(1, [1])]);
    };
    // 2000 x 300 nested serial loops fit once the inner one is unrolled 32 times (48k loop tests)
    const fits = buildWGSL(nested(300));
    expect(fits.code.kernels[0].loopTrips).toBeLessThanOrEqual(65535);
    const [o300] = await (await d.load(fits)).run([new Float32Array(300).fill(0.5)], new Float32Array(0));
    expect(o300[0]).toBe(300000);
    // 2000 x 3000: over 200k even unrolled
    const art = buildWGSL(nested(3000));
    expect(art.code.kernels[0].loopTrips).toBeGreaterThan(65535);
    if (d.isLlvmpipe) {
      await expect(d.load(art)).rejects.toThrow(/llvmpipe stops every invocation after 65535/);
    } else {
      const x = new Float32Array(3000).fill(0.5);
      const [o] = await (await d.load(art)).run([x], new Float32Array(0));
      expect(o[0]).toBe(3000000);
    }
  });

  it('debug mode: error scopes, compiler messages with the WGSL line', async () => {
    const d = await createWebGPUDevice({ backend: backend as NodeBackend, debug: true });
    try {
      const p = program([buf('o', 'output', 4)], [kernel('dbg', [4], [st(0, g(0), c(1))])], [], [place(0, [4])]);
      const art = buildWGSL(p);
      art.code.kernels[0].wgsl = art.code.kernels[0].wgsl.replace('b0[v_g0] = 1f', 'b0[v_g0] = 1i');
      await expect(d.load(art)).rejects.toThrow(/kernel dbg: WGSL does not compile:\n\d+:\d+: .*\n.*b0\[v_g0\] = 1i/);
      const [o] = await (await d.load(buildWGSL(p))).run([], new Float32Array(0));
      expect(Array.from(o)).toEqual([1, 1, 1, 1]);
    } finally {
      d.destroy();
    }
  });
}
