// kiln's runtime, as a generated bundle (or any program without the compiler) uses it: the
// device contract, the host program, safetensors, and the bundle loader. The native and WebGPU
// devices are loaded lazily by the bundle loader (import them from runtime/native or
// runtime/webgpu directly to use them alone), so a browser never loads koffi.
export type { Artifact, Device, Executable, HostArray } from './device.js';
export { checkInputs } from './device.js';
export type {
  Manifest,
  BufferDecl,
  Placement,
  CellPlacement,
  KernelInfo,
  StorageDType,
  ValueDType,
} from './manifest.js';
export { storageOf } from './manifest.js';
export { compileHostProgram, runHostProgram, evalHostExpr, type HostProgram } from './host.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  toFloat32,
  toInt32,
  dtypeOf,
  SafetensorsError,
  type SafeFile,
  type SafeTensor,
  type SafeDType,
} from './safetensors.js';
export {
  loadBundle,
  type LoadOptions,
  type BundleProgram,
  type BundleFunctionHandle,
  type TensorValue,
} from './bundle/index.js';
export type { BundleManifest, BundleFunction, FileRef } from './bundle/format.js';
export type { BundleTarget } from './targets.js';
export { sha256 } from './bundle/assets.js';
// the process group a program's collectives run on (Node, under mpirun; imported on its own: it loads node: modules)
export type { ProcessGroup } from './distributed/group.js';
