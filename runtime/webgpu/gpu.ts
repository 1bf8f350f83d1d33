// Getting a GPUDevice: from a given GPU object (navigator.gpu in a browser) or, in Node, from
// Dawn's bindings (the `webgpu` package, imported lazily so browsers never see it). The rest of
// the runtime depends only on the WebGPU API.

/** Node backends: 'llvmpipe' = OpenGL ES on Mesa's CPU rasterizer, 'swiftshader' = Vulkan on
 *  SwiftShader (Chromium's ICD); the rest are Dawn's own backend names. */
export type NodeBackend =
  'llvmpipe' | 'swiftshader' | 'opengles' | 'opengl' | 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'null';

export interface WebGPUDeviceOptions {
  /** a GPU object to use (navigator.gpu in a browser); in Node, omit it to use Dawn */
  gpu?: GPU;
  /** Node only: Dawn backend (default: env KILN_WEBGPU_BACKEND, else 'llvmpipe', which needs no GPU) */
  backend?: NodeBackend;
  /** extra Dawn options for Node's create(), e.g. 'enable-dawn-features=dump_shaders' */
  dawnOptions?: string[];
  /** default: 'compatibility' for OpenGL ES backends (the only level they offer), else 'core' */
  featureLevel?: 'core' | 'compatibility';
  powerPreference?: GPUPowerPreference;
  /** error scopes around load and run, shader compilation messages (or env KILN_WEBGPU_DEBUG=1) */
  debug?: boolean;
}

export interface Opened {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  backend: string;
  debug: boolean;
}

// GPUBufferUsage / GPUMapMode values from the spec: Node has no such globals unless installed.
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
export const MAP_READ = 1;

/** typed arrays as writeBuffer sources (TS 5.9 types typed arrays over ArrayBufferLike) */
export const bufferSource = (a: ArrayBufferView) => a as unknown as GPUAllowSharedBufferSource;

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;
const env = (k: string): string | undefined => (isNode() ? process.env[k] : undefined);

/** where Chromium's SwiftShader Vulkan ICD is installed on common Linux distributions */
export const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

/** Node: the GPU object for a backend, with the env vars the drivers read set when unset.
 *  EGL and the Vulkan loader read them when Dawn creates its instance (at create()), not at import. */
async function nodeGPU(backend: NodeBackend, extra: string[]): Promise<{ gpu: GPU; dawnBackend: string }> {
  let dawnBackend: string = backend;
  if (backend === 'llvmpipe' || backend === 'opengles' || backend === 'opengl') {
    process.env.EGL_PLATFORM ??= 'surfaceless'; // headless EGL: no X11/Wayland display needed
    if (backend === 'llvmpipe') dawnBackend = 'opengles';
  }
  if (backend === 'swiftshader') {
    dawnBackend = 'vulkan';
    if (!process.env.VK_ICD_FILENAMES) {
      const fs = 'node:fs';
      const { existsSync } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs');
      const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
      if (!icd) {
        throw new Error(
          `webgpu: SwiftShader's Vulkan ICD not found (looked in ${SWIFTSHADER_ICDS.join(', ')}); ` +
            'install chromium and libvulkan1, or set VK_ICD_FILENAMES',
        );
      }
      process.env.VK_ICD_FILENAMES = icd;
    }
  }
  const spec = 'webgpu'; // a variable, so browser bundlers leave the Node-only import alone
  let mod: { create(options: string[]): GPU };
  try {
    mod = await import(/* @vite-ignore */ spec);
  } catch (e) {
    throw new Error(`webgpu: cannot load the 'webgpu' package (Dawn's Node bindings): ${(e as Error).message}`, {
      cause: e,
    });
  }
  return { gpu: mod.create([`backend=${dawnBackend}`, ...extra]), dawnBackend };
}

/** all of the adapter's limits, to pass as requiredLimits (a device gets only the defaults otherwise) */
export function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s);
  return parts.join(' / ') + (info.isFallbackAdapter ? ' (fallback)' : '');
}

export async function openDevice(opts: WebGPUDeviceOptions = {}): Promise<Opened> {
  const debug = opts.debug ?? env('KILN_WEBGPU_DEBUG') === '1';
  let gpu = opts.gpu;
  let backend = 'browser';
  if (!gpu) {
    if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu && !isNode()) {
      gpu = (navigator as Navigator).gpu;
    } else if (isNode()) {
      const b = (opts.backend ?? env('KILN_WEBGPU_BACKEND') ?? 'llvmpipe') as NodeBackend;
      ({ gpu } = await nodeGPU(b, opts.dawnOptions ?? []));
      backend = b;
    } else {
      throw new Error('webgpu: no GPU object: navigator.gpu is missing (is WebGPU enabled?) and this is not Node');
    }
  }
  const compat = backend === 'llvmpipe' || backend === 'opengles' || backend === 'opengl';
  const featureLevel = opts.featureLevel ?? (compat ? 'compatibility' : 'core');
  const adapter = await gpu.requestAdapter({ featureLevel, powerPreference: opts.powerPreference });
  if (!adapter) {
    const hint =
      backend === 'llvmpipe'
        ? ' (OpenGL ES via EGL on Mesa: apt-get install libegl1 libgles2 libgl1-mesa-dri; EGL_PLATFORM=surfaceless)'
        : backend === 'swiftshader'
          ? ' (Vulkan on SwiftShader: apt-get install chromium libvulkan1; ' +
            `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})`
          : '';
    throw new Error(`webgpu: no adapter for backend '${backend}', featureLevel '${featureLevel}'${hint}`);
  }
  const device = await adapter.requestDevice({ requiredLimits: adapterLimits(adapter), label: 'kiln' });
  return { gpu, adapter, device, backend, debug };
}
