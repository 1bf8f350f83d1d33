// lr-scheduler-train.test.ts on WebGPU, both CPU adapters (llvmpipe, SwiftShader), in its own process.
// That runner reads its targets from KILN_TARGETS when its module is evaluated, so set it first.
process.env.KILN_TARGETS = 'webgpu,webgpu:swiftshader';
await import('./lr-scheduler-train.test.js');
