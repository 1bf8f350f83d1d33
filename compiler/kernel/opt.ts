// The strategy pass: once per kernel, at the end of scheduling, each target's way of running it
// is chosen from the kernel's index strides (its accesses' index algebra) and loop shapes
// (opt-cpu.ts for LLVM, opt-gpu.ts for WGSL) and recorded on the kernel, printed with its kernel
// IR and shown by `kiln inspect`. The renderers only read it: the choice is made in one place,
// before any target code exists.
import type { CpuStrategy, GpuStrategy, Kernel, KernelStrategy } from '../ir/kernel.js';
import { cascadeSums } from './cascade.js';
import { chooseCpu } from './opt-cpu.js';
import { chooseGpu, type GpuOptions } from './opt-gpu.js';
import { withIndexAlgebra } from './index-algebra.js';

export function chooseStrategy(k: Kernel): KernelStrategy {
  return { cpu: chooseCpu(cascadeSums(k)), gpu: chooseGpu(k) };
}

/** `k` with its strategy recorded */
export const planKernel = (k: Kernel): Kernel => ({ ...k, strategy: chooseStrategy(k) });

/**
 * the strategy recorded on `k`, or chosen now for a kernel built without the scheduler (by hand,
 * as in tests: its accesses' index algebra is parsed back from their indices)
 */
export const strategyOf = (k: Kernel): KernelStrategy => k.strategy ?? chooseStrategy(withIndexAlgebra(k));

/** the WGSL strategy under the target's options: the recorded one unless an option rules it out */
export function gpuStrategyOf(k: Kernel, opts: GpuOptions = {}): GpuStrategy {
  const s = strategyOf(k).gpu;
  const ruledOut = (s.kind === 'tree' && opts.workgroupReduce === false) || (s.kind === 'tile' && opts.tile === false);
  return ruledOut ? chooseGpu(withIndexAlgebra(k), opts) : s;
}

function printCpu(s: CpuStrategy): string {
  switch (s.kind) {
    case 'plain':
      return 'plain';
    case 'tile':
      return `tile ${s.lanes} lanes, rows <= ${s.maxRows}`;
    case 'unroll':
      return `unroll x${s.factor} [${s.loops.join(', ')}]`;
    case 'block':
      return `block ${s.loop} in <${s.lanes} x f32>`;
  }
}

/** the unroll factor and worst-case loop back-edges, where the kernel has loops */
const printLoops = (s: { unroll: number; loopTrips: number }) =>
  s.loopTrips ? `, unroll x${s.unroll}, <= ${s.loopTrips} loop trips` : '';

function printGpu(s: GpuStrategy): string {
  switch (s.kind) {
    case 'serial':
      return `serial${printLoops(s)}`;
    case 'tree':
      return `tree reduction, ${s.workgroupSize} threads, body[${s.loops.join(', ')}]${printLoops(s)}`;
    case 'tile':
      return `tiled matmul ${s.edge}x${s.edge}, body[${s.loop}] a=load ${s.a} b=load ${s.b}`;
  }
}

/** one line, e.g. "cpu: tile 16 lanes, rows <= 8; gpu: serial" (loop names: of the kernel cascadeSums expands) */
export const printStrategy = (s: KernelStrategy): string => `cpu: ${printCpu(s.cpu)}; gpu: ${printGpu(s.gpu)}`;
