// The 'webgpu' target: a DeviceBackend over one WebGPU device. Graph -> kernels with the
// scheduler (one StateLayout per device, so every program on it shares the state arenas), kernels
// -> WGSL with targets/wgsl, run by runtime/webgpu; in a bundle, the WGSL as JSON; for `kiln inspect`,
// one kernel's WGSL. Everything heavy (the scheduler, the WGSL
// renderer, the runtime and Dawn) is imported on first use: importing kiln never loads Dawn.
//   target 'webgpu'              Node: Dawn on KILN_WEBGPU_BACKEND (default llvmpipe); browser: navigator.gpu
//   target 'webgpu:swiftshader'  (or any NodeBackend name after the colon) a device on that backend
import type { ProgramStats } from '../backend.js';
import { DeviceBackend } from '../device-backend.js';
import type { KernelProgram } from '../ir/kernel.js';
import type { TracedProgram } from '../trace.js';
import type { NodeBackend, WebGPUDevice, WebGPUDeviceOptions, WGSLArtifact } from '../../runtime/webgpu/index.js';
import type { WGSLOptions } from '../../targets/wgsl/index.js';
import type { ScheduleOptions } from '../kernel/schedule.js';
import type { StateLayout } from '../kernel/memory.js';
import type { CompilerTarget } from './descriptor.js';

/** the WebGPU spec's default (and least) maxStorageBuffersPerShaderStage of a core device */
const WEBGPU_MIN_STORAGE_BUFFERS = 8;

export interface WebGPUTargetOptions extends WebGPUDeviceOptions {
  /** the target's name (default 'webgpu') */
  name?: string;
  /** an already open device to run on (benchmarks share one with other libraries) */
  device?: WebGPUDevice;
  wgsl?: WGSLOptions;
  schedule?: ScheduleOptions;
}

/** the compiler half of the target, loaded lazily (no Dawn in here) */
async function loadCompiler() {
  const [{ schedule }, { StateLayout }, { programStats }, { buildWGSL }] = await Promise.all([
    import('../kernel/schedule.js'),
    import('../kernel/memory.js'),
    import('../kernel/stats.js'),
    import('../../targets/wgsl/index.js'),
  ]);
  return { schedule, StateLayout, programStats, buildWGSL };
}

/**
 * Lowers and builds one traced program against a state layout, without a device: the artifact
 * (WGSL + manifest) an AOT bundle or a browser page runs with runtime/webgpu alone.
 */
export async function buildWebGPUArtifact(
  traced: TracedProgram,
  layout?: StateLayout,
  opts: Pick<WebGPUTargetOptions, 'wgsl' | 'schedule'> = {},
): Promise<{ program: KernelProgram; artifact: WGSLArtifact }> {
  const c = await loadCompiler();
  const program = c.schedule(traced.graph, layout ?? new c.StateLayout(), opts.schedule);
  return { program, artifact: c.buildWGSL(program, opts.wgsl) };
}

/** A DeviceBackend that also exposes its WebGPU device (tests report which adapter ran). */
export class WebGPUBackend extends DeviceBackend {
  constructor(
    readonly device: WebGPUDevice,
    readonly layout: StateLayout,
    target: ConstructorParameters<typeof DeviceBackend>[0],
  ) {
    super(target);
  }
  /** e.g. 'webgpu:llvmpipe:mesa / llvmpipe / ...' */
  get adapter(): string {
    return this.device.name;
  }
}

export async function createWebGPUBackend(opts: WebGPUTargetOptions = {}): Promise<WebGPUBackend> {
  const c = await loadCompiler();
  const device = opts.device ?? (await (await import('../../runtime/webgpu/index.js')).createWebGPUDevice(opts));
  const layout = new c.StateLayout(); // lives as long as the device's arenas
  // every kernel must fit the device's binding limit (llvmpipe allows 16, SwiftShader 12)
  const schedule = {
    maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
    splitBorders: false, // each box one more shader to compile, and a GPU does not vectorize per thread
    ...opts.schedule,
  };
  return new WebGPUBackend(device, layout, {
    name: opts.name ?? 'webgpu',
    device,
    lower: (t) => c.schedule(t.graph, layout, schedule),
    // a buffer past one binding is bound as windows (targets/wgsl/windows.ts), at this device's limit
    build: async (kp) => c.buildWGSL(kp, { maxBindingBytes: device.limits.maxStorageBufferBindingSize, ...opts.wgsl }),
    stats: (kp): ProgramStats => c.programStats(kp),
  });
}

const nodeBackends = ['llvmpipe', 'swiftshader'] satisfies NodeBackend[];

export const webgpuTarget: CompilerTarget = {
  name: 'webgpu',
  backends: Object.fromEntries([
    ['webgpu', () => createWebGPUBackend()],
    ...nodeBackends.map((b) => [`webgpu:${b}`, () => createWebGPUBackend({ name: `webgpu:${b}`, backend: b })]),
  ]),
  bundle: {
    name: 'webgpu',
    summary: 'webgpu (WGSL: Node and browsers)',
    folder: 'webgpu',
    dependencies: ['webgpu'], // Dawn, for WebGPU in Node
    // the adapter is unknown at build time: kernels fit the binding limit every WebGPU device offers
    schedule: { maxStorageBuffers: WEBGPU_MIN_STORAGE_BUFFERS, splitBorders: false },
    async write(programs, names, { progress, write }) {
      const { buildWGSL } = await import('../../targets/wgsl/index.js');
      const code = await progress.stage('webgpu: WGSL', () =>
        programs.map((kp, i) => {
          const a = buildWGSL(kp);
          return { manifest: a.manifest, code: write(`webgpu/${names[i]}.json`, JSON.stringify(a.code)) };
        }),
      );
      return { code };
    },
  },
  emit: {
    wgsl: {
      label: 'WGSL',
      render: async (p, kernel) => {
        const { renderKernel } = await import('../../targets/wgsl/index.js');
        return renderKernel(p.kernels[kernel], p).wgsl;
      },
      comment: '\\/\\/[^\\n]*',
    },
  },
};
