// What a target's runtime half is (runtime/targets.ts holds the table of them): how a bundle's code
// for the target becomes an Artifact, and which Device runs it. A module of its own so each entry
// can name the type without importing the table that imports it.
import type { Artifact, Device } from './device.js';
import type { BundleCode, BundleManifest } from './bundle/format.js';

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
