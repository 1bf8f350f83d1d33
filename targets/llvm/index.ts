// kiln's LLVM target: KernelProgram → native shared library (an Artifact the native runtime loads).
//   compileNative(program)            → Artifact { target: 'llvm', manifest, code: NativeCode }
//   compileNativeAsync(program)       → the same, the tools run without blocking the event loop
//   llvmIR(program, { kernel? })      → textual LLVM IR (whole program, or one kernel)
//   nativeAssembly(program, { kernel? }) → the optimized assembly
import type { KernelProgram } from '../../compiler/ir/kernel.js';
import type { Artifact } from '../../runtime/device.js';
import type { Manifest } from '../../runtime/manifest.js';
import type { NativeCode } from '../../runtime/native/device.js';
import { emitModule, ENTRY, VerifyError, type ModuleOptions } from './module.js';
import { assemble, buildLibrary, buildLibraryAsync, cpuOf, verifierMessage, type Library, type ToolchainOptions } from './toolchain.js';

export { toolchainStats, hostCpu } from './toolchain.js';
export type { ToolchainOptions } from './toolchain.js';
export type { NativeCode } from '../../runtime/native/device.js';

export interface NativeOptions extends ToolchainOptions {
  /**
   * work (max of bytes moved, 4×flops, 8×grid points) above which a kernel's outer grid is split
   * over the library's thread pool; default KILN_PAR_THRESHOLD or 1 MiB. Measured on 2 cores
   * (bench/adam-native.ts): Adam and copy run ~2× faster from ~1 MB moved; at ~100-300 KB the
   * dispatch costs about what the second core gains. 0 = always split, Infinity = serial.
   */
  parallelThreshold?: number;
}

export const DEFAULT_PAR_THRESHOLD = 1 << 20;

export function manifestOf(p: KernelProgram): Manifest {
  return {
    format: 1, buffers: p.buffers, host: p.host, inputs: p.inputs, outputs: p.outputs, cells: p.cells,
    peakBytes: p.peakBytes,
    kernels: p.kernels.map((k) => ({ name: k.name, grid: k.grid, ...k.meta, ...(k.when ? { when: k.when } : {}) })),
  };
}

/** textual LLVM IR of the program (or of kernel `kernel` alone), verified */
export function llvmIR(p: KernelProgram, opts: ModuleOptions & NativeOptions = {}): string {
  const threshold = opts.parallelThreshold ?? Number(process.env.KILN_PAR_THRESHOLD ?? DEFAULT_PAR_THRESHOLD);
  try {
    return emitModule(p, { ...opts, parallelThreshold: threshold });
  } catch (e) {
    if (e instanceof VerifyError) throw new Error(`kiln llvm: generated IR is invalid: ${verifierMessage(e.ir)}`);
    throw e;
  }
}

export function nativeAssembly(p: KernelProgram, opts: ModuleOptions & NativeOptions = {}): string {
  return assemble(llvmIR(p, opts), cpuOf(opts));
}

export type NativeArtifact = Artifact & { code: NativeCode };

const artifact = (p: KernelProgram, lib: Library, opts: NativeOptions): NativeArtifact =>
  ({ target: 'llvm', manifest: manifestOf(p), code: { library: lib.path, entry: ENTRY, hash: lib.hash, cpu: cpuOf(opts) } });

/** builds (or finds in the cache) the program's shared library; blocks while the tools run */
export function compileNative(p: KernelProgram, opts: NativeOptions = {}): NativeArtifact {
  return artifact(p, buildLibrary(llvmIR(p, opts), opts), opts);
}

/** compileNative without blocking the event loop while opt, llc and cc run */
export async function compileNativeAsync(p: KernelProgram, opts: NativeOptions = {}): Promise<NativeArtifact> {
  return artifact(p, await buildLibraryAsync(llvmIR(p, opts), opts), opts);
}
