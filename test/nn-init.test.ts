// nn.init against torch.nn.init (fixtures/random/init.py): the same float32 bits after the same seed.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { manualSeed, nn, rand, randint } from '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { erfinvF32 } from '../compiler/nn/init-trunc.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/random/init.json', import.meta.url), 'utf8'));
const orth = JSON.parse(readFileSync(new URL('./fixtures/random/orthogonal.json', import.meta.url), 'utf8'));
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const fromTorchKw = (kw: Record<string, unknown>) => {
  const o: Record<string, unknown> = { ...kw };
  if (o.mode) o.mode = o.mode === 'fan_in' ? 'fanIn' : 'fanOut';
  return o;
};
const param = (shape: number[]) =>
  new nn.Parameter({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(NaN) });

describe('nn.init equals torch.nn.init bit for bit', () => {
  for (const c of ref.cases) {
    it(`${c.name}(${c.shape.join('x')}, ${JSON.stringify(c.kw)})`, () => {
      manualSeed(c.seed);
      const p = param(c.shape);
      const kw = c.kw;
      const init = nn.init as unknown as Record<string, (...a: unknown[]) => unknown>;
      if (c.name === 'uniform_') init.uniform_(p, kw.a, kw.b);
      else if (c.name === 'normal_') init.normal_(p, kw.mean, kw.std);
      else if (c.name === 'constant_') init.constant_(p, kw.val);
      else if (c.name.startsWith('xavier')) init[c.name](p, kw.gain);
      else if (c.name.startsWith('kaiming')) init[c.name](p, fromTorchKw(kw));
      else init[c.name](p);
      expect(bits(p.data)).toEqual(c.bits);
    });
  }
  it('calculateGain', () => {
    for (const [k, v] of Object.entries(ref.gains)) {
      const g = k === 'leaky_relu_0.2' ? nn.init.calculateGain('leaky_relu', 0.2) : nn.init.calculateGain(k);
      expect(g).toBe(v);
    }
    expect(nn.init.calculateGain('leakyRelu', 0.2)).toBe(ref.gains['leaky_relu_0.2']);
    expect(() => nn.init.calculateGain('swish')).toThrow('Unsupported nonlinearity swish');
  });
  it('errors: fan of a 1-D tensor, bad mode, eye_ of 3-D, inside a compiled function', () => {
    const p = param([4]);
    expect(() => nn.init.xavierUniform_(p)).toThrow('fewer than 2 dimensions');
    expect(() => nn.init.kaimingNormal_(param([2, 2]), { mode: 'fan_in' as 'fanIn' })).toThrow('not supported');
    expect(() => nn.init.eye_(param([2, 2, 2]))).toThrow('Only tensors with 2 dimensions');
    const q = param([2, 2]);
    expect(() => trace(() => nn.init.normal_(q), [])).toThrow('not supported inside a compiled function');
    expect(() => trace(() => randint(0, 3, [2]), [])).toThrow('not supported inside a compiled function');
  });
  it("orthogonal_: torch's draws (the generator after it is torch's), Q within 1e-6 of LAPACK's", () => {
    for (const c of orth.cases) {
      manualSeed(c.seed);
      const p = param(c.shape);
      nn.init.orthogonal_(p, c.gain);
      const err = Math.max(...Array.from(p.data, (v, i) => Math.abs(v - c.values[i])));
      expect(err, `orthogonal_(${c.shape})`).toBeLessThan(1e-6 * Math.max(1, c.gain));
      expect(Array.from(rand([3]).data)).toEqual(c.next.map(Math.fround));
    }
    expect(() => nn.init.orthogonal_(param([4]))).toThrow('Only tensors with 2 or more dimensions are supported');
  });
  it('truncNormal_: within 4 float32 ulp of torch (erfinv_ via libm erff/expf), clamped to [a, b]', () => {
    for (const c of ref.trunc) {
      manualSeed(c.seed);
      const p = param(c.shape);
      nn.init.truncNormal_(p, { mean: c.mean, std: c.std, a: c.a, b: c.b });
      const got = bits(p.data);
      // same sign and magnitude order: the bit patterns differ by the ulp distance
      const ulps = got.map((g, i) => Math.abs(g - c.bits[i]));
      expect(Math.max(...ulps)).toBeLessThanOrEqual(4);
      expect(Math.min(...p.data)).toBeGreaterThanOrEqual(Math.fround(c.a));
      expect(Math.max(...p.data)).toBeLessThanOrEqual(Math.fround(c.b));
    }
  });
  it('erfinv in float32: within 4 ulp of torch.erfinv over [-0.999, 0.999]', () => {
    const ys = new Float32Array(new Uint32Array(ref.erfinvY).buffer);
    const got = bits(Float32Array.from(ys, erfinvF32));
    expect(Math.max(...got.map((g, i) => Math.abs(g - ref.erfinv[i])))).toBeLessThanOrEqual(4);
  });
});
