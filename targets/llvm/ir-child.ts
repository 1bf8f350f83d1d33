// The process that owns llvm-bindings. LLVM 14 (llvm-bindings) and the LLVM 15 that Dawn's Mesa
// llvmpipe dlopens register the same global command-line options, so the two must never share
// an address space (a worker thread would): kiln builds LLVM IR here, in a child process, and
// only the finished library (plain machine code) is loaded into the parent. ir-host.ts talks to it:
//   forked with an IPC channel: one request ({ id, program, opts }) per message, answered in order;
//   exits when the parent goes (the channel closes)
//   without one: one v8-serialized request on stdin, the reply on stdout (the synchronous path)
import { deserialize, serialize } from 'node:v8';
import type { IRReply, IRRequest } from './ir-host.js';
import { emitModule, VerifyError } from './module.js';
import { emitSplitModules } from './split.js';

function answer(req: IRRequest): IRReply {
  try {
    if (req.opts.split) return { modules: emitSplitModules(req.program, req.opts) };
    return { ir: emitModule(req.program, req.opts) };
  } catch (e) {
    return e instanceof VerifyError ? { invalid: e.ir } : { error: (e as Error).message };
  }
}

if (process.send) {
  process.on('message', (m: IRRequest & { id: number }) => process.send!({ id: m.id, ...answer(m) }));
  process.on('disconnect', () => process.exit(0));
} else {
  const chunks: Buffer[] = [];
  process.stdin.on('data', (c: Buffer) => chunks.push(c));
  process.stdin.on('end', () => process.stdout.write(serialize(answer(deserialize(Buffer.concat(chunks))))));
}
