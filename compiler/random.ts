// Seeded randomness for parameter initialisation and data shuffling: `manualSeed(n)` makes every
// later draw reproducible. (A Mersenne Twister, as PyTorch's CPU generator is.) Draws inside a
// compiled function use a counter-based generator instead (random-traced.ts); manualSeed seeds it
// too, as torch.manual_seed seeds the CUDA generator's Philox seed and resets its offset.
import { HostCell } from './state.js';
class MT19937 {
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

let gen = new MT19937(5489);

/**
 * The key and position of traced draws: `seed` is the Philox key; `offset` counts the runs of
 * compiled functions that drew (each run draws at its own offset, then advances it by one), so
 * every run gets fresh numbers and two compiled functions never share a stream.
 */
export const tracedStream = { seed: 5489, offset: new HostCell('rng.offset', 0) };

export function manualSeed(seed: number): void {
  gen = new MT19937(seed);
  tracedStream.seed = seed;
  tracedStream.offset.value = 0;
}

/** uniform in [0, 1) with float32 resolution (24 random bits, as PyTorch's uniform_ for float) */
export function random(): number {
  return (gen.nextU32() & 0xffffff) / 0x1000000;
}

/** fills a float32 array with U(low, high) */
export function uniform(n: number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * random();
  return out;
}

/** standard normal draws (Box-Muller) */
export function randn(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random(),
      v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** a random permutation of 0..n-1 (Fisher-Yates) */
export function randperm(n: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
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
  gen = new MT19937(0);
  try {
    return fn();
  } finally {
    gen = saved;
  }
}
