// kiln's LLVM target: KernelProgram → native shared library (an Artifact the native runtime loads).
//   compileNative(program)            → Artifact { target: 'llvm', manifest, code: NativeCode }
//   compileNativeAsync(program)       → the same, the tools run without blocking the event loop
//   llvmIR(program, { kernel? })      → textual LLVM IR (whole program, or one kernel)
//   nativeAssembly(program, { kernel? }) → the optimized assembly
import { manifestOf, type KernelProgram } from '../../compiler/ir/kernel.js';
import type { Artifact } from '../../runtime/device.js';
import type { NativeCode } from '../../runtime/native/device.js';
import { emitIR, emitIRSync, programKey, type IRReply } from './ir-host.js';
import type { ModuleOptions } from './module.js';
import { buildSplitLibrary, buildSplitLibraryAsync } from './objects.js';
import { ENTRY } from './rt.js';
import type { SplitIR } from './split.js';
import {
  optimizedAssembly,
  cachedLibrary,
  cpuOf,
  rememberLibrary,
  toolchainStats,
  verifierMessage,
  type Library,
  type ToolchainOptions,
} from './toolchain.js';

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

/** what the IR builder needs: every option resolved, so the program key sees what the IR depends on */
function moduleOptions(opts: ModuleOptions & NativeOptions): ModuleOptions {
  const threshold = opts.parallelThreshold ?? Number(process.env.KILN_PAR_THRESHOLD ?? DEFAULT_PAR_THRESHOLD);
  const { kernel, shape } = opts;
  const cpu = cpuOf(opts);
  return { parallelThreshold: threshold, cpu, ...(kernel !== undefined ? { kernel } : {}), ...(shape && { shape }) };
}

function irOf(r: IRReply): string {
  if ('ir' in r) return r.ir;
  if ('modules' in r) throw new Error('kiln llvm: expected one module, got a split program');
  return failure(r);
}

function modulesOf(r: IRReply): SplitIR {
  if ('modules' in r) return r.modules;
  if ('ir' in r) throw new Error('kiln llvm: expected a split program, got one module');
  return failure(r);
}

function failure(r: { invalid: string } | { error: string }): never {
  if ('invalid' in r) throw new Error(`kiln llvm: generated IR is invalid: ${verifierMessage(r.invalid)}`);
  throw new Error(r.error);
}

/**
 * textual LLVM IR of the program (or of kernel `kernel` alone), verified. Built in a child
 * process (ir-host.ts): llvm-bindings never shares an address space with Dawn's LLVM.
 */
export function llvmIR(p: KernelProgram, opts: ModuleOptions & NativeOptions = {}): string {
  return irOf(emitIRSync(p, moduleOptions(opts)));
}

export function nativeAssembly(p: KernelProgram, opts: ModuleOptions & NativeOptions = {}): string {
  return optimizedAssembly(llvmIR(p, opts), cpuOf(opts));
}

export type NativeArtifact = Artifact & { code: NativeCode };

const artifact = (p: KernelProgram, lib: Library, opts: NativeOptions): NativeArtifact => ({
  target: 'llvm',
  manifest: manifestOf(p),
  code: { library: lib.path, entry: ENTRY, hash: lib.hash, cpu: cpuOf(opts) },
});

/**
 * builds (or finds in the cache, without building IR) the program's shared library; blocks. The
 * program is built as split.ts's modules, each object cached by its own text (objects.ts).
 */
export function compileNative(p: KernelProgram, opts: NativeOptions = {}): NativeArtifact {
  const mo = { ...moduleOptions(opts), split: true },
    key = programKey(p, mo);
  let lib = cachedLibrary(key, opts);
  if (!lib) rememberLibrary(key, (lib = buildSplitLibrary(modulesOf(emitIRSync(p, mo)), opts)), opts);
  return artifact(p, lib, opts);
}

/** compileNative without blocking the event loop while the IR builder, opt, llc and cc run */
export async function compileNativeAsync(p: KernelProgram, opts: NativeOptions = {}): Promise<NativeArtifact> {
  const mo = { ...moduleOptions(opts), split: true },
    key = programKey(p, mo);
  let lib = cachedLibrary(key, opts);
  if (!lib) {
    const t0 = performance.now();
    const modules = modulesOf(await emitIR(p, mo));
    toolchainStats.ms.codegen += performance.now() - t0;
    rememberLibrary(key, (lib = await buildSplitLibraryAsync(modules, opts)), opts);
  }
  return artifact(p, lib, opts);
}
