// The parent's side of ir-child.ts: kiln never loads llvm-bindings in its own process (Dawn's
// llvmpipe brings LLVM 15, and two LLVMs in one address space abort or crash). IR is built by
//   emitIR(program, opts)      one long-lived child, started on first use, answering in order;
//                              it never keeps the parent alive and exits with it
//   emitIRSync(program, opts)  a one-shot child (for the synchronous API)
// programKey names a build before any IR exists, so a cached library is found without a child.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { KernelProgram } from '../../compiler/ir/kernel.js';
import type { IRProgram, ModuleOptions } from './module.js';
import type { SplitIR } from './split.js';
import { cpuOf, hostCpu } from './toolchain.js';

export interface IRRequest {
  program: IRProgram;
  opts: ModuleOptions;
}
/** the module's text (split: the modules' texts), or IR that failed LLVM's verifier, or another error's message */
export type IRReply = { ir: string } | { modules: SplitIR } | { invalid: string } | { error: string };

const here = fileURLToPath(import.meta.url);
const ext = here.slice(here.lastIndexOf('.')); // .ts from source (run through tsx), .js when built
const childScript = join(dirname(here), `ir-child${ext}`);
const childArgv = (): string[] =>
  ext === '.ts' ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];

/** the IR of `program`, built in the shared child process */
export function emitIR(p: KernelProgram, opts: ModuleOptions): Promise<IRReply> {
  const c = irChild(),
    program = irProgram(p);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    hold(c, true);
    c.send({ id, program, opts });
  });
}

/** the same, blocking: a fresh child for this one request */
export function emitIRSync(p: KernelProgram, opts: ModuleOptions): IRReply {
  const program = irProgram(p);
  const r = spawnSync(process.execPath, [...childArgv(), childScript], {
    input: serialize({ program, opts } satisfies IRRequest),
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (r.error) throw new Error(`kiln llvm: could not start the IR builder process: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kiln llvm: the IR builder process failed (${r.signal ?? `exit ${r.status}`})`);
  return deserialize(r.stdout) as IRReply;
}

/** only what the IR reads travels (a program also carries its graph, for inspection) */
const irProgram = (p: KernelProgram): IRProgram => ({
  buffers: p.buffers,
  kernels: p.kernels,
  ...(p.collectives ? { collectives: p.collectives } : {}),
});

interface Waiter {
  resolve: (r: IRReply) => void;
  reject: (e: Error) => void;
}
let child: ChildProcess | undefined;
let nextId = 0;
const pending = new Map<number, Waiter>();

/** a child with requests in flight keeps the parent alive (it waits for them); an idle one does not */
function hold(c: ChildProcess, busy: boolean): void {
  if (busy) {
    c.ref();
    c.channel?.ref();
  } else {
    c.unref();
    c.channel?.unref();
  }
}

function irChild(): ChildProcess {
  if (child) return child;
  const c = fork(childScript, [], {
    execArgv: childArgv(),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const fail = (why: string) => {
    if (child === c) child = undefined;
    const err = new Error(`kiln llvm: the IR builder process ${why}`);
    for (const w of pending.values()) w.reject(err);
    pending.clear();
  };
  c.on('message', (m: IRReply & { id: number }) => {
    const w = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) hold(c, false);
    const { id: _, ...reply } = m;
    w?.resolve(reply as IRReply);
  });
  c.on('error', (e) => fail(`failed: ${e.message}`));
  c.on('exit', (code, signal) => fail(`exited (${signal ?? `exit ${code}`})`));
  hold(c, false);
  child = c;
  return c;
}

let codegenHash: string | undefined;
/** what the IR depends on besides the program: this directory's code and the kernel IR helpers */
function codegen(): string {
  if (codegenHash) return codegenHash;
  const h = createHash('sha256');
  const dir = dirname(here);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(dir, f));
  const kernelIR = join(dir, '..', '..', 'compiler', 'ir', `kernel${ext}`);
  for (const f of [...files, kernelIR]) h.update(f).update(readFileSync(f));
  return (codegenHash = h.digest('hex'));
}

/** a content hash of everything emitModule(program, opts) reads */
export function programKey(p: KernelProgram, opts: ModuleOptions): string {
  const program = irProgram(p);
  const env = ['KILN_LLVM_TRIPLE', 'KILN_LLVM_DATALAYOUT'].map((k) => process.env[k] ?? '');
  const cpu = cpuOf(opts); // 'native' reads this host's CPU flags
  const host = [process.arch, ...env, cpu, cpu === 'native' ? hostCpu() : ''];
  return createHash('sha256')
    .update([codegen(), ...host].join('\0'))
    .update(serialize({ program, opts }))
    .digest('hex')
    .slice(0, 32);
}
