// kiln's WebGPU runtime: createWebGPUDevice() -> Device; device.load(wgslArtifact) -> Executable.
export { createWebGPUDevice, WebGPUDevice } from './device.js';
export { WebGPUExecutable, checkRequirements } from './executable.js';
export { openDevice, adapterLimits, describeAdapter, SWIFTSHADER_ICDS } from './gpu.js';
export type { WebGPUDeviceOptions, NodeBackend } from './gpu.js';
export { isWGSLArtifact, MAX_WORKGROUPS_PER_DIM } from './artifact.js';
export type { WGSLArtifact, WGSLCode, WGSLKernel, WGSLBinding, WGSLRequirements } from './artifact.js';
