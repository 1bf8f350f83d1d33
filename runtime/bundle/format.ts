// The bundle manifest (kiln-bundle.json) that `kiln build` writes and runtime/bundle reads.
// Plain JSON; every file it names carries a SHA-256 checked before use.
import type { Manifest } from '../manifest.js';
import type { IndexBound } from '../index-bounds.js';
import type { GuardRule } from '../hyper-ref.js';

export const BUNDLE_FORMAT = 1;
export const MANIFEST_FILE = 'kiln-bundle.json';

export interface FileRef {
  file: string;
  sha256: string;
}

export interface BundleFunction {
  name: string;
  doc?: string;
  inputs: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'int64' | 'bool' }[];
  outputs: { shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[];
  /** how the traced function returned: one tensor, an array, or nothing */
  result: 'single' | 'array' | 'none';
  /** host program vars that persist between runs (step counters): var index -> state key */
  hostState: { var: number; key: string }[];
  /** inputs holding indices and their valid ranges, checked before each run (absent: none) */
  indexBounds?: IndexBound[];
  /** per target (a name in runtime/targets.ts's table): the runtime manifest (cell names are state keys) and
   * the code file */
  targets: Partial<Record<string, BundleCode>>;
}

/** one function's code for one target */
export interface BundleCode {
  manifest: Manifest;
  code: FileRef;
  /** native: the library's entry symbol */
  entry?: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  name: string;
  kiln: string;
  /** the targets it ships: names in runtime/targets.ts's table (loadBundle refuses others) */
  targets: string[];
  functions: BundleFunction[];
  /** initial state: model.safetensors (PyTorch's model keys), optimizer.safetensors, extra.safetensors */
  state: { model?: FileRef; optimizer?: FileRef; extra?: FileRef };
  /** persistent host values (step counters, hyperparameters) and their initial values */
  host: Record<string, number>;
  /** native code was built for this CPU (`-mcpu`; 'native' = the build machine's) */
  cpu?: string;
  /** native: the CPU the code needs, checked at load before the library is opened (runtime/bundle/cpu.ts) */
  cpuTarget?: CpuTarget;
  /** the optimizer's param groups as the compiled graph uses them (runtime/bundle/hyper.ts) */
  optimizer?: { groups: Record<string, HyperParam>[] };
}

/** `features` in /proc/cpuinfo's vocabulary (x86 `flags`, arm `Features`) */
export interface CpuTarget {
  name: string;
  arch: string;
  features: string[];
}

/**
 * One hyperparameter of a param group (camelCase key, as kiln's optimizer names it). `host`: the
 * graph reads it each run from these host values (one per element of an array like betas), so it
 * can change freely; `baked`: structural choices traced into the graph (amsgrad, weightDecay != 0)
 * with the truth each had at build; a value flipping one needs a rebuild. Neither: unread by this graph.
 */
export interface HyperParam {
  value: unknown;
  host?: string[];
  baked?: { rule: GuardRule; holds: boolean }[];
}
