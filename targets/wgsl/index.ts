// The WGSL target: KernelProgram -> Artifact { target: 'wgsl', manifest, code: { kernels, requirements } }.
// Device-independent: the runtime checks `requirements` against the adapter's limits at load.
import { manifestOf, type Kernel, type KernelProgram } from '../../compiler/ir/kernel.js';
import type { WGSLArtifact, WGSLKernel, WGSLRequirements } from '../../runtime/webgpu/artifact.js';
import { cascadeSums } from '../../compiler/kernel/cascade.js';
import { gpuStrategyOf } from '../../compiler/kernel/opt.js';
import type { GpuOptions } from '../../compiler/kernel/opt-gpu.js';
import { DEFAULT_WORKGROUP_SIZE, renderSerialKernel } from './kernel.js';
import { renderWorkgroupReduce } from './reduce.js';
import { renderTiledMatmul } from './tile.js';
import { bindingWindows, DEFAULT_MAX_BINDING_BYTES } from './windows.js';

/** GpuOptions: whether a kernel may run as its strategy's tree reduction or tiled matmul */
export interface WGSLOptions extends GpuOptions {
  /** threads per workgroup for grid kernels (default 64) */
  workgroupSize?: number;
  /** bytes one storage binding may span (the device's maxStorageBufferBindingSize; default WebGPU's 128 MiB):
   *  a larger buffer is bound as windows (windows.ts) */
  maxBindingBytes?: number;
  /** read integer constants of 256 and up from a uniform (expr.ts Ctx.consts), so that kernels of one shape in
   *  different places share one shader (default true) */
  liftConstants?: boolean;
}

export { renderSerialKernel } from './kernel.js';
export { renderWorkgroupReduce } from './reduce.js';
export { renderTiledMatmul } from './tile.js';

/** renders `k` as its strategy says (compiler/kernel/opt-gpu.ts), within what `opts` allows */
export function renderKernel(k: Kernel, program: Pick<KernelProgram, 'buffers'>, opts: WGSLOptions = {}): WGSLKernel {
  const dtypes = program.buffers.map((b) => b.dtype);
  const plan = gpuStrategyOf(k, opts);
  const sizes = program.buffers.map((b) => b.size),
    maxBytes = opts.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES;
  // the tree reduction spreads a cascade sum over its threads itself; the other forms expand it
  const lift = opts.liftConstants ?? true;
  if (plan.kind === 'tree') {
    return renderWorkgroupReduce(k, dtypes, plan, { windows: bindingWindows(k, sizes, maxBytes), liftConstants: lift });
  }
  const expanded = cascadeSums(k);
  const r = { windows: bindingWindows(expanded, sizes, maxBytes), liftConstants: lift };
  if (plan.kind === 'tile') return renderTiledMatmul(expanded, dtypes, plan, r);
  return renderSerialKernel(expanded, dtypes, plan, opts.workgroupSize ?? DEFAULT_WORKGROUP_SIZE, r);
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
    maxUniformBufferBindingSize: max((k) => Math.max(scalarBytes(k), 16 * Math.ceil((k.consts?.length ?? 0) / 4))),
    // a window's size; a whole buffer's binding is bounded by its declared size (the runtime binds no more)
    maxStorageBufferBindingSize: max((k) => Math.max(0, ...k.bindings.map((b) => b.size ?? 0))),
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
  const manifest = manifestOf(program);
  const bufferSizes = program.buffers.map((b) => b.size);
  return { target: 'wgsl', manifest, code: { kernels, requirements: requirementsOf(kernels), bufferSizes } };
}
