// The WebGPU target as a bundle runs it: WGSL kernels in a JSON file, on a WebGPU device (Dawn in
// Node, navigator.gpu in a browser; loaded only when a bundle picks this target).
import type { RuntimeTarget } from '../target-descriptor.js';

export const webgpuRuntime = {
  name: 'webgpu',
  nodeOnly: false,
  async openDevice(opts) {
    const { createWebGPUDevice } = await import('./index.js');
    return createWebGPUDevice({ gpu: opts.gpu, ...(opts.backend ? { backend: opts.backend as never } : {}) });
  },
  async artifact(_base, _m, t, bytes) {
    return { target: 'wgsl', manifest: t.manifest, code: JSON.parse(new TextDecoder().decode(bytes)) };
  },
} as const satisfies RuntimeTarget;
