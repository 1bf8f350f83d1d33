// A KernelProgram → one LLVM module: a function per kernel plus the exported entry point
//   void kiln_run(T0* b0, ..., TN* bN)      (Ti = float or int32_t, one per manifest buffer, in order)
// which calls every kernel in order: one foreign call per run. Threads are handled by kiln_par
// (runtime support, C source in rt.ts) for kernels large enough to win from two cores.
import llvm from 'llvm-bindings';
import type { Kernel, KernelProgram } from '../../compiler/ir/kernel.js';
import { cpuProfile, hostTriple } from './cpu.js';
import { KernelEmitter } from './kernel.js';
import { shapeFor, type Shape } from '../../compiler/kernel/opt-cpu.js';
import { ENTRY } from './rt.js';
import { cpuOf } from './toolchain.js';
import { unalignVectors } from './vreduce.js';
import { parallelGrids } from './parallel.js';
import { NATIVE_COLLECTIVE as COLLECTIVE, NATIVE_SIZES } from '../../runtime/native/entry.js';
import { CollectiveSchedule } from '../../runtime/distributed/collectives.js';

/** data layouts of the triples we target (llvm-bindings cannot create a TargetMachine to ask) */
const LAYOUTS: Record<string, string> = {
  x86_64: 'e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128',
  aarch64: 'e-m:e-i8:8:32-i16:16:32-i64:64-i128:128-n32:64-S128',
};

export function dataLayout(triple: string): string {
  const dl = process.env.KILN_LLVM_DATALAYOUT ?? LAYOUTS[triple.split('-')[0]];
  if (!dl) throw new Error(`kiln llvm: no data layout known for target ${triple}; set KILN_LLVM_DATALAYOUT`);
  return dl;
}

/**
 * Which buffer parameters may be marked noalias: every buffer the runtime allocates separately.
 * Two state declarations of one dtype would be the same arena; an input a kernel writes could be
 * the same array the caller passed twice.
 */
export function noaliasParams(p: Pick<KernelProgram, 'buffers' | 'kernels'>): boolean[] {
  const written = new Set<number>();
  const walk = (ss: Kernel['body']): void =>
    ss.forEach((s) => {
      if (s.s === 'store') written.add(s.buf);
      else if (s.s === 'loop') walk(s.body);
    });
  p.kernels.forEach((k) => walk(k.body));
  return p.buffers.map((d, i) => {
    if (d.kind === 'state') return p.buffers.filter((x) => x.kind === 'state' && x.dtype === d.dtype).length === 1;
    if (d.kind === 'input') return !written.has(i);
    return true;
  });
}

export function addNoalias(ir: string, ok: boolean[]): string {
  return ir.replace(/^define .*$/gm, (line) =>
    line.replace(/(float\*|i32\*) %b(\d+)\b/g, (m, t: string, i: string) => (ok[+i] ? `${t} noalias %b${i}` : m)),
  );
}

/** what the IR is built from: the memory declarations and the kernels */
export type IRProgram = Pick<KernelProgram, 'buffers' | 'kernels' | 'collectives'>;

export interface ModuleOptions {
  /** emit only this kernel (external, no entry point): for inspecting one kernel */
  kernel?: number;
  /** work (max of bytes moved, 4×flops, 8×grid points) above which a kernel is split over threads */
  parallelThreshold?: number;
  /** -mcpu the code is for (default KILN_CPU or native): register blocks are sized to it */
  cpu?: string;
  /** one module per kernel plus an entry module (split.ts), for concurrent and per-kernel cached builds */
  split?: boolean;
  /** overrides of the register blocking `cpu` implies (for experiments and tests) */
  shape?: Partial<Shape>;
}

