// The WGSL target's code, as the WebGPU runtime reads it: plain JSON beside the manifest, so a
// bundle can ship it and the runtime never needs the compiler.
import type { Artifact } from '../device.js';
import type { Manifest } from '../manifest.js';

/** One binding of a kernel's shader: a manifest buffer (by index) or the step's host scalars. */
export interface WGSLBinding {
  binding: number;
  /** manifest buffer index, 'scalars' for the uniform buffer of host scalars, 'consts' for the kernel's `consts` */
  buf: number | 'scalars' | 'consts';
  access: 'read' | 'read_write' | 'uniform';
  /** a window of the buffer (targets/wgsl/windows.ts): its byte offset and size; absent: the buffer from 0 */
  offset?: number;
  size?: number;
}

export interface WGSLKernel {
  name: string;
  wgsl: string;
  entryPoint: string;
  bindings: WGSLBinding[];
  /** threads per workgroup (1-D) */
  workgroupSize: number;
  /** dispatchWorkgroups(x, y): the flat workgroup count folded into 2-D past 65,535 */
  workgroups: [number, number];
  /** bytes of var<workgroup> memory the shader declares */
  workgroupStorageBytes: number;
  /** worst-case loop back-edges per invocation (Mesa llvmpipe silently stops at 65,535) */
  loopTrips?: number;
  /** the integer constants the shader reads from its `consts` uniform (kiln_k), in order */
  consts?: number[];
}

/** What a program needs from a device; the runtime checks these against its limits at load. */
export interface WGSLRequirements {
  maxStorageBuffersPerShaderStage: number;
  maxUniformBuffersPerShaderStage: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  /** the uniform binding of host scalars (16 bytes per 4 scalars) */
  maxUniformBufferBindingSize: number;
  /** the largest binding window (absent in code built before windows) */
  maxStorageBufferBindingSize?: number;
}

export interface WGSLCode {
  kernels: WGSLKernel[];
  requirements: WGSLRequirements;
  /**
   * each manifest buffer's length in elements as the kernels were generated for: the runtime
   * refuses a manifest whose sizes differ (the buffers it would allocate are what shaders index)
   */
  bufferSizes: number[];
}

export interface WGSLArtifact extends Artifact {
  target: 'wgsl';
  manifest: Manifest;
  code: WGSLCode;
}

/**
 * what kernels share a shader by: the WGSL past its first line, the `// kernel <name>: ...` header
 * (targets/wgsl/kernel.ts `header`) that names it; kernels of one shape in different places (their
 * constants in `consts`) have the same key, and the runtime compiles each key once
 */
export function shaderKey(k: Pick<WGSLKernel, 'wgsl'>): string {
  return k.wgsl.startsWith('// kernel ') ? k.wgsl.slice(k.wgsl.indexOf('\n') + 1) : k.wgsl;
}

export function isWGSLArtifact(a: Artifact): a is WGSLArtifact {
  const c = a.code as Partial<WGSLCode> | null;
  return a.target === 'wgsl' && !!c && Array.isArray(c.kernels) && !!c.requirements;
}

/** largest workgroup count per dispatch dimension every WebGPU device supports */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Mesa's gallivm loop limiter: total loop back-edges one invocation may take on llvmpipe */
export const LLVMPIPE_LOOP_LIMIT = 65535;
