// `rand`/`randn` inside a compiled function: a `random` graph node whose value is a pure function
// of (key, run offset, draw, element index) — Philox4x32-10, targets/reference/philox.ts — so it
// fuses into any kernel and is bit-identical on every target. The key is manualSeed's seed; the
// offset is a host cell the host program advances by one each run (tracedStream in random.ts),
// handed to kernels as float32 scalars holding 16-bit halves (exact in float32).
import type { Node, Shape } from './ir/graph.js';
import { makeNode } from './ir/graph.js';
import { userSite } from './errors.js';
import type { HostScalar } from './host-scalar.js';
import { tracedStream } from './random.js';
import { LiveHostCell } from './state.js';
import type { Trace } from './trace-context.js';
import type { RandomDist } from '../targets/reference/philox.js';

const HALF = 65536;

let halvesOf = { seed: NaN, halves: [0, 0, 0, 0] };
/** the four 16-bit halves of the seed as a u64 (a negative seed wraps, as torch.manual_seed's does) */
function seedHalf(k: number): number {
  const seed = tracedStream.seed;
  if (seed !== halvesOf.seed) {
    const u = BigInt.asUintN(64, BigInt(Math.trunc(seed)));
    halvesOf = { seed, halves: [0, 1, 2, 3].map((j) => Number((u >> BigInt(16 * j)) & 0xffffn)) };
  }
  return halvesOf.halves[k];
}
const seedCells = [0, 1, 2, 3].map((k) => new LiveHostCell(`rng.seed.${k}`, () => seedHalf(k)));

/** the 16-bit halves of a non-negative integer host value below 2^53, low half first */
function halves(x: HostScalar): HostScalar[] {
  const above = (k: number) => x.div(HALF ** k).floor(); // x >> 16k, exact in float64
  return [0, 1, 2, 3].map((k) => (k === 3 ? above(3) : above(k).sub(above(k + 1).mul(HALF))));
}

interface TraceStream {
  pieces: Node[];
  draws: number;
}
const streams = new WeakMap<Trace, TraceStream>();

/** this trace's key and offset scalars; the first draw of a trace makes its run advance the offset */
function streamOf(t: Trace): TraceStream {
  let s = streams.get(t);
  if (!s) {
    const seed = seedCells.map((c) => t.hostRead(c));
    const offset = t.hostRead(tracedStream.offset);
    t.hostAssign(tracedStream.offset, offset.add(1));
    s = { pieces: [...seed, ...halves(offset)].map((h) => t.scalarNode(h)), draws: 0 };
    streams.set(t, s);
  }
  return s;
}

/** a fresh draw of `shape` for every run of the program being traced */
export function tracedRandom(t: Trace, shape: Shape, dist: RandomDist): Node {
  const s = streamOf(t);
  return makeNode('random', s.pieces, shape, 'float32', { dist, draw: s.draws++ }, userSite());
}
