// `kiln build`: one self-contained npm package per program definition.
//   package.json          depends only on what the targets need at run time (koffi, webgpu)
//   index.js, index.d.ts  `load()` -> Program with typed `run(...)` per function (ts-morph)
//   kiln-bundle.json      format version, functions, per-target runtime manifests (kernels,
//                         buffer plan), SHA-256 of every file (checked at load); its own
//                         SHA-256 is in index.js: one root hash (README: integrity, not authenticity)
//   webgpu/<fn>.json      WGSL kernels;  native/<fn>.so  the LLVM-built library
//   model.safetensors     initial parameters (PyTorch keys); optimizer.safetensors, extra.safetensors
//   runtime/              kiln's runtime as plain JS (vendored: no kiln install needed)
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeSafetensors, type SafeArray } from '../../runtime/safetensors.js';
import {
  BUNDLE_FORMAT,
  MANIFEST_FILE,
  type BundleFunction,
  type BundleManifest,
  type FileRef,
} from '../../runtime/bundle/format.js';
import type { BundleTarget } from '../../runtime/targets.js';
import type { KernelProgram } from '../ir/kernel.js';
import type { Manifest } from '../../runtime/manifest.js';
import { optimizerMetadata, paramGroupsJson } from '../../runtime/checkpoint-keys.js';
import { KilnError } from '../errors.js';
import { createLowering } from '../inspect/pipeline.js';
import { bundleWriters } from '../targets/registry.js';
import { traceDefinition, type TracedDefinition } from './program.js';
import type { ProgramDefinition } from './define.js';
import { generateDts } from './dts.js';
import { vendorRuntime } from './vendor.js';
import { checkOutput, stageOutput } from './output.js';
import { hyperSpecs } from './hyper.js';
import { cpuTargetOf } from './cpu.js';
import type { Progress } from '../cli/report.js';
import { sha256Hex } from '../files.js';

const kilnPkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

export interface BuildOptions {
  targets: BundleTarget[];
  out: string;
  progress: Progress;
  /** files the build reads (the entry): an --out holding one is refused (compiler/build/output.ts) */
  inputs?: string[];
  /** native: LLVM's -mcpu (default KILN_CPU or 'native': the build machine, which other CPUs may lack) */
  cpu?: string;
}

/**
 * Writes the bundle into a staging folder and swaps it in for `opts.out` only when complete: a
 * failure anywhere leaves the previous output untouched.
 */
export async function buildBundle(def: ProgramDefinition, opts: BuildOptions): Promise<BundleManifest> {
  checkOutput(opts.out, opts.inputs ?? []); // before the work: a refused --out fails fast
  const t = await opts.progress.stage(`trace ${def.name}`, () => traceDefinition(def));
  if (t.unstable.length) {
    throw new KilnError(
      `cannot bundle ${def.name}: a bundle runs one trace per function, and these traces would not hold on every run:` +
        `\n  ${t.unstable.join('\n  ')}\n` +
        '(a gradient: call optimizer.zeroGrad() or model.zeroGrad() before backward(), or set the gradient in ' +
        'every run; a training flag: call model.train() or model.eval() inside each function that depends on it)',
      '',
    );
  }
  const staged = stageOutput(opts.out, opts.inputs ?? []);
  try {
    const m = await writeBundle(def, t, opts, staged.dir);
    staged.commit();
    return m;
  } catch (e) {
    staged.abort();
    throw e;
  }
}

