// The WGSL target: KernelProgram -> Artifact { target: 'wgsl', manifest, code: { kernels, requirements } }.
// Device-independent: the runtime checks `requirements` against the adapter's limits at load.
import type { Kernel, KernelProgram } from '../../compiler/ir/kernel.js';
import type { KernelInfo, Manifest } from '../../runtime/manifest.js';
import {
  LLVMPIPE_LOOP_LIMIT, type WGSLArtifact, type WGSLKernel, type WGSLRequirements,
} from '../../runtime/webgpu/artifact.js';
import { DEFAULT_WORKGROUP_SIZE, renderSerialKernel } from './kernel.js';
import { REDUCE_WORKGROUP_SIZE, renderWorkgroupReduce } from './reduce.js';
import { renderTiledMatmul } from './tile.js';

export interface WGSLOptions {
  /** threads per workgroup for grid kernels (default 64) */
  workgroupSize?: number;
  /** use a workgroup tree reduction for small grids with long reduce loops (default true) */
  workgroupReduce?: boolean;
  /** stage 8x8 tiles in workgroup memory for matmul-shaped kernels (default true) */
  tile?: boolean;
}

import { cascadeSums } from '../../compiler/kernel/cascade.js';

export { renderSerialKernel } from './kernel.js';
export { renderWorkgroupReduce } from './reduce.js';
export { renderTiledMatmul } from './tile.js';

export function renderKernel(k: Kernel, program: Pick<KernelProgram, 'buffers'>, opts: WGSLOptions = {}): WGSLKernel {
  const dtypes = program.buffers.map((b) => b.dtype);
  if (opts.workgroupReduce !== false) {
    const r = renderWorkgroupReduce(k, dtypes, REDUCE_WORKGROUP_SIZE);
    if (r) return r;
  }
  const expanded = cascadeSums(k); // the tree reduction above spreads a cascade over its threads itself
  if (opts.tile !== false) {
    const t = renderTiledMatmul(expanded, dtypes);
    if (t && (t.loopTrips ?? 0) <= LLVMPIPE_LOOP_LIMIT) return t; // else serial, unrolled: fewer trips
  }
  return renderSerialKernel(expanded, dtypes, opts.workgroupSize ?? DEFAULT_WORKGROUP_SIZE);
}

export function kernelInfo(k: Kernel): KernelInfo {
  const { ops, flops, bytesRead, bytesWritten, reason } = k.meta;
  return {
    name: k.name, grid: [...k.grid], ops: [...ops], flops, bytesRead, bytesWritten,
    ...(reason ? { reason } : {}), ...(k.when ? { when: k.when } : {}),
  };
}

export function requirementsOf(kernels: readonly WGSLKernel[]): WGSLRequirements {
  const max = (f: (k: WGSLKernel) => number) => kernels.reduce((m, k) => Math.max(m, f(k)), 0);
  const storage = (k: WGSLKernel) => k.bindings.filter((b) => b.access !== 'uniform').length;
  const uniform = (k: WGSLKernel) => k.bindings.filter((b) => b.access === 'uniform').length;
  const scalarBytes = (k: WGSLKernel) => {
    const m = /kiln_scalars: array<vec4<f32>, (\d+)>/.exec(k.wgsl);
    return m ? Number(m[1]) * 16 : 0;
  };
  return {
    maxStorageBuffersPerShaderStage: max(storage),
    maxUniformBuffersPerShaderStage: max(uniform),
    maxComputeInvocationsPerWorkgroup: max((k) => k.workgroupSize),
    maxComputeWorkgroupSizeX: max((k) => k.workgroupSize),
    maxComputeWorkgroupStorageSize: max((k) => k.workgroupStorageBytes),
    maxComputeWorkgroupsPerDimension: max((k) => Math.max(...k.workgroups)),
    maxUniformBufferBindingSize: max(scalarBytes),
  };
}

/** The target's build: every kernel rendered, plus the manifest the runtime reads. */
export function buildWGSL(program: KernelProgram, opts: WGSLOptions = {}): WGSLArtifact {
  const kernels = program.kernels.map((k) => {
    try {
      return renderKernel(k, program, opts);
    } catch (e) {
      throw new Error(`wgsl: kernel ${k.name}: ${(e as Error).message}`, { cause: e });
    }
  });
  const { kernels: irKernels, ...rest } = program;
  const manifest: Manifest = { format: 1, ...rest, kernels: irKernels.map(kernelInfo) };
  const bufferSizes = program.buffers.map((b) => b.size);
  return { target: 'wgsl', manifest, code: { kernels, requirements: requirementsOf(kernels), bufferSizes } };
}
