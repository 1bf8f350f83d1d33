// rand()/randn() inside compile(): fresh numbers every run from Philox4x32-10 keyed by manualSeed
// (compiler/random-traced.ts), reproducible after manualSeed, bit-identical uniforms and normals on
// every target (Box-Muller by float32 polynomials, no built-in log/sin/cos), fused into kernels,
// and a dropout mask that gradients flow through.
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, rand, randn, type Tensor } from '../compiler/index.js';
import { tracedStream } from '../compiler/random.js';
import { trace } from '../compiler/trace.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { printKernelProgram } from '../compiler/kernel/print.js';
import { runHostProgram } from '../runtime/host.js';
import { mulhi32, philox4x32, randomAt } from '../targets/reference/philox.js';
import { runScheduled } from './kernels-util.js';

const TARGETS = ['reference', 'native', 'webgpu'];
const N = 1000;
const hex = (w: number[]) => w.map((x) => x.toString(16).padStart(8, '0')).join(' ');
const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
const variance = (a: Float32Array) => {
  const m = mean(a);
  return a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length;
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** the 8 pieces a run hands to kernels: 16-bit halves of the seed and of the run offset */
function piecesOf(seed: number, offset: number): number[] {
  const half = (x: number, k: number) => Math.floor(x / 2 ** (16 * k)) % 65536;
  return [0, 1, 2, 3].map((k) => half(seed, k)).concat([0, 1, 2, 3].map((k) => half(offset, k)));
}

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32(ones, ones, ones, ones, ones, ones))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('mulhi32 from 16-bit halves is the high word of the 64-bit product', () => {
    const xs = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xd2511f53, 0xcd9e8d57, 0x12345678];
    for (const a of xs)
      for (const b of xs) {
        expect(mulhi32(a, b), `${a} * ${b}`).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
      }
  });
});

