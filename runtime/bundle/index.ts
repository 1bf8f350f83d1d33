// Runs a bundle made by `kiln build`: reads kiln-bundle.json beside the generated entry, checks
// every file's hash, opens a device (native in Node when built, else WebGPU), uploads the initial
// state, and exposes each compiled function as `program.<name>.run(...inputs)`. Needs neither
// the compiler nor LLVM: only this runtime, koffi (native) or a WebGPU implementation.
import { checkInputs, type Device, type Executable, type HostArray } from '../device.js';
import { OrderedQueue } from '../order.js';
import { HostStep, StepDriver, type StepProgram } from '../step.js';
import { storageOf, type CellPlacement } from '../manifest.js';
import { indexViolationMessage } from '../index-bounds.js';
import { decodeSafetensors, toFloat32, toInt32 } from '../safetensors.js';
import { readChecked } from './assets.js';
import {
  RUNTIME_TARGETS,
  runtimeTarget,
  type BundleTarget,
  type DeviceOptions,
  type RuntimeTargetEntry,
} from '../targets.js';
import { BUNDLE_FORMAT, MANIFEST_FILE, type BundleFunction, type BundleManifest } from './format.js';
import { checkManifest } from './validate.js';
import { BundleState } from './state.js';
import type { ParamGroupHandle } from './hyper.js';

export type { BundleManifest, BundleFunction, FileRef } from './format.js';
export type { BundleTarget } from '../targets.js';

export interface LoadOptions extends DeviceOptions {
  /** default: the first of runtime/targets.ts's table the bundle has and this host runs ('native' in Node) */
  target?: BundleTarget;
}

export interface TensorValue {
  readonly data: Float32Array | Int32Array;
  readonly shape: number[];
  readonly dtype: string;
  /** the single value of a one-element tensor */
  item(): number;
}

/** what a function's run resolves with: by how the traced function returned */
export type RunResult = TensorValue | TensorValue[] | undefined;

export interface BundleFunctionHandle {
  readonly name: string;
  /** the first variant's inputs */
  readonly inputs: BundleFunction['inputs'];
  /** every variant's inputs, in build order: `run` takes the one whose shapes the arrays' lengths fit */
  readonly variants: BundleFunction['inputs'][];
  run(...inputs: HostArray[]): Promise<RunResult>;
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
    data,
    shape,
    dtype,
    item() {
      if (data.length !== 1) throw new Error(`item(): the tensor has ${data.length} elements, not one`);
      return data[0];
    },
  };
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** whether arrays of these lengths are this variant's inputs (check() then proves their kinds) */
const fits = (f: BundleFunction, inputs: readonly HostArray[]) =>
  inputs.length === f.inputs.length && f.inputs.every((s, j) => inputs[j]?.length === numel(s.shape));

function noVariant(name: string, fs: BundleFunction[], inputs: readonly HostArray[]): Error {
  const shapes = (f: BundleFunction) => f.inputs.map((i) => `[${i.shape.join(', ')}]`).join(' ');
  const lengths = inputs.map((a) => (a && typeof a.length === 'number' ? a.length : typeof a)).join(', ');
  return new Error(
    `${name}: no variant takes inputs of lengths ${lengths}; this bundle has ${fs.map(shapes).join('; ')} ` +
      "(kiln build: add the shapes to the function's `shapes`)",
  );
}

/** the first target in order of preference that the bundle has and that runs here */
function defaultTarget(m: BundleManifest): RuntimeTargetEntry {
  const here = RUNTIME_TARGETS.filter((t) => isNode() || !t.nodeOnly);
  return here.find((t) => (m.targets as string[]).includes(t.name)) ?? here[0];
}

/** what the generated index.js knows of its bundle: the root of the hashes (see README "Bundles") */
export interface BundleIntegrity {
  manifestSha256: string;
}

/** the manifest, after checking its hash against the root one and every path and name it holds */
async function readManifest(base: URL, integrity: BundleIntegrity | undefined): Promise<BundleManifest> {
  if (!integrity || !/^[0-9a-f]{64}$/.test(integrity.manifestSha256)) {
    throw new Error(
      "kiln bundle: loadBundle needs the SHA-256 of kiln-bundle.json (the bundle's generated index.js " +
        'passes it): load the bundle through its index.js',
    );
  }
  const bytes = await readChecked(base, { file: MANIFEST_FILE, sha256: integrity.manifestSha256 });
  const m = JSON.parse(new TextDecoder().decode(bytes)) as BundleManifest;
  if (m.format !== BUNDLE_FORMAT) {
    throw new Error(`kiln bundle: format ${m.format}, this runtime reads format ${BUNDLE_FORMAT}`);
  }
  checkManifest(m);
  return m;
}

