// The native target as a bundle runs it: a shared library beside the manifest, opened by the
// native Device (koffi, loaded only when a bundle picks this target).
import { confinedPath } from '../bundle/assets.js';
import { checkCpu, hostCpuFeatures } from '../bundle/cpu.js';
import type { RuntimeTarget } from '../target-descriptor.js';

export const nativeRuntime = {
  name: 'native',
  nodeOnly: true,
  async preflight(m) {
    checkCpu(m, process.arch, await hostCpuFeatures());
  },
  async openDevice() {
    const { createNativeDevice } = await import('./index.js');
    return createNativeDevice();
  },
  async artifact(base, m, t) {
    const library = await confinedPath(base, t.code.file);
    return { target: 'llvm', manifest: t.manifest, code: { library, entry: t.entry, hash: t.code.sha256, cpu: m.cpu } };
  },
} as const satisfies RuntimeTarget;
