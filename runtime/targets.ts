// The runtime half of every target a bundle can ship, in one table: how a bundle's code for the
// target becomes an Artifact, and which Device runs it. `loadBundle` iterates this table; the
// compiler half (how kiln build writes that code) is compiler/targets/registry.ts, one entry per
// name here. The order is the order of preference when a bundle is loaded without a target.
import type { Artifact, Device } from './device.js';
import type { BundleCode, BundleManifest } from './bundle/format.js';
import { nativeRuntime } from './native/target.js';
import { webgpuRuntime } from './webgpu/target.js';

export interface DeviceOptions {
  /** WebGPU: a GPU object (navigator.gpu in a browser); Node uses Dawn when omitted */
  gpu?: GPU;
  /** WebGPU in Node: Dawn backend ('llvmpipe' needs no GPU) */
  backend?: string;
}

export interface RuntimeTarget {
  /** the target's name in kiln-bundle.json's `targets` */
  readonly name: string;
  /** whether only Node can run it (a browser has no native libraries) */
  readonly nodeOnly: boolean;
  /** checks that must pass before any file is read or device opened (native: this CPU) */
  preflight?(m: BundleManifest): Promise<void>;
  openDevice(opts: DeviceOptions): Promise<Device>;
  /** the artifact its device loads, from the function's entry and its code file (hash checked) */
  artifact(base: URL, m: BundleManifest, code: BundleCode, bytes: Uint8Array): Promise<Artifact>;
}

export const RUNTIME_TARGETS = [nativeRuntime, webgpuRuntime] as const;

/** an entry of the table, its name one of the table's */
export type RuntimeTargetEntry = RuntimeTarget & { readonly name: (typeof RUNTIME_TARGETS)[number]['name'] };

export function runtimeTarget(name: string): RuntimeTargetEntry | undefined {
  return RUNTIME_TARGETS.find((t) => t.name === name);
}
