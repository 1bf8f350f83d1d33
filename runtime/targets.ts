// The runtime half of every target a bundle can ship, in one table: how a bundle's code for the
// target becomes an Artifact, and which Device runs it. `loadBundle` iterates this table; the
// compiler half (how kiln build writes that code) is compiler/targets/registry.ts, one entry per
// name here. The order is the order of preference when a bundle is loaded without a target.
import type { RuntimeTarget } from './target-descriptor.js';
import { nativeRuntime } from './native/target.js';
import { webgpuRuntime } from './webgpu/target.js';

export type { DeviceOptions, RuntimeTarget } from './target-descriptor.js';

export const RUNTIME_TARGETS = [nativeRuntime, webgpuRuntime] as const;

/** a target a bundle can ship: a name in the table ('native' | 'webgpu') */
export type BundleTarget = (typeof RUNTIME_TARGETS)[number]['name'];

/** an entry of the table, its name one of the table's */
export type RuntimeTargetEntry = RuntimeTarget & { readonly name: (typeof RUNTIME_TARGETS)[number]['name'] };

export function runtimeTarget(name: string): RuntimeTargetEntry | undefined {
  return RUNTIME_TARGETS.find((t) => t.name === name);
}
