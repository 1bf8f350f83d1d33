// The compiler half of every target, in one table that compile(), `kiln build` and `kiln inspect`
// iterate: the backends compile() runs on, how `kiln build` writes the target's code into a bundle
// (the runtime half, which loads that code, is runtime/targets.ts under the same name), and the
// code `kiln inspect --emit` shows. A target is a folder in targets/, one entry here and, if
// bundles ship it, one in runtime/targets.ts. The order is the order of `--emit`'s kinds and of
// the code a bundle is written with.
import { registerBackend } from '../backend.js';
import { RUNTIME_TARGETS } from '../../runtime/targets.js';
import type { BundleWriter, CompilerTarget, EmitKindSpec } from './descriptor.js';
import { referenceTarget } from './reference.js';
import { webgpuTarget } from './webgpu.js';
import { nativeTarget } from './native.js';

export type { BundleContext, BundleWriter, CompilerTarget, EmitKindSpec } from './descriptor.js';

export const COMPILER_TARGETS: readonly CompilerTarget[] = [referenceTarget, webgpuTarget, nativeTarget];

for (const t of COMPILER_TARGETS) {
  for (const [name, factory] of Object.entries(t.backends)) registerBackend(name, factory);
}

/** the bundle writers, in the table's order */
export const bundleWriters = (): BundleWriter[] => COMPILER_TARGETS.flatMap((t) => (t.bundle ? [t.bundle] : []));

/** what `kiln build --target` offers: the runtime's bundle targets, in its order of preference */
export function bundleTargets(): BundleWriter[] {
  return RUNTIME_TARGETS.map((rt) => {
    const w = bundleWriters().find((b) => b.name === rt.name);
    if (!w) {
      throw new Error(`target ${rt.name}: runtime/targets.ts runs it, compiler/targets/registry.ts cannot write it`);
    }
    return w;
  });
}

/** every kind `kiln inspect --emit` offers, in the table's order */
export function emitKinds(): [string, EmitKindSpec][] {
  return COMPILER_TARGETS.flatMap((t) => Object.entries(t.emit ?? {}));
}
