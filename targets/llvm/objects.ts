// The split build (split.ts's modules → one shared library): every module through `opt -O3` and
// `llc -O3` into an object file cached by the hash of its own text (with the cpu and the format),
// up to os.availableParallelism() modules at once, then one `cc -shared` over the objects and the
// runtime's (rt.ts, compiled once per cache). A program that differs from a built one in a few kernels
// runs the tools for those kernels and the entry module only.
//   <cache>/obj/<hash>.o    a module's object
//   <cache>/<hash>.so       a library, named by its objects' hashes
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RT_C } from './rt.js';
import type { ModuleIR, SplitIR } from './split.js';
import { cacheDirOf, cpuOf, FORMAT, hostCpu, run, runAsync, type Library, type ToolchainOptions } from './toolchain.js';

const hashOf = (parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);

/** one cached file and the tool runs that make it (in a fresh directory, renamed into place) */
interface Product {
  path: string;
  hash: string;
  /** the inputs to write into the build directory */
  inputs: Record<string, string>;
  /** tool runs; `@` stands for the build directory; the last one writes `@/out` */
  steps: [string, string[]][];
}

interface Plan {
  cpu: string;
  objects: Product[];
  library: Product;
}

function plan(split: SplitIR, opts: ToolchainOptions): Plan {
  const cpu = cpuOf(opts),
    dir = cacheDirOf(opts);
  const cpuKey = [cpu, cpu === 'native' ? hostCpu() : ''];
  const march = cpu === 'native' ? ['-march=native'] : [];
  const object = (m: ModuleIR): Product => {
    const hash = hashOf([FORMAT, 'object', ...cpuKey, m.ir]);
    return {
      path: join(dir, 'obj', `${hash}.o`),
      hash,
      inputs: { 'k.ll': m.ir },
      steps: [
        ['opt', ['-O3', `-mcpu=${cpu}`, '@/k.ll', '-o', '@/k.bc']],
        ['llc', ['-O3', `-mcpu=${cpu}`, '-filetype=obj', '-relocation-model=pic', '@/k.bc', '-o', '@/out']],
      ],
    };
  };
  const rtHash = hashOf([FORMAT, 'rt', ...march, RT_C]);
  const rt: Product = {
    path: join(dir, 'obj', `${rtHash}.o`),
    hash: rtHash,
    inputs: { 'rt.c': RT_C },
    steps: [['cc', ['-c', '-fPIC', '-O2', ...march, '-o', '@/out', '@/rt.c']]],
  };
  const objects = [...split.kernels.map(object), object(split.entry), rt];
  const hash = hashOf([FORMAT, 'library', ...cpuKey, ...objects.map((o) => o.hash)]);
  const library: Product = {
    path: join(dir, `${hash}.so`),
    hash,
    inputs: {},
    steps: [['cc', ['-shared', '-fPIC', '-o', '@/out', ...objects.map((o) => o.path), '-lm', '-lpthread']]],
  };
  return { cpu, objects, library };
}

/** a fresh build directory next to `p`'s file, holding its inputs (a step's `@` names a file in it) */
function buildDir(p: Product): string {
  const parent = join(p.path, '..');
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, `.build-${p.hash.slice(0, 8)}-`));
  for (const [f, text] of Object.entries(p.inputs)) writeFileSync(join(tmp, f), text);
  return tmp;
}
const inDir = (args: string[], tmp: string) => args.map((a) => a.replace(/^@/, tmp));

/** runs `p`'s steps in a fresh directory next to its file and renames the result into place */
async function make(p: Product, exec: (tool: string, args: string[]) => unknown): Promise<void> {
  const tmp = buildDir(p);
  try {
    for (const [tool, args] of p.steps) await exec(tool, inDir(args, tmp));
    renameSync(join(tmp, 'out'), p.path); // atomic: concurrent builders of one hash both succeed
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** the objects not in the cache, the largest modules first (they bound the build's wall time) */
function missing(objects: Product[]): Product[] {
  const size = (p: Product) => Object.values(p.inputs).reduce((a, t) => a + t.length, 0);
  return objects.filter((o) => !existsSync(o.path)).sort((a, b) => size(b) - size(a));
}

const library = (p: Plan, cached: boolean): Library => ({ path: p.library.path, hash: p.library.hash, cached });

/** builds the split program's library (or finds it): the missing objects in turn, then the link; blocks */
export function buildSplitLibrary(split: SplitIR, opts: ToolchainOptions = {}): Library {
  const p = plan(split, opts);
  if (existsSync(p.library.path)) return library(p, true);
  for (const o of missing(p.objects)) makeSync(o);
  makeSync(p.library);
  return library(p, false);
}

function makeSync(p: Product): void {
  const tmp = buildDir(p);
  try {
    for (const [tool, args] of p.steps) run(tool, inDir(args, tmp));
    renameSync(join(tmp, 'out'), p.path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** the same without blocking: up to `jobs` (default os.availableParallelism()) modules at once */
export async function buildSplitLibraryAsync(
  split: SplitIR,
  opts: ToolchainOptions & { jobs?: number } = {},
): Promise<Library> {
  const p = plan(split, opts);
  if (existsSync(p.library.path)) return library(p, true);
  const queue = missing(p.objects);
  const jobs = Math.max(1, opts.jobs ?? availableParallelism());
  const worker = async () => {
    for (let o = queue.shift(); o; o = queue.shift()) await make(o, runAsync);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, worker));
  await make(p.library, runAsync);
  return library(p, false);
}
