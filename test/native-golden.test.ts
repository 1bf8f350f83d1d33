// Every golden runner on the 'native' target (scheduler -> LLVM -> shared library, run through
// koffi): the optimizer goldens (golden-optim.test.ts, <= 1e-5), the parameter groups with their
// state-dict round trip (golden-optim-groups.test.ts), the training goldens (golden-train.test.ts,
// <= 1e-4) and CONTRACT.md (contract.test.ts). Those runners read their targets from KILN_TARGETS
// when their module is evaluated, so it is set before importing them (each test file runs in its
// own process: this changes nothing for other files). The same pattern as webgpu-golden.test.ts.
process.env.KILN_TARGETS = 'native';
await import('./golden-optim.test.js');
await import('./golden-optim-groups.test.js');
await import('./golden-train.test.js');
await import('./contract.test.js');
