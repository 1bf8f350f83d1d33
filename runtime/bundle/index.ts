// Runs a bundle made by `kiln build`: reads kiln-bundle.json beside the generated entry, checks
// every file's hash, opens a device (native in Node when built, else WebGPU), uploads the initial
// state, and exposes each compiled function as `program.<name>.run(...inputs)`. Needs neither
// the compiler nor LLVM: only this runtime, koffi (native) or a WebGPU implementation.
import type { Device, Executable, HostArray } from '../device.js';
import { compileHostProgram } from '../host.js';
import { storageOf, type CellPlacement } from '../manifest.js';
import { findIndexViolation, indexViolationMessage } from '../index-bounds.js';
import { decodeSafetensors, toFloat32, toInt32 } from '../safetensors.js';
import { readAsset, readChecked } from './assets.js';
import { BUNDLE_FORMAT, type BundleFunction, type BundleManifest, type BundleTarget } from './format.js';
import { BundleState } from './state.js';
import { checkCpu, hostCpuFeatures } from './cpu.js';
import type { ParamGroupHandle } from './hyper.js';

export type { BundleManifest, BundleFunction, BundleTarget, FileRef } from './format.js';

export interface LoadOptions {
  /** default: 'native' in Node when the bundle has it, else 'webgpu' */
  target?: BundleTarget;
  /** WebGPU: a GPU object (navigator.gpu in a browser); Node uses Dawn when omitted */
  gpu?: GPU;
  /** WebGPU in Node: Dawn backend ('llvmpipe' needs no GPU) */
  backend?: string;
}

export interface TensorValue {
  readonly data: Float32Array | Int32Array;
  readonly shape: number[];
  readonly dtype: string;
  /** the single value of a one-element tensor */
  item(): number;
}

export interface BundleFunctionHandle {
  readonly name: string;
  readonly inputs: BundleFunction['inputs'];
  run(...inputs: HostArray[]): Promise<TensorValue | TensorValue[] | undefined>;
}

export interface BundleProgram {
  readonly name: string;
  readonly target: BundleTarget;
  readonly device: Device;
  readonly functions: Record<string, BundleFunctionHandle>;
  /** current model parameters, PyTorch's keys */
  stateDict(): Promise<Record<string, { shape: number[]; data: Float32Array }>>;
  /** checkpoint files (safetensors, PyTorch's keys; see compiler/checkpoint.ts) */
  saveState(): Promise<{ model: Uint8Array; optimizer?: Uint8Array }>;
  /** loads checkpoint files; checks every key and shape first, so a mismatch changes nothing */
  loadState(files: { model?: Uint8Array; optimizer?: Uint8Array }): Promise<void>;
  /** the optimizer's param groups: `optimizer.paramGroups[0].lr = 0.01` applies from the next run */
  readonly optimizer?: { readonly paramGroups: readonly ParamGroupHandle[] };
  destroy(): void;
}

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

function tensorValue(data: HostArray, shape: number[], dtype: string): TensorValue {
  return {
    data, shape, dtype,
    item() {
      if (data.length !== 1) throw new Error(`item(): the tensor has ${data.length} elements, not one`);
      return data[0];
    },
  };
}

async function openDevice(target: BundleTarget, opts: LoadOptions): Promise<Device> {
  if (target === 'native') {
    const { createNativeDevice } = await import('../native/index.js');
    return createNativeDevice();
  }
  const { createWebGPUDevice } = await import('../webgpu/index.js');
  return createWebGPUDevice({ gpu: opts.gpu, ...(opts.backend ? { backend: opts.backend as never } : {}) });
}

async function libraryPath(base: URL, file: string): Promise<string> {
  const urlName = 'node:url';
  const { fileURLToPath } = (await import(/* @vite-ignore */ urlName)) as typeof import('node:url');
  return fileURLToPath(new URL(file, base));
}

export async function loadBundle(base: URL, opts: LoadOptions = {}): Promise<BundleProgram> {
  const m = JSON.parse(new TextDecoder().decode(await readAsset(base, 'kiln-bundle.json'))) as BundleManifest;
  if (m.format !== BUNDLE_FORMAT) throw new Error(`kiln bundle: format ${m.format}, this runtime reads format ${BUNDLE_FORMAT}`);
  const target = opts.target ?? (isNode() && m.targets.includes('native') ? 'native' : 'webgpu');
  if (!m.targets.includes(target)) throw new Error(`kiln bundle ${m.name}: built for ${m.targets.join(', ')}, not '${target}' (kiln build --target ${target})`);
  if (target === 'native' && !isNode()) throw new Error('kiln bundle: the native target runs in Node only; use webgpu in a browser');
  if (target === 'native') checkCpu(m, process.arch, await hostCpuFeatures()); // before any file or library

  // read and check everything before touching a device
  const files: Record<string, Uint8Array> = {};
  for (const [k, ref] of Object.entries(m.state)) if (ref) files[k] = await readChecked(base, ref);
  const codes = await Promise.all(m.functions.map((f) => readChecked(base, f.targets[target]!.code)));
  const device = await openDevice(target, opts);
  const state = new BundleState(device, m);
  const exes: Executable[] = [];
  for (const [i, f] of m.functions.entries()) {
    const t = f.targets[target]!;
    const code = target === 'native'
      ? { library: await libraryPath(base, t.code.file), entry: t.entry, hash: t.code.sha256, cpu: m.cpu }
      : JSON.parse(new TextDecoder().decode(codes[i]));
    for (const b of t.manifest.buffers) if (b.kind === 'state') device.ensureState(b.dtype, b.size);
    exes.push(await device.load({ target: target === 'native' ? 'llvm' : 'wgsl', manifest: t.manifest, code }));
    state.addCells(t.manifest.cells);
  }
  await state.load(files, true);

  const functions: Record<string, BundleFunctionHandle> = {};
  m.functions.forEach((f, i) => {
    const man = f.targets[target]!.manifest;
    const runHost = compileHostProgram(man.host);
    const vars = new Float64Array(man.host.vars.length);
    const init = Float64Array.from(man.host.vars, (v) => v.init);
    const scalars = new Float32Array(Math.max(1, man.host.scalarCount));
    functions[f.name] = {
      name: f.name,
      inputs: f.inputs,
      async run(...inputs: HostArray[]) {
        const bad = f.indexBounds && findIndexViolation(f.indexBounds, inputs);
        if (bad) throw new Error(`${f.name}: ${indexViolationMessage(bad)}`);
        vars.set(init);
        for (const h of f.hostState) vars[h.var] = state.host[h.key];
        runHost(vars, scalars);
        const outs = await exes[i].run(inputs, scalars);
        for (const h of f.hostState) state.host[h.key] = vars[h.var]; // only after the device ran
        const values = outs.map((d, j) => tensorValue(d, f.outputs[j].shape, f.outputs[j].dtype));
        return f.result === 'single' ? values[0] : f.result === 'array' ? values : undefined;
      },
    };
  });
  return {
    name: m.name, target, device, functions,
    stateDict: () => state.modelDict(),
    saveState: () => state.save(),
    loadState: (f) => state.load(f as Record<string, Uint8Array>, false),
    ...(state.hyper ? { optimizer: Object.freeze({ paramGroups: state.hyper.paramGroups }) } : {}),
    destroy: () => device.destroy?.(),
  };
}

export { BundleState, decodeSafetensors, toFloat32, toInt32, storageOf };
export type { CellPlacement };
