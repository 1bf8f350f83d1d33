// The contract between kiln's front end (or a generated bundle) and a backend runtime.
import { numel, type Manifest, type StorageDType } from './manifest.js';
import { arrayKind, gotLength, inputFault, type HostArray } from './typed-array.js';

export type { HostArray } from './typed-array.js';

/**
 * One execution device (a native library host, a WebGPU device). It owns the state arenas that
 * every program loaded on it shares: a cell keeps its offset for the device's lifetime.
 */
export interface Device {
  readonly name: string;
  /** grows the state arena of `dtype` to at least `length` elements, keeping its contents */
  ensureState(dtype: StorageDType, length: number): void;
  /** host -> device copy into a state arena */
  writeState(dtype: StorageDType, offset: number, data: HostArray): void;
  /** device -> host copy out of a state arena */
  readState(dtype: StorageDType, offset: number, length: number): Promise<HostArray>;
  /** optional: the same copy without waiting, where state is host memory (native) */
  readStateSync?(dtype: StorageDType, offset: number, length: number): HostArray;
  /**
   * optional: several ranges of one arena copied straight into host arrays (`into.length` elements from
   * `offset` each), at once: `sync()` makes one read-back of every tensor (WebGPU: one staging buffer, one
   * map) and one copy each (native: no intermediate array)
   */
  readStateInto?(dtype: StorageDType, ranges: readonly StateRange[]): Promise<void>;
  /** prepares a compiled program for running (pipelines, library handles) */
  load(artifact: Artifact): Promise<Executable>;
  destroy?(): void;
}

/** a range of a state arena and the host array it is read into */
export interface StateRange {
  offset: number;
  into: HostArray;
}

/** What a target's build produces: the manifest plus target code. Serializable. */
export interface Artifact {
  target: string;
  manifest: Manifest;
  /** target-specific: WGSL sources, a shared library path, ... */
  code: unknown;
}

export interface Executable {
  /**
   * Runs every kernel once, in order. `inputs` are checked against the manifest (length and
   * dtype) before anything runs; `scalars` are the host program's results for this step.
   * Resolves with the program's outputs, copied to the host. A device that runs later than the call
   * copies the inputs first (a caller may reuse its arrays) unless `inputsOwned`: the caller hands
   * them over, private copies it never touches again (the step driver's queued runs).
   */
  run(inputs: readonly HostArray[], scalars: Float32Array, inputsOwned?: boolean): Promise<HostArray[]>;
  /**
   * Optional: `run` without the promise, for devices whose kernels complete within the call
   * (native). Same checks, same results; a compiled step uses it to do all its work synchronously.
   */
  runSync?(inputs: readonly HostArray[], scalars: Float32Array): HostArray[];
}

export function checkInputs(manifest: Manifest, inputs: readonly ArrayBufferView[]): void {
  if (inputs.length !== manifest.inputs.length) {
    throw new Error(`expected ${manifest.inputs.length} inputs, got ${inputs.length}`);
  }
  manifest.inputs.forEach((p, i) => {
    const want = arrayKind(p.dtype);
    const n = numel(p.shape);
    const fault = inputFault(inputs[i], p.dtype === 'float32' ? 'float32' : 'int32', n);
    if (fault && 'got' in fault) {
      throw new TypeError(`input ${i}: expected a ${want} (dtype ${p.dtype}, shape [${p.shape}]), got ${fault.got}`);
    }
    if (fault) throw new RangeError(`input ${i}: expected ${n} elements for shape [${p.shape}]${gotLength(fault)}`);
  });
}
