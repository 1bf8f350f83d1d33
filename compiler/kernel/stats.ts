// Cost accounting from the kernel IR itself: what each kernel executes (FLOPs, bytes loaded and
// stored, weighted by grid and loop extents), and the program's bytes moved beside the minimum
// (every input and entry state read once, every output and updated state written once).
import type { Expr, Kernel, KernelProgram, Stmt } from '../ir/kernel.js';
import { exprChildren } from '../ir/kernel.js';
import { numel } from '../ir/graph.js';
import { kernelTraffic } from './traffic.js';
import type { Collective } from '../../runtime/manifest.js';

export interface KernelCost {
  flops: number;
  bytesRead: number;
  bytesWritten: number;
}

/**
 * adds what evaluating `e` m times costs to c: its float ops and loads. Only float arithmetic
 * counts, so index math (i32) and bounds conditions (bool) are free.
 */
export function exprCost(e: Expr, m: number, c: KernelCost): void {
  if (e.e === 'load') c.bytesRead += 4 * m;
  else if (e.e === 'unary' && e.type === 'f32') c.flops += m;
  else if (e.e === 'binary' && e.a.type === 'f32') c.flops += m;
  else if (e.e === 'fma')
    c.flops += 2 * m; // a multiply and an add
  else if (e.e === 'random') c.flops += (e.dist === 'uniform' ? 1 : 6) * m; // float ops after the integer rounds
  for (const x of exprChildren(e)) exprCost(x, m, c);
}

export function kernelCost(k: Kernel): KernelCost {
  const c: KernelCost = { flops: 0, bytesRead: 0, bytesWritten: 0 };
  const expr = (e: Expr, m: number) => exprCost(e, m, c);
  const stmts = (ss: readonly Stmt[], m: number): void => {
    for (const s of ss) {
      switch (s.s) {
        case 'let':
          expr(s.value, m);
          break;
        case 'store':
          c.bytesWritten += 4 * m;
          expr(s.index, m);
          expr(s.value, m);
          break;
        case 'accum':
          c.flops += m;
          expr(s.value, m);
          break;
        case 'loop':
          stmts(s.body, m * s.extent);
          break;
        default:
          break;
      }
    }
  };
  stmts(k.body, numel(k.grid));
  return c;
}

/** fills each kernel's meta with its measured cost */
export function annotate(k: Kernel): Kernel {
  return { ...k, meta: { ...k.meta, ...kernelCost(k) } };
}

/** one all-reduce of a step: the bytes each rank contributes, the kernels it starts and completes before, its values */
export interface CollectiveStat {
  bytes: number;
  start: number;
  wait: number;
  values: number;
}

export interface ProgramStats {
  kernels: number;
  launchesPerRun: number;
  flops: number;
  /** bytes every kernel's loads and stores execute (a matmul's operand counted once per use) */
  bytesPerRun: number;
  /** bytes moved between memory and the cores: each element a kernel touches once (compiler/kernel/traffic.ts) */
  trafficPerRun: number;
  minBytesPerRun?: number;
  peakBytes: number;
  perKernel: {
    name: string;
    grid: number[];
    ops: string[];
    flops: number;
    bytesRead: number;
    bytesWritten: number;
    /** bytes this kernel moves, each element it reads or writes once */
    traffic: number;
    reason?: string;
  }[];
  /** the step's all-reduces (DistributedDataParallel) */
  collectives?: CollectiveStat[];
  /** bytes all-reduced per run (the sum of `collectives`) */
  allReducedBytesPerRun?: number;
}

export function programStats(prog: KernelProgram & { minBytes?: number }): ProgramStats {
  const sizes = prog.buffers.map((b) => b.size);
  const perKernel = prog.kernels.map((k) => {
    const t = kernelTraffic(k, sizes);
    return { name: k.name, grid: k.grid, ...k.meta, traffic: t.read + t.written };
  });
  const perRun = perKernel.filter((_, i) => {
    const w = prog.kernels[i].when;
    return !(w && !w.is);
  });
  return {
    kernels: prog.kernels.length,
    // a guarded pair (concatFlat's fast/general multi-tensor update) launches one of its two
    // kernels per run: count the `is: false` alternatives as kernels but not as launches
    launchesPerRun: prog.kernels.filter((k) => !(k.when && !k.when.is)).length,
    flops: perRun.reduce((a, k) => a + k.flops, 0),
    bytesPerRun: perRun.reduce((a, k) => a + k.bytesRead + k.bytesWritten, 0),
    trafficPerRun: perRun.reduce((a, k) => a + k.traffic, 0),
    minBytesPerRun: prog.minBytes,
    peakBytes: prog.peakBytes,
    perKernel,
    ...(prog.collectives?.length ? collectiveStats(prog.collectives) : {}),
  };
}

function collectiveStats(cs: readonly Collective[]): Pick<ProgramStats, 'collectives' | 'allReducedBytesPerRun'> {
  const collectives = cs.map((c) => ({ bytes: 4 * c.length, start: c.start, wait: c.wait, values: c.names.length }));
  return { collectives, allReducedBytesPerRun: collectives.reduce((a, c) => a + c.bytes, 0) };
}

/** one line per kernel, for `kiln inspect` and test failures */
export function printStats(prog: KernelProgram & { minBytes?: number }): string {
  const s = programStats(prog);
  const lines = s.perKernel.map(
    (k) =>
      `${k.name} grid[${k.grid}] ops=${k.ops.join(',')} flops=${k.flops} ` +
      `read=${k.bytesRead}B write=${k.bytesWritten}B${k.reason ? ` (${k.reason})` : ''}`,
  );
  lines.push(
    `${s.kernels} kernels, ${s.bytesPerRun} bytes loaded and stored, ${s.trafficPerRun} moved ` +
      `(minimum ${s.minBytesPerRun ?? '?'}), ` +
      `peak ${s.peakBytes} bytes`,
  );
  return lines.join('\n');
}
