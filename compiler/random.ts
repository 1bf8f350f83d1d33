// Seeded randomness for parameter initialisation and data shuffling: `manualSeed(n)` makes every
// later draw reproducible. (A Mersenne Twister, as PyTorch's CPU generator is.) Draws inside a
// compiled function use a counter-based generator instead (random-traced.ts); manualSeed seeds it
// too, as torch.manual_seed seeds the CUDA generator's Philox seed and resets its offset.
import { HostCell } from './state.js';
import { normalFill16Avx } from './random-avx.js';
export class MT19937 {
  private mt = new Uint32Array(624);
  private index = 625;
  constructor(seed: number) {
    this.seed(seed);
  }
  seed(s: number): void {
    this.mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
  }
  nextU32(): number {
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (this.mt[i] & 0x80000000) | (this.mt[(i + 1) % 624] & 0x7fffffff);
        this.mt[i] = this.mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * PyTorch's CPU generator (CPUGeneratorImpl): an mt19937 plus the cached second Box-Muller value
 * of the scalar normal path. Every draw below is PyTorch 1.13's CPU kernel, float32 math included,
 * so the numbers equal torch's bit for bit (test/random-torch.test.ts).
 */
export class Generator {
  private mt: MT19937;
  private nextDoubleNormal: number | null = null;
  private seedValue: bigint;
  constructor(seed: number | bigint = 5489) {
    this.seedValue = BigInt(seed);
    this.mt = new MT19937(Number(this.seedValue & 0xffffffffn));
  }
  /** torch.Generator.manual_seed: mt19937 keeps the seed's low 32 bits; the normal cache is cleared */
  manualSeed(seed: number | bigint): this {
    this.seedValue = BigInt(seed);
    this.mt = new MT19937(Number(this.seedValue & 0xffffffffn));
    this.nextDoubleNormal = null;
    return this;
  }
  initialSeed(): bigint {
    return this.seedValue;
  }
  random(): number {
    return this.mt.nextU32();
  }
  /** random64: the first 32-bit draw is the high half */
  random64(): bigint {
    const hi = BigInt(this.mt.nextU32());
    return (hi << 32n) | BigInt(this.mt.nextU32());
  }
  /**
   * uniform_real_distribution<float>: 24 bits; x * (to - from) + from with to - from in float32
   * and the rest in double (dist_acctype<float> is double on the CPU), rounded once at the end
   */
  uniformFloat(from: number, to: number): number {
    const x = (this.mt.nextU32() & 0xffffff) / 0x1000000;
    return f(x * f(f(to) - f(from)) + f(from));
  }
  /** uniform_real_distribution<double>: 53 bits of random64 */
  uniformDouble(): number {
    const hi = this.mt.nextU32() & 0x1fffff,
      lo = this.mt.nextU32();
    return (hi * 0x100000000 + lo) / 2 ** 53;
  }
  /** normal_distribution<double> (the scalar path of normal_), caching the sine half */
  normalDouble(mean: number, std: number): number {
    if (this.nextDoubleNormal !== null) {
      const v = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return v * std + mean;
    }
    const u1 = this.uniformDouble(),
      u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta) * std + mean;
  }
}

const f = Math.fround;
let gen = new Generator();

/** the default generator (torch.default_generator) */
export function defaultGenerator(): Generator {
  return gen;
}

/**
 * The key and position of traced draws: `seed` is the Philox key; `offset` counts the runs of
 * compiled functions that drew (each run draws at its own offset, then advances it by one), so
 * every run gets fresh numbers and two compiled functions never share a stream.
 */
export const tracedStream = { seed: 5489, offset: new HostCell('rng.offset', 0) };

export function manualSeed(seed: number): void {
  gen.manualSeed(seed);
  tracedStream.seed = seed;
  tracedStream.offset.value = 0;
}

/** uniform in [0, 1) with float32 resolution (24 random bits, as PyTorch's uniform_ for float) */
export function random(g: Generator = gen): number {
  return g.uniformFloat(0, 1);
}

/** fills a float32 array with U(low, high): torch's uniform_(low, high) */
export function uniform(n: number, low: number, high: number, g: Generator = gen): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.uniformFloat(low, high);
  return out;
}

/**
 * Which kernel of normal_fill_16 to reproduce: torch's x86 wheels dispatch to the AVX2 one on any
 * AVX2 CPU (kiln's default); 'default' is the portable libm one (ATEN_CPU_CAPABILITY=default).
 */
export const normalKernel = { kind: 'avx2' as 'avx2' | 'default' };
const fill16 = (d: Float32Array, o: number, mean: number, std: number) =>
  (normalKernel.kind === 'avx2' ? normalFill16Avx : normalFill16)(d, o, mean, std);

/** Box-Muller on 16 uniforms in place (normal_fill_16), float32 math as in the C++ */
function normalFill16(d: Float32Array, o: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[o + j]),
      u2 = d[o + j + 8];
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(2 * Math.PI * u2);
    d[o + j] = f(f(f(radius * f(Math.cos(theta))) * std) + mean);
    d[o + j + 8] = f(f(f(radius * f(Math.sin(theta))) * std) + mean);
  }
}

/**
 * torch's normal_(mean, std) on a contiguous float32 tensor of n elements. n >= 16: uniforms
 * for all, Box-Muller in blocks of 16, and a ragged tail redraws 16 uniforms for the last 16
 * slots (normal_fill). n < 16: the double-precision scalar path with its cached value.
 */
export function normal(n: number, mean = 0, std = 1, g: Generator = gen): Float32Array {
  const out = new Float32Array(n);
  if (n >= 16) {
    const m = f(mean),
      s = f(std);
    for (let i = 0; i < n; i++) out[i] = g.uniformFloat(0, 1);
    for (let i = 0; i + 16 <= n; i += 16) fill16(out, i, m, s);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = g.uniformFloat(0, 1);
      fill16(out, n - 16, m, s);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = g.normalDouble(mean, std);
  }
  return out;
}

/** standard normal draws: torch.randn(n) */
export function randn(n: number, g: Generator = gen): Float32Array {
  return normal(n, 0, 1, g);
}

/** torch.randint(low, high, (n,)): random() % range, or random64() % range when range >= 2**32 */
export function randintValues(n: number, low: number, high: number, g: Generator = gen): bigint[] {
  const range = BigInt(high) - BigInt(low);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const v = range >= 1n << 32n ? g.random64() % range : BigInt(g.random() % Number(range));
    out.push(v + BigInt(low));
  }
  return out;
}

/** torch.empty((), dtype=torch.int64).random_(): random64() % 2**63 */
export function randomInt64(g: Generator = gen): bigint {
  return g.random64() % (1n << 63n);
}

/** torch.randperm(n) on the CPU: the forward Fisher-Yates of randperm_cpu, z = random() % (n - i) */
export function randperm(n: number, g: Generator = gen): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const z = g.random() % (n - i);
    const sav = p[i];
    p[i] = p[z + i];
    p[z + i] = sav;
  }
  return p;
}

/**
 * Runs `fn` with a throwaway generator and leaves the seeded one where it was (PyTorch's
 * torch.random.fork_rng): for building a copy whose initial values are then overwritten, as
 * PyTorch's deepcopy of a module draws nothing.
 */
export function forkRng<T>(fn: () => T): T {
  const saved = gen;
  gen = new Generator().manualSeed(0);
  try {
    return fn();
  } finally {
    gen = saved;
  }
}
