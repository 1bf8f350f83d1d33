// Fused Adam on the native (LLVM) target vs this machine's copy bandwidth, measured in one run.
//   npx tsx bench/adam-native.ts
// Adam moves 28 bytes per parameter (reads p, g, m, v; writes p, m, v); a copy moves 8 bytes per
// float (read + write). Each kernel is timed serial and split over the library's thread pool.
// References: copy y = x (native and Float32Array.prototype.set) and an in-place scale x = 2x.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { compileNative, hostCpu } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { adamProgram, adamScalars, add, c, ci, kernel, ld, mul, program, store, v } from '../test/llvm-helpers.js';

const tmpCache = process.env.KILN_CACHE_DIR ? undefined : mkdtempSync(join(tmpdir(), 'kiln-bench-'));
const cacheDir = process.env.KILN_CACHE_DIR ?? tmpCache!;
const SIZES = (process.env.SIZES ?? '1e4,1e5,1e6,1e7').split(',').map(Number);

/** best-of-rounds seconds per call, each round long enough (~50 ms) to swamp timer noise */
function time(fn: () => void): number {
  fn();
  fn();
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t > 20) break;
    reps *= 2;
  }
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, (performance.now() - t) / 1e3 / reps);
  }
  return best;
}

/** y = x (a second array: the store also reads its line first, so ~12 B/float really move) */
function copyProgram(n: number): KernelProgram {
  return program(
    [{ name: 'state', kind: 'state', dtype: 'f32', size: 2 * n }],
    [kernel('copy', [n], [store(0, add(v('g0'), ci(n)), ld(0, v('g0')))], n)],
  );
}

/** x = 2x in place: the same read-modify-write traffic pattern as Adam's p, m, v */
function scaleProgram(n: number): KernelProgram {
  return program(
    [{ name: 'state', kind: 'state', dtype: 'f32', size: n }],
    [kernel('scale', [n], [store(0, v('g0'), mul(ld(0, v('g0')), c(2)))], n)],
  );
}

/** seconds per run of `p` on a fresh device, with a synchronous inner call */
async function timeProgram(p: KernelProgram, parallelThreshold: number, scalars: Float32Array): Promise<number> {
  const dev = createNativeDevice();
  const exe = await dev.load(compileNative(p, { cacheDir, parallelThreshold }));
  // run() is async only by contract; it completes synchronously, so time the promise-free body
  let pending: Promise<unknown> = Promise.resolve();
  const t = time(() => {
    pending = exe.run([], scalars);
  });
  await pending;
  return t;
}

const gbs = (bytes: number, s: number) => (bytes / s / 1e9).toFixed(1);
const rows: string[][] = [
  ['kernel', 'n', 'bytes', '1 thread GB/s', '2 threads GB/s', '1 thread µs', '2 threads µs', 'JS set GB/s'],
];
for (const n of SIZES) {
  const s = adamScalars(1);
  const [a1, a2] = [await timeProgram(adamProgram(n), Infinity, s), await timeProgram(adamProgram(n), 0, s)];
  rows.push([
    'adam',
    n.toExponential(0),
    String(28 * n),
    gbs(28 * n, a1),
    gbs(28 * n, a2),
    (a1 * 1e6).toFixed(1),
    (a2 * 1e6).toFixed(1),
    '',
  ]);
  const [c1, c2] = [await timeProgram(copyProgram(n), Infinity, s), await timeProgram(copyProgram(n), 0, s)];
  const src = new Float32Array(n).fill(1),
    dst = new Float32Array(n);
  const js = time(() => dst.set(src));
  rows.push([
    'copy',
    n.toExponential(0),
    String(8 * n),
    gbs(8 * n, c1),
    gbs(8 * n, c2),
    (c1 * 1e6).toFixed(1),
    (c2 * 1e6).toFixed(1),
    gbs(8 * n, js),
  ]);
  const [s1, s2] = [await timeProgram(scaleProgram(n), Infinity, s), await timeProgram(scaleProgram(n), 0, s)];
  rows.push([
    'scale',
    n.toExponential(0),
    String(8 * n),
    gbs(8 * n, s1),
    gbs(8 * n, s2),
    (s1 * 1e6).toFixed(1),
    (s2 * 1e6).toFixed(1),
    '',
  ]);
}

console.log(
  `kiln native Adam vs copy bandwidth (cpu ${hostCpu()}, GB/s = bytes moved / time; ` +
    'adam 28 B/param, copy and scale 8 B/float)',
);
const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((x, j) => x.padStart(w[j])).join('  '));
if (tmpCache) rmSync(tmpCache, { recursive: true, force: true });