describe.each(TARGETS)('rand/randn inside compile() on %s', (target) => {
  it('draws fresh values every run, the same sequence again after manualSeed', async () => {
    manualSeed(7);
    const f = await compile(() => rand([N]), { inputs: [], target });
    const runs: Float32Array[] = [];
    for (let k = 0; k < 3; k++) runs.push((await f.run()).data);
    expect(maxAbsDiff(runs[0], runs[1])).toBeGreaterThan(0.5);
    expect(maxAbsDiff(runs[1], runs[2])).toBeGreaterThan(0.5);
    manualSeed(7);
    for (let k = 0; k < 3; k++) expect((await f.run()).data).toEqual(runs[k]);
    manualSeed(8);
    expect(maxAbsDiff((await f.run()).data, runs[0])).toBeGreaterThan(0.5);
  });

  it('is Philox of (element, draw, run offset) under the seed, bit for bit, past 2^32 runs', async () => {
    manualSeed(2 ** 40 + 12345);
    const f = await compile(() => [rand([N]), randn([N])], { inputs: [], target });
    const offset = 2 ** 32 + 70000;
    tracedStream.offset.value = offset;
    const [u, z] = await f.run();
    expect(tracedStream.offset.value).toBe(offset + 1);
    const pieces = piecesOf(2 ** 40 + 12345, offset);
    const wantU = Float32Array.from({ length: N }, (_, i) => randomAt('uniform', i, 0, pieces));
    const wantZ = Float32Array.from({ length: N }, (_, i) => randomAt('normal', i, 1, pieces));
    expect(u.data).toEqual(wantU);
    expect(z.data).toEqual(wantZ);
    for (const x of u.data) expect(x >= 0 && x < 1).toBe(true);
  });

  it('has sane moments; two draws in one function differ; two functions do not share a stream', async () => {
    manualSeed(1);
    const f = await compile(() => [rand([N]), rand([N]), randn([N])], { inputs: [], target });
    const g = await compile(() => rand([N]), { inputs: [], target });
    const [a, b, z] = await f.run();
    const c = await g.run();
    expect(Math.abs(mean(a.data) - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(variance(a.data) - 1 / 12)).toBeLessThan(0.01);
    expect(Math.abs(mean(z.data))).toBeLessThan(0.15);
    expect(Math.abs(variance(z.data) - 1)).toBeLessThan(0.15);
    expect(maxAbsDiff(a.data, b.data)).toBeGreaterThan(0.5);
    expect(maxAbsDiff(a.data, c.data)).toBeGreaterThan(0.5);
  });

  it('fuses the draw into the kernel that uses it', async () => {
    manualSeed(3);
    const dropout = (x: Tensor) => x.mul(rand([N]).lt(0.5)).add(1);
    const f = await compile(dropout, { inputs: [{ shape: [N], dtype: 'float32' }], target });
    const x = Float32Array.from({ length: N }, (_, i) => i + 1);
    const y = (await f.run(x)).data as Float32Array;
    const kept = y.filter((v, i) => v === x[i] + 1).length,
      dropped = y.filter((v) => v === 1).length;
    expect(kept + dropped).toBe(N);
    expect(Math.abs(kept / N - 0.5)).toBeLessThan(0.06);
    if (target === 'reference') return; // the interpreter runs node by node
    const s = f.stats();
    expect(s.kernels).toBe(1);
    expect(s.perKernel[0].ops).toEqual(expect.arrayContaining(['random', 'lt', 'mul', 'add']));
  });

  it("one draw read by two parameters' updates, one through a slice, is the same draw", async () => {
    manualSeed(5);
    const a = new nn.Parameter({ shape: [N], data: new Float32Array(N) });
    const b = new nn.Parameter({ shape: [N / 2], data: new Float32Array(N / 2).fill(1) });
    const opt = new optim.SGD([a, b], { lr: 1 });
    const step = await compile(
      () => {
        const noise = randn([N]); // not an output: each update computes it inline
        a.grad = noise;
        b.grad = noise.slice(0, 0, N / 2);
        opt.step();
      },
      { inputs: [], target },
    );
    await step.run();
    await step.sync();
    const noise = Float32Array.from(a.data, (x) => -x);
    expect(Math.abs(variance(noise) - 1)).toBeLessThan(0.15);
    expect(b.data).toEqual(Float32Array.from(noise.subarray(0, N / 2), (x) => 1 - x));
  });

  it('dropout trains: the gradient flows through the mask multiply, the draw has none', async () => {
    manualSeed(4);
    const w = new nn.Parameter({ shape: [N], data: new Float32Array(N).fill(1) });
    const opt = new optim.SGD([w], { lr: 0.25 });
    let drew: Tensor | undefined;
    const step = await compile(
      () => {
        const keep = rand([N]);
        drew = keep;
        const mask = keep.lt(0.75);
        const loss = w.mul(mask).div(0.75).pow(2).sum();
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return [loss, mask.float()];
      },
      { inputs: [], target },
    );
    expect(drew!.requiresGrad).toBe(false);
    let prev = Float32Array.from(w.data),
      prevMask: Float32Array | undefined;
    for (let k = 0; k < 3; k++) {
      const [, mask] = await step.run();
      if (prevMask) expect(maxAbsDiff(mask.data, prevMask), `a fresh mask at step ${k}`).toBe(1);
      prevMask = mask.data;
      await step.sync();
      const now = w.data;
      // d/dw of (w*m/0.75)^2 = 2*w*m/0.75^2: kept weights shrink, dropped ones keep their value
      for (let i = 0; i < N; i++) {
        const want = mask.data[i] ? Math.fround(prev[i] - Math.fround(0.25 * ((2 * prev[i]) / 0.5625))) : prev[i];
        expect(Math.abs(now[i] - want), `step ${k} element ${i}`).toBeLessThanOrEqual(1e-6);
      }
      expect(Math.abs(mean(mask.data) - 0.75)).toBeLessThan(0.06);
      prev = Float32Array.from(now);
    }
  });
});

describe('traced draws on every target', () => {
  it('are bit-identical on reference, kernel interpreter, native, webgpu (llvmpipe and SwiftShader)', async () => {
    const results = new Map<string, Float32Array[]>();
    const draws = () => [
      rand([N]),
      randn([N]),
      randn([40, 25]).add(rand([40, 1])),
      rand([64, 33]).sum(1),
      randn([10, 12]).permute([1, 0]),
    ];
    for (const target of [...TARGETS, 'webgpu:swiftshader']) {
      manualSeed(11);
      const f = await compile(draws, { inputs: [], target });
      await f.run();
      results.set(
        target,
        ((await f.run()) as Tensor[]).map((t) => t.data as Float32Array),
      );
    }
    // the scheduled kernels in the kernel-IR interpreter, at the second run's offset
    manualSeed(11);
    const traced = trace(draws, []);
    const prog = schedule(traced.graph);
    expect(printKernelProgram(prog)).toMatch(/uniform#0\(/);
    const vars = Float64Array.from(traced.graph.host.vars, (v) => v.init);
    vars[traced.hostCells.find((h) => h.cell === tracedStream.offset)!.var] = 1;
    const scalars = new Float32Array(traced.graph.host.scalarCount);
    runHostProgram(traced.graph.host, vars, scalars);
    const interpreted = runScheduled(prog, { inputs: [], cells: new Map(), scalars }).outputs;
    results.set('kernel interpreter', interpreted as Float32Array[]);
    const want = results.get('reference')!;
    for (const [name, got] of results) {
      expect(got[0], `${name}: uniform`).toEqual(want[0]);
      expect(got[1], `${name}: normal`).toEqual(want[1]);
      expect(got[2], `${name}: normal + broadcast uniform`).toEqual(want[2]);
      expect(maxAbsDiff(got[3], want[3]), `${name}: a sum of uniforms`).toBeLessThanOrEqual(1e-5);
      expect(got[4], `${name}: a permuted draw`).toEqual(want[4]);
    }
  });

  it('outside compile() rand/randn keep PyTorch CPU generator numbers', () => {
    manualSeed(0);
    // torch.manual_seed(0); torch.rand(3)
    expect(Array.from(rand([3]).data, (x) => x.toFixed(4))).toEqual(['0.4963', '0.7682', '0.0885']);
  });

  it("a negative size is PyTorch's error", () => {
    expect(() => rand([2, -1])).toThrow('Trying to create tensor with negative dimension -1: [2, -1]');
    expect(() => trace(() => randn([-3]), [])).toThrow('Trying to create tensor with negative dimension -3: [-3]');
  });
});
