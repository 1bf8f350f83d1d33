// The compiler half of every target, in one table that compile(), `kiln build` and `kiln inspect`
// iterate: the backends compile() runs on, how `kiln build` writes the target's code into a bundle
// (the runtime half, which loads that code, is runtime/targets.ts under the same name), and the
// code `kiln inspect --emit` shows. A target is a folder in targets/, one entry here and, if
// bundles ship it, one in runtime/targets.ts. The order is the order of `--emit`'s kinds and of
// the code a bundle is written with.
import { registerBackend, type BackendFactory } from '../backend.js';
import type { KernelProgram } from '../ir/kernel.js';
import type { ScheduleOptions } from '../kernel/schedule.js';
import type { Progress } from '../cli/report.js';
import type { BundleCode, BundleTarget, FileRef } from '../../runtime/bundle/format.js';
import { RUNTIME_TARGETS } from '../../runtime/targets.js';
import { referenceTarget } from './reference.js';
import { webgpuTarget } from './webgpu.js';
import { nativeTarget } from './native.js';

/** what a bundle writer is given: where its files go */
export interface BundleContext {
  progress: Progress;
  /** writes `bytes` at `rel` in the bundle */
  write(rel: string, bytes: Uint8Array | string): FileRef;
  /** copies the file at `from` to `rel` in the bundle */
  copy(rel: string, from: string): FileRef;
  /** native: LLVM's -mcpu (default KILN_CPU or 'native') */
  cpu?: string;
}

/** how `kiln build` ships a target's code */
export interface BundleWriter {
  /** the runtime target that runs it (runtime/targets.ts) */
  name: BundleTarget;
  /** for `kiln build --help`: the name, then what the code is and where it runs */
  summary: string;
  /** the bundle's folder for its files (package.json `files`) */
  folder: string;
  /** the packages of kiln's own dependencies the bundle needs to run it */
  dependencies: string[];
  /** what every kernel must satisfy on any device the target runs on */
  schedule?: ScheduleOptions;
  /** every function's code (named as `names`); `cpu`: native code's CPU, for the bundle's cpuTarget */
  write(programs: KernelProgram[], names: string[], ctx: BundleContext): Promise<{ code: BundleCode[]; cpu?: string }>;
}

/** one kind of code `kiln inspect --emit` shows */
export interface EmitKindSpec {
  /** for `kiln inspect --help` */
  label: string;
  /** the code of kernel `kernel` of `p` */
  render(p: KernelProgram, kernel: number): Promise<string>;
  /** a line comment in this code, as a regular expression's source (for highlighting) */
  comment: string;
}

export interface CompilerTarget {
  readonly name: string;
  /** compile()'s target names on this target, and how each creates its process-wide backend */
  readonly backends: Record<string, BackendFactory>;
  readonly bundle?: BundleWriter;
  readonly emit?: Record<string, EmitKindSpec>;
}

export const COMPILER_TARGETS: readonly CompilerTarget[] = [referenceTarget, webgpuTarget, nativeTarget];

for (const t of COMPILER_TARGETS) {
  for (const [name, factory] of Object.entries(t.backends)) registerBackend(name, factory);
}

/** the bundle writers, in the table's order */
export const bundleWriters = (): BundleWriter[] => COMPILER_TARGETS.flatMap((t) => (t.bundle ? [t.bundle] : []));

/** what `kiln build --target` offers: the runtime's bundle targets, in its order of preference */
export function bundleTargets(): BundleWriter[] {
  return RUNTIME_TARGETS.map((rt) => {
    const w = bundleWriters().find((b) => b.name === rt.name);
    if (!w) {
      throw new Error(`target ${rt.name}: runtime/targets.ts runs it, compiler/targets/registry.ts cannot write it`);
    }
    return w;
  });
}

/** every kind `kiln inspect --emit` offers, in the table's order */
export function emitKinds(): [string, EmitKindSpec][] {
  return COMPILER_TARGETS.flatMap((t) => Object.entries(t.emit ?? {}));
}
