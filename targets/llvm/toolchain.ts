// The external half of the LLVM target: textual IR → `opt -O3` → `llc -O3 -filetype=obj` →
// `cc -shared` (linked with rt.c, the thread helper) → a shared library in a content-addressed
// cache, so an identical program is never rebuilt. llvm-bindings has no pass manager or object
// emission, hence the tools. (opt reads textual IR: we add `noalias` to it, which the bindings
// cannot express; opt then writes the bitcode llc reads.)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RT_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'rt.c');
const FORMAT = 'kiln-llvm-1'; // bump when codegen changes in a way the IR text does not show

/** counts tool invocations (tests assert the cache avoids them) */
export const toolchainStats = { runs: 0 };

export interface ToolchainOptions {
  /** -mcpu for opt and llc; default KILN_CPU or "native" (the host, with all its features) */
  cpu?: string;
  /** cache directory; default KILN_CACHE_DIR or .kiln-cache/native under the cwd */
  cacheDir?: string;
}

const tool = (name: string): string => process.env[`KILN_${name.toUpperCase()}`] ?? name;

function run(name: string, args: string[], input?: string): string {
  const exe = tool(name);
  toolchainStats.runs++;
  const r = spawnSync(exe, args, { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) {
    const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? `\`${exe}\` was not found on PATH (kiln's native target needs LLVM 14's opt and llc, and a C compiler; set KILN_${name.toUpperCase()} to override)`
      : r.error.message;
    throw new Error(`kiln llvm: ${why}`);
  }
  if (r.status !== 0) {
    throw new Error(`kiln llvm: \`${exe} ${args.join(' ')}\` failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

let hostCpuName: string | undefined;
/** the CPU that -mcpu=native resolves to, for cache keys and reports */
export function hostCpu(): string {
  hostCpuName ??= /Host CPU:\s*(\S+)/.exec(run('llc', ['--version']))?.[1] ?? 'unknown';
  return hostCpuName;
}

export const cpuOf = (o: ToolchainOptions): string => o.cpu ?? process.env.KILN_CPU ?? 'native';
export const cacheDirOf = (o: ToolchainOptions): string =>
  o.cacheDir ?? process.env.KILN_CACHE_DIR ?? join(process.cwd(), '.kiln-cache', 'native');

/** re-runs broken IR through opt's verifier to get LLVM's own message */
export function verifierMessage(ir: string): string {
  try { run('opt', ['-verify', '-disable-output'], ir); } catch (e) { return (e as Error).message; }
  return 'kiln llvm: module failed verification (opt accepted it; see stderr)';
}

export function optimize(ir: string, cpu: string): string {
  return run('opt', ['-O3', `-mcpu=${cpu}`, '-S', '-o', '-'], ir);
}

export function assemble(ir: string, cpu: string): string {
  return run('llc', ['-O3', `-mcpu=${cpu}`, '-filetype=asm', '-o', '-'], optimize(ir, cpu));
}

export interface Library { path: string; hash: string; cached: boolean }

/** compiles `ir` to a shared library, or returns the cached one with the same content hash */
export function buildLibrary(ir: string, opts: ToolchainOptions = {}): Library {
  const cpu = cpuOf(opts);
  const rt = readFileSync(RT_SOURCE, 'utf8');
  const hash = createHash('sha256')
    .update([FORMAT, cpu, cpu === 'native' ? hostCpu() : '', rt, ir].join('\0')).digest('hex').slice(0, 32);
  const dir = cacheDirOf(opts);
  const path = join(dir, `${hash}.so`);
  if (existsSync(path)) return { path, hash, cached: true };
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, `.build-${hash.slice(0, 8)}-`));
  try {
    writeFileSync(join(tmp, 'k.ll'), ir);
    run('opt', ['-O3', `-mcpu=${cpu}`, join(tmp, 'k.ll'), '-o', join(tmp, 'k.bc')]);
    run('llc', ['-O3', `-mcpu=${cpu}`, '-filetype=obj', '-relocation-model=pic', join(tmp, 'k.bc'), '-o', join(tmp, 'k.o')]);
    const march = cpu === 'native' ? ['-march=native'] : [];
    run('cc', ['-shared', '-fPIC', '-O2', ...march, '-o', join(tmp, 'k.so'), join(tmp, 'k.o'), RT_SOURCE, '-lm', '-lpthread']);
    renameSync(join(tmp, 'k.so'), path); // atomic: concurrent builders of one hash both succeed
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { path, hash, cached: false };
}