async function writeBundle(
  def: ProgramDefinition,
  t: TracedDefinition,
  opts: BuildOptions,
  out: string,
): Promise<BundleManifest> {
  const { progress } = opts;
  const write = (rel: string, bytes: Uint8Array | string): FileRef => {
    const p = path.join(out, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, bytes);
    return { file: rel, sha256: sha256Hex(typeof bytes === 'string' ? Buffer.from(bytes) : bytes) };
  };
  // one state layout: every function sees a cell at one offset, and every kernel fits each target's limits
  const writers = bundleWriters().filter((w) => opts.targets.includes(w.name));
  const lowering = createLowering(undefined, Object.assign({}, ...writers.map((w) => w.schedule ?? {})));
  const programs = await progress.stage('passes + schedule', () =>
    t.functions.map((f) => lowering.lower(f.traced).kernels),
  );
  const keyOf = (c: { cell: number; name: string }) => t.cellNames.get(c.cell)?.key ?? c.name;
  const named = (m: Manifest): Manifest => ({ ...m, cells: m.cells.map((c) => ({ ...c, name: keyOf(c) })) });

  const functions: BundleFunction[] = t.functions.map((f) => ({
    name: f.name,
    doc: f.spec.doc,
    inputs: f.spec.inputs.map((s, i) => ({ name: s.name ?? `input${i}`, shape: [...s.shape], dtype: s.dtype })),
    outputs: f.traced.graph.outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype })),
    result: f.traced.resultShape,
    hostState: f.traced.hostCells.map(({ var: v, cell }) => ({ var: v, key: t.hostNames.get(cell) ?? cell.name })),
    ...(f.traced.indexBounds.length ? { indexBounds: f.traced.indexBounds } : {}),
    targets: {},
  }));
  let cpu: string | undefined;
  const copy = (rel: string, from: string): FileRef => {
    const p = path.join(out, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    copyFileSync(from, p);
    return { file: rel, sha256: sha256Hex(readFileSync(p)) };
  };
  const names = t.functions.map((f) => f.file);
  for (const w of writers) {
    const built = await w.write(programs, names, { progress, write, copy, ...(opts.cpu ? { cpu: opts.cpu } : {}) });
    built.code.forEach((c, i) => {
      functions[i].targets[w.name] = { ...c, manifest: named(c.manifest) };
    });
    cpu ??= built.cpu;
  }
  const state = await progress.stage('initial state (safetensors)', () => stateFiles(t, programs, write));
  const host: Record<string, number> = {};
  for (const f of t.functions) {
    for (const { cell } of f.traced.hostCells) host[t.hostNames.get(cell) ?? cell.name] = cell.value;
  }
  const optimizer = hyperSpecs(t);
  const cpuTarget = cpu ? cpuTargetOf(cpu) : undefined;
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    name: def.name,
    kiln: kilnPkg.version,
    targets: opts.targets,
    functions,
    state,
    host,
    ...(cpu ? { cpu, cpuTarget } : {}),
    ...(optimizer ? { optimizer } : {}),
  };
  await progress.stage('package (runtime, typed API)', () => {
    const root = write(MANIFEST_FILE, JSON.stringify(manifest, null, 1)).sha256; // the one hash every other hangs from
    vendorRuntime(out);
    const modelKeys = [...t.cellNames.values()].filter((n) => n.file === 'model').map((n) => n.key);
    // a step with DistributedDataParallel's all-reduce runs on the process group the package's runtime starts
    const collectives = functions.some((f) => Object.values(f.targets).some((c) => c?.manifest.collectives?.length));
    write('index.d.ts', generateDts(manifest, modelKeys, collectives));
    write('index.js', entryJs(root, collectives));
    write('package.json', JSON.stringify(packageJson(def, opts.targets, root), null, 2) + '\n');
    write('README.md', readme(def, manifest));
  });
  return manifest;
}

