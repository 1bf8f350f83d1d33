// A KernelProgram → several LLVM modules, so opt and llc run on them concurrently and each module's
// object is cached by its own text (toolchain.ts buildSplitLibrary): a changed shape or hyperparameter
// rebuilds only the kernels it changed. Each kernel module exports one hidden function named by its
// content hash (two identical kernels are one module):
//   serial kernels:   void kiln_ks_<hash>(T0* b0, ..., TN* bN)   the kernel over its whole outer grid,
//                     its (lo, hi) constants after inlining, as in the single-module build
//   parallel kernels: void kiln_kp_<hash>(i8** bufs, i64 lo, i64 hi)   kiln_par's thunk
// The entry module holds kiln_run (the launch guards and calls, module.ts emitEntry) and kiln_sizes.
import llvm from 'llvm-bindings';
import { createHash } from 'node:crypto';
import { cpuProfile, hostTriple } from './cpu.js';
import { KernelEmitter } from './kernel.js';
import { shapeFor } from '../../compiler/kernel/opt-cpu.js';
import { cpuOf } from './toolchain.js';
import { unalignVectors } from './vreduce.js';
import { parallelGrids } from './parallel.js';
import {
  addNoalias,
  dataLayout,
  emitEntry,
  emitThunk,
  noaliasParams,
  outerExtent,
  serialKernel,
  thunkType,
  VerifyError,
  type IRProgram,
  type ModuleOptions,
} from './module.js';

/** one module's text; `name`: the module (a kernel's exported symbol, or 'entry') */
export interface ModuleIR {
  name: string;
  ir: string;
}

/** the entry module and the distinct kernel modules, in first-use order */
export interface SplitIR {
  entry: ModuleIR;
  kernels: ModuleIR[];
}

const PLACEHOLDER = 'kiln_kernel';

export function emitSplitModules(p: IRProgram, opts: ModuleOptions = {}): SplitIR {
  const ctx = new llvm.LLVMContext();
  const triple = hostTriple();
  const shape = { ...shapeFor(cpuProfile(cpuOf(opts), triple)), ...opts.shape };
  const threshold = opts.parallelThreshold ?? Infinity;
  const noalias = noaliasParams(p);
  const L = llvm.GlobalValue.LinkageTypes;
  const newModule = (name: string) => {
    const mod = new llvm.Module(name, ctx);
    mod.setTargetTriple(triple);
    mod.setDataLayout(dataLayout(triple));
    const em = new KernelEmitter(ctx, mod, p.buffers);
    em.shape = shape;
    return em;
  };
  const finish = (em: KernelEmitter) => {
    if (llvm.verifyModule(em.mod)) throw new VerifyError(em.mod.print());
    return parallelGrids(unalignVectors(addNoalias(em.mod.print(), noalias)));
  };
  const kernels = new Map<string, ModuleIR>();
  const names = p.kernels.map((k) => {
    const em = newModule('kiln_kernel');
    const body = em.emitKernel(k, 'kiln_body', L.InternalLinkage);
    const serial = serialKernel(k, threshold);
    if (serial) {
      const fn = llvm.Function.Create(wrapperType(em), L.ExternalLinkage, PLACEHOLDER, em.mod);
      const args = p.buffers.map((_, i) => {
        const a = fn.getArg(i);
        a.setName(`b${i}`);
        return a;
      });
      const b = new llvm.IRBuilder(llvm.BasicBlock.Create(ctx, 'entry', fn));
      b.CreateCall(em.kernelType(), body, [...args, em.i(0), em.i(outerExtent(k))]);
      b.CreateRetVoid();
    } else emitThunk(em, body, PLACEHOLDER, L.ExternalLinkage);
    const text = finish(em);
    const name = `kiln_k${serial ? 's' : 'p'}_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    // hidden: the library exports kiln_run and kiln_sizes only
    const ir = text.replaceAll(`define void @${PLACEHOLDER}(`, `define hidden void @${name}(`);
    if (!kernels.has(name)) kernels.set(name, { name, ir });
    return name;
  });
  const em = newModule('kiln_entry');
  const fns = names.map((name, i) => {
    const type = serialKernel(p.kernels[i], threshold) ? wrapperType(em) : thunkType(em);
    return em.mod.getFunction(name) ?? llvm.Function.Create(type, L.ExternalLinkage, name, em.mod);
  });
  emitEntry(
    em,
    p,
    (i) => !serialKernel(p.kernels[i], threshold),
    (i, { b, args, bufs, par }) => {
      const k = p.kernels[i];
      if (serialKernel(k, threshold)) b.CreateCall(wrapperType(em), fns[i], args);
      else b.CreateCall(par, [fns[i], bufs!, em.i(outerExtent(k))]);
    },
  );
  // hidden declarations: llc calls them directly, not through the PLT
  const entry = finish(em).replace(/^declare void @kiln_k/gm, 'declare hidden void @kiln_k');
  return { entry: { name: 'entry', ir: entry }, kernels: [...kernels.values()] };
}

/** void (T0* b0, ..., TN* bN): a serial kernel's exported wrapper */
function wrapperType(em: KernelEmitter): llvm.FunctionType {
  const ptrs = em.bufs.map((d) => llvm.PointerType.get(d.dtype === 'f32' ? em.f32 : em.i32, 0));
  return llvm.FunctionType.get(llvm.Type.getVoidTy(em.ctx), ptrs, false);
}
