// WebGPU on Vulkan / SwiftShader (CPU): small cases only (Dawn on SwiftShader under Node has
// aborted on dispatches of ~2e5+ invocations: a driver bug, not ours).
// Needs: apt-get install chromium libvulkan1 (VK_ICD_FILENAMES is set by the runtime when unset).
import { webgpuSuite } from './webgpu-suite.js';

webgpuSuite('swiftshader', { large: false });
