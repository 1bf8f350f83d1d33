// The external half of the LLVM target: the tools (textual IR → `opt -O3` → `llc -O3 -filetype=obj`;
// objects.ts runs them per module and links with `cc -shared`), and the content-addressed cache's
// program index, so an identical program is never rebuilt. llvm-bindings has no pass manager or object
// emission, hence the tools. (opt reads textual IR: we add `noalias` to it, which the bindings
// cannot express; opt then writes the bitcode llc reads.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
/** part of every cache key: bump when codegen changes in a way the IR text does not show */
export const FORMAT = 'kiln-llvm-1';

/**
 * counts tool invocations (tests assert the cache avoids them) and sums each phase's wall time in ms
 * (bench/compile-time.mts): codegen (the IR builder), opt, llc, link (cc); concurrent runs add up
 */
export const toolchainStats = { runs: 0, ms: { codegen: 0, opt: 0, llc: 0, link: 0 } };
const PHASE: Record<string, 'opt' | 'llc' | 'link'> = { opt: 'opt', llc: 'llc', cc: 'link' };
function timed(name: string, t0: number): void {
  const phase = PHASE[name];
  if (phase) toolchainStats.ms[phase] += performance.now() - t0;
}

export interface ToolchainOptions {
  /** -mcpu for opt and llc; default KILN_CPU or "native" (the host, with all its features) */
  cpu?: string;
  /** cache directory; default KILN_CACHE_DIR or .kiln-cache/native under the cwd */
  cacheDir?: string;
}

const tool = (name: string): string => process.env[`KILN_${name.toUpperCase()}`] ?? name;

function toolError(exe: string, name: string, err: NodeJS.ErrnoException): Error {
  const why =
    err.code === 'ENOENT'
      ? `\`${exe}\` was not found on PATH (kiln's native target needs LLVM 14's opt and llc, and a C compiler; ` +
        `set KILN_${name.toUpperCase()} to override)`
      : err.message;
  return new Error(`kiln llvm: ${why}`);
}
const exitError = (exe: string, args: string[], status: number | null, out: string) =>
  new Error(`kiln llvm: \`${exe} ${args.join(' ')}\` failed (exit ${status}):\n${out.trim()}`);

export function run(name: string, args: string[], input?: string): string {
  const exe = tool(name);
  toolchainStats.runs++;
  const t0 = performance.now();
  const r = spawnSync(exe, args, { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  timed(name, t0);
  if (r.error) throw toolError(exe, name, r.error);
  if (r.status !== 0) throw exitError(exe, args, r.status, r.stderr || r.stdout);
  return r.stdout;
}

/** the same, without blocking the event loop */
export function runAsync(name: string, args: string[]): Promise<string> {
  const exe = tool(name);
  toolchainStats.runs++;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) => reject(toolError(exe, name, e)));
    child.on('close', (code) => {
      timed(name, t0);
      if (code === 0) resolve(out);
      else reject(exitError(exe, args, code, err || out));
    });
  });
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
  try {
    run('opt', ['-verify', '-disable-output'], ir);
  } catch (e) {
    return (e as Error).message;
  }
  return 'kiln llvm: module failed verification (opt accepted it; see stderr)';
}

export function optimize(ir: string, cpu: string): string {
  return run('opt', ['-O3', `-mcpu=${cpu}`, '-S', '-o', '-'], ir);
}

export function optimizedAssembly(ir: string, cpu: string): string {
  return run('llc', ['-O3', `-mcpu=${cpu}`, '-filetype=asm', '-o', '-'], optimize(ir, cpu));
}

export interface Library {
  path: string;
  hash: string;
  cached: boolean;
}

// programs/<key> holds the hash of the library a program (ir-host.ts programKey) was built into,
// so a cached build needs neither the IR nor the process that makes it
const keyFile = (key: string, opts: ToolchainOptions) => join(cacheDirOf(opts), 'programs', key);

export function cachedLibrary(key: string, opts: ToolchainOptions = {}): Library | undefined {
  let hash: string;
  try {
    hash = readFileSync(keyFile(key, opts), 'utf8').trim();
  } catch {
    return undefined;
  }
  const path = join(cacheDirOf(opts), `${hash}.so`);
  return /^[0-9a-f]{32}$/.test(hash) && existsSync(path) ? { path, hash, cached: true } : undefined;
}

export function rememberLibrary(key: string, lib: Library, opts: ToolchainOptions = {}): void {
  const file = keyFile(key, opts);
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lib.hash);
  renameSync(tmp, file);
}