/** Builds and verifies the module; returns its textual IR. */
export function emitModule(p: IRProgram, opts: ModuleOptions = {}): string {
  const ctx = new llvm.LLVMContext();
  const mod = new llvm.Module('kiln', ctx);
  const triple = hostTriple();
  mod.setTargetTriple(triple);
  mod.setDataLayout(dataLayout(triple));
  const em = new KernelEmitter(ctx, mod, p.buffers);
  em.shape = { ...shapeFor(cpuProfile(cpuOf(opts), triple)), ...opts.shape };
  const L = llvm.GlobalValue.LinkageTypes;
  if (opts.kernel !== undefined) {
    const k = p.kernels[opts.kernel];
    if (!k) throw new Error(`no kernel ${opts.kernel} (the program has ${p.kernels.length})`);
    em.emitKernel(k, k.name.replace(/[^A-Za-z0-9_]/g, '_') || `k${opts.kernel}`, L.ExternalLinkage);
  } else {
    const fns = p.kernels.map((k, i) => em.emitKernel(k, `kiln_k${i}`, L.InternalLinkage));
    const threshold = opts.parallelThreshold ?? Infinity;
    const kt = em.kernelType();
    emitEntry(
      em,
      p,
      (i) => !serialKernel(p.kernels[i], threshold),
      (i, { b, args, bufs, par }) => {
        const k = p.kernels[i];
        if (serialKernel(k, threshold)) b.CreateCall(kt, fns[i], [...args, em.i(0), em.i(outerExtent(k))]);
        else b.CreateCall(par, [emitThunk(em, fns[i], `kiln_t${i}`, L.InternalLinkage), bufs!, em.i(outerExtent(k))]);
      },
    );
  }
  if (llvm.verifyModule(mod)) throw new VerifyError(mod.print());
  return parallelGrids(unalignVectors(addNoalias(mod.print(), noaliasParams(p))));
}

/** the IR failed LLVM's verifier; `ir` lets the toolchain re-run it through `opt` for the message */
export class VerifyError extends Error {
  constructor(readonly ir: string) {
    super('kiln llvm: generated module failed verification');
  }
}

/** `const int64_t kiln_sizes[]`: the buffer count, then each buffer's size (runtime/native/entry.ts) */
function emitSizes(em: KernelEmitter, p: IRProgram): void {
  const i64 = llvm.Type.getInt64Ty(em.ctx);
  const vals = [p.buffers.length, ...p.buffers.map((d) => d.size)].map((v) => llvm.ConstantInt.get(i64, v));
  const arrT = llvm.ArrayType.get(i64, vals.length);
  const linkage = llvm.GlobalValue.LinkageTypes.ExternalLinkage;
  new llvm.GlobalVariable(em.mod, arrT, true, linkage, llvm.ConstantArray.get(arrT, vals), NATIVE_SIZES);
}

/** whether kernel `k` runs on the calling thread alone (too little work to split over the pool) */
export function serialKernel(k: Kernel, threshold: number): boolean {
  const n = k.grid.length ? k.grid[0] : 1;
  const points = k.grid.reduce((a, e) => a * e, 1);
  const work = Math.max(8 * points, 4 * k.meta.flops, k.meta.bytesRead + k.meta.bytesWritten);
  return k.grid.length === 0 || n < 2 || work < threshold;
}

/** the outer grid extent: the range a kernel's (lo, hi) cover */
export const outerExtent = (k: Kernel): number => (k.grid.length ? k.grid[0] : 1);

/** what a launch in kiln_run has at hand: the builder, the buffer arguments, and (for kiln_par) their array */
export interface LaunchSite {
  b: llvm.IRBuilder;
  args: llvm.Value[];
  bufs: llvm.Value | undefined;
  /** kiln_par(thunk, bufs, n) */
  par: llvm.FunctionCallee;
}

/** the function type of kiln_par's thunk: void (i8** bufs, i64 lo, i64 hi) */
export function thunkType(em: KernelEmitter): llvm.FunctionType {
  const i8pp = llvm.PointerType.get(llvm.Type.getInt8PtrTy(em.ctx), 0);
  return llvm.FunctionType.get(llvm.Type.getVoidTy(em.ctx), [i8pp, em.i64, em.i64], false);
}

/** thunk(bufs, lo, hi): unpacks the buffer array and calls `fn(b0, ..., bN, lo, hi)` */
export function emitThunk(em: KernelEmitter, fn: llvm.Function, name: string, linkage: number): llvm.Function {
  const i8p = llvm.Type.getInt8PtrTy(em.ctx);
  const thunk = llvm.Function.Create(thunkType(em), linkage, name, em.mod);
  const tb = new llvm.IRBuilder(llvm.BasicBlock.Create(em.ctx, 'entry', thunk));
  const targs = em.bufs.map((d, j) =>
    tb.CreateBitCast(
      tb.CreateLoad(i8p, tb.CreateInBoundsGEP(i8p, thunk.getArg(0), em.i(j))),
      llvm.PointerType.get(d.dtype === 'f32' ? em.f32 : em.i32, 0),
    ),
  );
  tb.CreateCall(em.kernelType(), fn, [...targs, thunk.getArg(1), thunk.getArg(2)]);
  tb.CreateRetVoid();
  return thunk;
}

