// What a target's compiler half is (compiler/targets/registry.ts holds the table of them): the
// backends compile() runs on, how `kiln build` writes its code into a bundle, and what
// `kiln inspect --emit` shows. A module of its own so each entry can name the type without
// importing the table that imports it.
import type { BackendFactory } from '../backend.js';
import type { KernelProgram } from '../ir/kernel.js';
import type { ScheduleOptions } from '../kernel/schedule.js';
import type { Progress } from '../cli/report.js';
import type { BundleCode, FileRef } from '../../runtime/bundle/format.js';
import type { BundleTarget } from '../../runtime/targets.js';

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
