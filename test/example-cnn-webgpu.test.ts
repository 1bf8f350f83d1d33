// example-cnn.test.ts (the digits CNN against its PyTorch twin) on WebGPU, in its own process
// (native and WebGPU never share one). That runner reads KILN_TARGETS when its module is evaluated.
process.env.KILN_TARGETS = 'webgpu';
await import('./example-cnn.test.js');