/**
 * kiln_run: every kernel in order, each behind its launch guard; `launch(i, site)` emits kernel i's
 * call. `parallel(i)`: whether kernel i goes through kiln_par (it needs the buffer array).
 */
export function emitEntry(
  em: KernelEmitter,
  p: IRProgram,
  parallel: (i: number) => boolean,
  launch: (i: number, site: LaunchSite) => void,
): void {
  const ctx = em.ctx,
    L = llvm.GlobalValue.LinkageTypes,
    voidT = llvm.Type.getVoidTy(ctx);
  const ptrTypes = p.buffers.map((d) => llvm.PointerType.get(d.dtype === 'f32' ? em.f32 : em.i32, 0));
  const run = llvm.Function.Create(llvm.FunctionType.get(voidT, ptrTypes, false), L.ExternalLinkage, ENTRY, em.mod);
  emitSizes(em, p);
  const args = p.buffers.map((_, i) => {
    const a = run.getArg(i);
    a.setName(`b${i}`);
    return a;
  });
  const b = new llvm.IRBuilder(llvm.BasicBlock.Create(ctx, 'entry', run));
  // kiln_par(thunk, bufs, n) (rt.ts) runs thunk(bufs, lo, hi) over [0, n) split across threads;
  // thunk(bufs, lo, hi) unpacks the buffer array and calls the kernel
  const i8p = llvm.Type.getInt8PtrTy(ctx),
    i8pp = llvm.PointerType.get(i8p, 0);
  const par = em.mod.getOrInsertFunction(
    'kiln_par',
    llvm.FunctionType.get(voidT, [llvm.PointerType.get(thunkType(em), 0), i8pp, em.i64], false),
  );
  const arrT = llvm.ArrayType.get(i8p, Math.max(1, args.length));
  let bufs: llvm.Value | undefined;
  if (p.kernels.some((_, i) => parallel(i))) {
    // in the entry block: it dominates every (guarded) launch
    const arr = b.CreateAlloca(arrT, null, 'bufs');
    args.forEach((a, j) => b.CreateStore(b.CreateBitCast(a, i8p), b.CreateInBoundsGEP(arrT, arr, [em.i(0), em.i(j)])));
    bufs = b.CreateBitCast(arr, i8pp);
  }
  const si = p.buffers.findIndex((d) => d.kind === 'scalars');
  // collectives run in the runtime (rt.ts kiln_collective calls back into it) between launches
  const points = new Set(new CollectiveSchedule(p).points);
  const collective = points.size
    ? em.mod.getOrInsertFunction(COLLECTIVE, llvm.FunctionType.get(voidT, [em.i64], false))
    : undefined;
  const collectiveAt = (i: number) => {
    if (collective && points.has(i)) b.CreateCall(collective, [llvm.ConstantInt.get(em.i64, i)]);
  };
  p.kernels.forEach((k, i) => {
    collectiveAt(i);
    let after: llvm.BasicBlock | undefined;
    if (k.when && si >= 0) {
      // launch guard (runtime/manifest.ts guardHolds): compare the scalars' bits, branch around the call
      let same: llvm.Value = llvm.ConstantInt.getTrue(ctx);
      const bits = (slot: number) =>
        b.CreateLoad(
          em.i32,
          b.CreateInBoundsGEP(em.i32, b.CreateBitCast(args[si], llvm.PointerType.get(em.i32, 0)), em.i(slot)),
        );
      for (const g of k.when.equal) {
        const b0 = bits(g[0]);
        for (const s of g.slice(1)) same = b.CreateAnd(same, b.CreateICmpEQ(bits(s), b0));
      }
      const cond = k.when.is ? same : b.CreateNot(same);
      const body = llvm.BasicBlock.Create(ctx, `k${i}`, run);
      after = llvm.BasicBlock.Create(ctx, `k${i}_done`, run);
      b.CreateCondBr(cond, body, after);
      b.SetInsertPoint(body);
    }
    launch(i, { b, args, bufs, par });
    if (after) {
      b.CreateBr(after);
      b.SetInsertPoint(after);
    }
  });
  collectiveAt(p.kernels.length);
  b.CreateRetVoid();
}