export async function loadBundle(
  base: URL,
  opts: LoadOptions = {},
  integrity?: BundleIntegrity,
): Promise<BundleProgram> {
  const m = await readManifest(base, integrity);
  const rt = opts.target == null ? defaultTarget(m) : runtimeTarget(opts.target);
  if (!rt) {
    throw new Error(
      `kiln bundle ${m.name}: unknown target ${JSON.stringify(opts.target)}: ` +
        `a bundle runs ${RUNTIME_TARGETS.map((t) => `'${t.name}'`).join(' or ')} (built: ${m.targets.join(', ')}); ` +
        "the 'reference' interpreter is compile()'s, not shipped in bundles",
    );
  }
  const target = rt.name;
  if (!m.targets.includes(target)) {
    throw new Error(
      `kiln bundle ${m.name}: built for ${m.targets.join(', ')}, not '${target}' ` + `(kiln build --target ${target})`,
    );
  }
  if (rt.nodeOnly && !isNode()) {
    const browser = RUNTIME_TARGETS.filter((t) => !t.nodeOnly)
      .map((t) => t.name)
      .join(' or ');
    throw new Error(`kiln bundle: the ${target} target runs in Node only; use ${browser} in a browser`);
  }
  await rt.preflight?.(m); // before any file or library

  // read and check everything before touching a device
  const files: Record<string, Uint8Array> = {};
  for (const [k, ref] of Object.entries(m.state)) if (ref) files[k] = await readChecked(base, ref);
  const codes = await Promise.all(m.functions.map((f) => readChecked(base, f.targets[target]!.code)));
  const device = await rt.openDevice(opts);
  // runs, hyperparameter changes and state reads/loads in call order, whatever is awaited
  const queue = new OrderedQueue();
  const state = new BundleState(device, m, (change) => queue.apply(change));
  const exes: Executable[] = [];
  for (const [i, f] of m.functions.entries()) {
    const t = f.targets[target]!;
    const artifact = await rt.artifact(base, m, t, codes[i]);
    for (const b of t.manifest.buffers) if (b.kind === 'state') device.ensureState(b.dtype, b.size);
    exes.push(await device.load(artifact));
    state.addCells(t.manifest.cells);
  }
  await state.load(files, true);

  const variants = new Map<string, { f: BundleFunction; run: (inputs: HostArray[]) => Promise<RunResult> }[]>();
  m.functions.forEach((f, i) => {
    const man = f.targets[target]!.manifest;
    const exe = exes[i];
    const program: StepProgram<undefined, RunResult> = {
      host: new HostStep(man.host),
      indexBounds: f.indexBounds,
      readHost(vars) {
        for (const h of f.hostState) vars[h.var] = state.host[h.key];
      },
      runSync: exe.runSync?.bind(exe),
      run: (inputs, scalars) => exe.run(inputs, scalars, true), // the driver's private copies
      commit(vars, outs) {
        for (const h of f.hostState) state.host[h.key] = vars[h.var]; // only after the device ran
        const values = outs.map((d, j) => tensorValue(d, f.outputs[j].shape, f.outputs[j].dtype));
        return f.result === 'single' ? values[0] : f.result === 'array' ? values : undefined;
      },
    };
    // hyperparameter changes are ordered by the queue itself (BundleState's inOrder): nothing to take live
    const driver = new StepDriver<HostArray, undefined, RunResult, typeof program>({
      queue,
      check: (inputs: readonly HostArray[]) => {
        checkInputs(man, inputs);
        return inputs as HostArray[];
      },
      current: () => program,
      prepare: async () => program,
      indexError: (bad) => new Error(`${f.name}: ${indexViolationMessage(bad)}`),
    });
    variants.set(f.name, [...(variants.get(f.name) ?? []), { f, run: (inputs) => driver.run(inputs) }]);
  });
  const functions: Record<string, BundleFunctionHandle> = {};
  for (const [name, vs] of variants) {
    const run = (...inputs: HostArray[]) => {
      const v = vs.length === 1 ? vs[0] : vs.find(({ f }) => fits(f, inputs));
      if (!v)
        return Promise.reject(
          noVariant(
            name,
            vs.map(({ f }) => f),
            inputs,
          ),
        );
      return v.run(inputs);
    };
    functions[name] = { name, inputs: vs[0].f.inputs, variants: vs.map(({ f }) => f.inputs), run };
  }
  return {
    name: m.name,
    target,
    device,
    functions,
    stateDict: () => queue.enqueue(() => state.modelDict()),
    saveState: () => queue.enqueue(() => state.save()),
    loadState: (f) => queue.enqueue(() => state.load(f as Record<string, Uint8Array>, false)),
    ...(state.hyper ? { optimizer: Object.freeze({ paramGroups: state.hyper.paramGroups }) } : {}),
    destroy: () => device.destroy?.(),
  };
}

export { BundleState, decodeSafetensors, toFloat32, toInt32, storageOf };
export type { CellPlacement };
