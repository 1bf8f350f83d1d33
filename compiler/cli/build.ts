// `kiln build <entry.ts>`: a self-contained npm package per program (see compiler/build/bundle.ts).
import path from 'node:path';
import type { CommandSpec, Parsed } from './args.js';
import { Progress } from './report.js';
import { loadDefinitions } from '../build/program.js';
import { buildBundle } from '../build/bundle.js';
import type { BundleTarget } from '../../runtime/targets.js';
import type { BundleFunction } from '../../runtime/bundle/format.js';
import { bundleTargets } from '../targets/registry.js';

export const spec: CommandSpec = {
  name: 'build',
  summary: 'compile a program into a self-contained npm package (Node and browsers)',
  positionals: [{ name: 'entry.ts', desc: 'a module exporting defineProgram({...})' }],
  options: [
    {
      name: 'target',
      short: 't',
      value: 'target',
      choices: [...bundleTargets().map((w) => w.name), 'all'],
      default: 'all',
      desc:
        `code to ship: ${bundleTargets()
          .map((w) => w.summary)
          .join(', ')}, or ` + (bundleTargets().length === 2 ? 'both' : 'all'),
    },
    {
      name: 'out',
      short: 'o',
      value: 'dir',
      desc:
        'output folder, replaced only if empty or a previous kiln build, and only once the build succeeds ' +
        '(default: build/<program name>)',
    },
    {
      name: 'cpu',
      value: 'name',
      desc:
        "native: the CPU to compile for (LLVM's -mcpu: x86-64-v2, x86-64-v3, znver3, ...); default KILN_CPU or " +
        "'native' (this machine: may refuse to load on a CPU lacking its features)",
    },
    { name: 'quiet', short: 'q', desc: 'no progress on stderr' },
  ],
  details:
    'The package: package.json, index.js + index.d.ts (typed run() per function), kiln-bundle.json\n' +
    '(manifest with hashes), WGSL and/or the native .so, model.safetensors (initial parameters),\n' +
    "optimizer.safetensors, and kiln's runtime as plain JS. It needs no compiler, LLVM or ts-morph to run.",
  examples: [
    'kiln build examples/programs/seed.ts --target webgpu --out build/seed',
    'kiln build examples/programs/seed.ts && npm pack ./build/kiln-seed',
    'kiln build examples/programs/seed.ts --target native --cpu x86-64-v3   # runs on any AVX2 machine',
  ],
};

export async function run({ positionals: [entry], opts }: Parsed): Promise<number> {
  const progress = new Progress(!!opts.quiet);
  const targets: BundleTarget[] =
    opts.target === 'all' ? bundleTargets().map((w) => w.name) : [opts.target as BundleTarget];
  const defs = await progress.stage(`load ${entry}`, () => loadDefinitions(entry));
  for (const def of defs) {
    const base = (opts.out as string | undefined) ?? path.join('build', def.name);
    const out = defs.length > 1 && opts.out ? path.join(base, def.name) : base;
    progress.info(`building ${def.name} (${targets.join(', ')}) -> ${out}`);
    const m = await buildBundle(def, {
      targets,
      out,
      progress,
      inputs: [entry],
      ...(opts.cpu ? { cpu: opts.cpu as string } : {}),
    });
    progress.info(
      `${def.name}: ${new Set(m.functions.map((f) => f.name)).size} function(s), ` +
        m.functions
          .map((f) => {
            const variant = m.functions.filter((g) => g.name === f.name).length > 1 ? ` ${inputShapes(f)}` : '';
            return `${f.name}${variant} ${Object.values(f.targets)[0]?.manifest.kernels.length ?? 0} kernels`;
          })
          .join(', '),
    );
  }
  progress.summary();
  return 0;
}

/** a variant's input shapes, as `[32, 10] [32]` */
const inputShapes = (f: BundleFunction) => f.inputs.map((i) => `[${i.shape.join(', ')}]`).join(' ');
