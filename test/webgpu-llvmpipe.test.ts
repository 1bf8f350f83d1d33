// WebGPU on OpenGL ES / Mesa llvmpipe (CPU): every case, including the 2-D workgroup fold.
// Needs: apt-get install libegl1 libgles2 libgl1-mesa-dri (EGL_PLATFORM=surfaceless is set by the runtime).
import { webgpuSuite } from './webgpu-suite.js';

webgpuSuite('llvmpipe', { large: true });
