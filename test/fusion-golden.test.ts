// Every golden case (optimizers, groups, training) through the fused path: a backend that
// schedules each traced program (compiler/kernel/schedule.ts) and runs the KernelProgram with
// the kernel-IR interpreter. The golden test files are imported with KILN_TARGETS=fused.
import './helpers/fused-backend.js';

process.env.KILN_TARGETS = 'fused';
await import('./golden-optim.test.js');
await import('./golden-optim-groups.test.js');
await import('./golden-train.test.js');