/** model / optimizer / extra (gradients, unnamed cells) initial values, by PyTorch key */
function stateFiles(
  t: TracedDefinition,
  programs: KernelProgram[],
  write: (rel: string, b: Uint8Array) => FileRef,
): BundleManifest['state'] {
  const used = new Set(programs.flatMap((p) => p.cells.map((c) => c.cell)));
  const all = new Map(t.functions.flatMap((f) => [...f.traced.cells]));
  const files: Record<'model' | 'optimizer' | 'extra', Record<string, { shape: number[]; data: SafeArray }>> = {
    model: {},
    optimizer: {},
    extra: {},
  };
  // the whole state dict, even unused parameters and buffers
  for (const [, c] of t.def.model?.stateCells() ?? []) (all.set(c.id, c), used.add(c.id));
  for (const [id, cell] of all) {
    if (!used.has(id)) continue;
    const n = t.cellNames.get(id);
    const kind = n?.file === 'model' ? 'model' : n?.file === 'optimizer' ? 'optimizer' : 'extra';
    files[kind][n?.key ?? cell.name] = { shape: [...cell.shape], data: cell.read('kiln build').slice() };
  }
  for (const [cell, key] of t.hostNames) files.optimizer[key] = { shape: [], data: Float32Array.of(cell.value) };
  const groups = t.def.optimizer?.paramGroups.map((g, gi, gs) => {
    const base = gs.slice(0, gi).reduce((a, x) => a + x.params.length, 0);
    const { params, ...o } = g;
    return { ...o, params: params.map((_: unknown, i: number) => base + i) };
  });
  // model.safetensors in PyTorch's state_dict order (the runtime's stateDict() keeps this order)
  const order = [...(t.def.model?.stateCells() ?? [])].map(([k]) => k).filter((k) => k in files.model);
  files.model = Object.fromEntries([...order, ...Object.keys(files.model)].map((k) => [k, files.model[k]]));
  const out: BundleManifest['state'] = {};
  if (Object.keys(files.model).length) {
    out.model = write('model.safetensors', encodeSafetensors(files.model, { format: 'pt' }));
  }
  if (groups) {
    out.optimizer = write(
      'optimizer.safetensors',
      encodeSafetensors(files.optimizer, optimizerMetadata(paramGroupsJson(groups))),
    );
  }
  if (Object.keys(files.extra).length) out.extra = write('extra.safetensors', encodeSafetensors(files.extra));
  return out;
}

const DISTRIBUTED_EXPORT = "export * as distributed from './runtime/distributed/index.js';\n";
const entryJs = (manifestSha256: string, collectives: boolean) =>
  `// Generated by kiln build. Do not edit. Runs in Node${collectives ? ', under mpirun' : ' and in browsers (WebGPU)'}.
import { loadBundle } from './runtime/bundle/index.js';
${collectives ? DISTRIBUTED_EXPORT : ''}
// SHA-256 of kiln-bundle.json, which records every other file's: checked at load (integrity, not authenticity)
const MANIFEST_SHA256 = '${manifestSha256}';

/** Loads the program: checks every file's hash, opens the device, uploads the initial state. */
export async function load(options = {}) {
  const p = await loadBundle(new URL('./', import.meta.url), options, { manifestSha256: MANIFEST_SHA256 });
  const program = { name: p.name, target: p.target, stateDict: p.stateDict, ` +
  `saveState: p.saveState, loadState: p.loadState, destroy: p.destroy };
  if (p.optimizer) program.optimizer = p.optimizer;
  for (const [name, f] of Object.entries(p.functions)) program[name] = f;
  return Object.freeze(program);
}
`;

function packageJson(def: ProgramDefinition, targets: BundleTarget[], manifestSha256: string) {
  const writers = bundleWriters();
  const needed = writers
    .filter((w) => targets.includes(w.name))
    .flatMap((w) => w.dependencies)
    .sort();
  const deps = Object.fromEntries(needed.map((d) => [d, kilnPkg.dependencies[d]]));
  return {
    name: def.name,
    version: '0.1.0',
    description: def.description ?? `${def.name}, compiled by kiln`,
    type: 'module',
    main: './index.js',
    types: './index.d.ts',
    exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
    files: [
      'index.js',
      'index.d.ts',
      'kiln-bundle.json',
      '*.safetensors',
      'runtime',
      ...writers.map((w) => w.folder),
      'README.md',
    ],
    dependencies: deps,
    kiln: { version: kilnPkg.version, targets, manifestSha256 },
  };
}

function readme(def: ProgramDefinition, m: BundleManifest): string {
  const sigs = m.functions.map((f) => {
    const args = f.inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape}]`).join(', ');
    return `- \`${f.name}.run(${args})\`${f.doc ? `: ${f.doc}` : ''}`;
  });
  return (
    `# ${def.name}\n\n${def.description ?? ''}\n\n` +
    `Compiled by kiln ${m.kiln} for ${m.targets.join(' and ')}.\n\n` +
    `\`\`\`js\nimport { load } from '${def.name}';\n` +
    `const program = await load(); // { target: 'webgpu', gpu: navigator.gpu } in a browser\n\`\`\`\n\n` +
    `${sigs.join('\n')}\n`
  );
}
