// Timing for the benchmarks: medians of calibrated loops, several functions side by side (one machine state
// for all), and a native step's kernels each alone beside the whole program (where the time goes).
import type { CompiledFunction } from '../compiler/index.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { compileNative } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';

export interface TimingOptions {
  minTime?: number;
  repeats?: number;
  async?: boolean;
  /** multiplies minTime (a quick run: 0.25) */
  scale?: number;
}

/** seconds per call: warm up, calibrate the loop to ~minTime/repeats, then the median of `repeats` */
export async function timeit(fn: () => unknown, opts: TimingOptions = {}): Promise<number> {
  const minTime = (opts.minTime ?? 0.2) * (opts.scale ?? 1),
    repeats = opts.repeats ?? 5;
  const loop = async (n: number): Promise<number> => {
    const t = performance.now();
    if (opts.async) for (let i = 0; i < n; i++) await fn();
    else for (let i = 0; i < n; i++) fn();
    return (performance.now() - t) / 1e3;
  };
  // warm-up: ~50 ms of calls, so V8 has optimized the step's JavaScript before it is timed
  for (let n = 1, spent = 0; spent < 0.05 && n <= 1e6; n *= 2) spent += await loop(n);
  let n = 1;
  while ((await loop(n)) <= minTime / repeats && n <= 1e6) n *= 4;
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) samples.push((await loop(n)) / n);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(repeats / 2)];
}

/**
 * Like timeit, for several functions measured side by side: each round runs every function's
 * loop once, so a change in machine load hits all of them alike. Returns seconds per call each.
 */
export async function timeSideBySide(fns: (() => unknown)[], opts: TimingOptions = {}): Promise<number[]> {
  const minTime = (opts.minTime ?? 0.2) * (opts.scale ?? 1),
    repeats = opts.repeats ?? 5;
  const loop = async (fn: () => unknown, n: number): Promise<number> => {
    const t = performance.now();
    if (opts.async) for (let i = 0; i < n; i++) await fn();
    else for (let i = 0; i < n; i++) fn();
    return (performance.now() - t) / 1e3;
  };
  const ns: number[] = [];
  for (const fn of fns) {
    await loop(fn, 1);
    let n = 1;
    while ((await loop(fn, n)) <= minTime / repeats && n <= 1e6) n *= 4;
    ns.push(n);
  }
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < repeats; r++) {
    for (let f = 0; f < fns.length; f++) samples[f].push((await loop(fns[f], ns[f])) / ns[f]);
  }
  return samples.map((x) => x.sort((a, b) => a - b)[Math.floor(repeats / 2)]);
}

/** each kernel of a compiled step alone (same buffers, run back to back): where the time goes; with `peak`
 * (GFLOP/s, bench/peak.ts), each kernel's share of it */
export async function kernelProfile(step: CompiledFunction, cacheDir: string, peak?: number): Promise<string[][]> {
  const [{ schedule }, { StateLayout }] = await Promise.all([
    import('../compiler/kernel/schedule.js'),
    import('../compiler/kernel/memory.js'),
  ]);
  const traced = step.programs[step.programs.length - 1];
  const kp = schedule(traced.graph, new StateLayout());
  const dev = createNativeDevice();
  const scalars = new Float32Array(Math.max(1, kp.host.scalarCount)).fill(0.5);
  const inputs = kp.inputs.map((p) =>
    p.dtype === 'float32'
      ? new Float32Array(p.shape.reduce((a, b) => a * b, 1))
      : new Int32Array(p.shape.reduce((a, b) => a * b, 1)),
  );
  // every kernel alone and the whole program, side by side (one machine state for all the shares)
  const load = async (ks: KernelProgram['kernels']) => {
    const exe = (await dev.load(compileNative({ ...kp, kernels: ks }, { cacheDir }))) as unknown as {
      runSync(i: typeof inputs, s: Float32Array): unknown;
    };
    return () => exe.runSync(inputs, scalars);
  };
  const fns = [await load(kp.kernels)];
  for (const k of kp.kernels) fns.push(await load([k]));
  const [whole, ...each] = await timeSideBySide(fns, { minTime: 0.1, repeats: 5 });
  const rows = kp.kernels.map((k, i) => {
    const s = each[i],
      m = k.meta;
    // the `is: false` half of a guarded pair (concatFlat's general update) does not run with these scalars
    if (k.when && !k.when.is)
      return [k.name, `[${k.grid}]`, '-', '-', '(alternative: not run)', '', ...(peak ? [''] : [])];
    return [
      k.name,
      `[${k.grid}]`,
      (s * 1e6).toFixed(1),
      `${((100 * s) / whole).toFixed(0)}%`,
      (m.flops / s / 1e9).toFixed(1),
      ((m.bytesRead + m.bytesWritten) / s / 1e9).toFixed(1),
      ...(peak ? [`${((100 * m.flops) / s / 1e9 / peak).toFixed(1)}%`] : []),
    ];
  });
  const flops = kp.kernels.reduce((a, k) => a + (k.when && !k.when.is ? 0 : k.meta.flops), 0);
  const all = peak ? [`${((100 * flops) / whole / 1e9 / peak).toFixed(1)}%`] : [];
  rows.push([
    'all kernels, one call',
    '',
    (whole * 1e6).toFixed(1),
    '100%',
    (flops / whole / 1e9).toFixed(1),
    '',
    ...all,
  ]);
  return rows;
}

/** prints the `top` slowest kernels of a native step, each timed alone, and the whole step beside them */
export async function printKernelProfile(step: CompiledFunction, top: number): Promise<void> {
  const [{ mkdtempSync }, { tmpdir }, { join }] = await Promise.all([
    import('node:fs'),
    import('node:os'),
    import('node:path'),
  ]);
  const rows = await kernelProfile(step, process.env.KILN_CACHE_DIR ?? mkdtempSync(join(tmpdir(), 'kiln-profile-')));
  const whole = rows.pop()!;
  rows.sort((a, b) => (Number(b[2]) || 0) - (Number(a[2]) || 0));
  console.log('kernel grid µs share GFLOP/s GB/s');
  for (const r of rows.slice(0, top)) console.log(r.join(' '));
  console.log(whole.join(' '));
}
