// lr-scheduler-train.test.ts on the 'native' target (its own process: native and WebGPU never share one).
// That runner reads its targets from KILN_TARGETS when its module is evaluated, so set it first.
process.env.KILN_TARGETS = 'native';
await import('./lr-scheduler-train.test.js');
