// The 'block' strategy's reduce loop, in explicit vector IR: V consecutive iterations of the loop
// per step, each operand one <V x float> load (both operands of a dot product are contiguous in the
// reduce axis), V partial sums per accumulator (lane u sums the iterations ≡ u mod V, in order),
// combined pairwise after the loop, then a scalar remainder loop. The grid is blocked around it
// (kernel.ts), so every env of the block emits the same loads and `opt`'s CSE shares them: a 4×4
// block loads 8 vectors per 16 vector multiply-adds. (SLP could not be steered into this shape: it
// packs the accumulator phis of different block points together and gathers.)
import llvm from 'llvm-bindings';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Expr, Stmt } from '../../compiler/ir/kernel.js';
import type { Env, ExprEmitter } from './expr.js';

type Loop = Extract<Stmt, { s: 'loop' }>;

const vectorTypes = new WeakMap<llvm.LLVMContext, Map<number, llvm.Type>>();

/** <n x float> in `ctx` (llvm-bindings has no vector type constructor: parse a declaration using one) */
export function floatVector(ctx: llvm.LLVMContext, n: number): llvm.Type {
  let m = vectorTypes.get(ctx);
  if (!m) vectorTypes.set(ctx, (m = new Map()));
  let t = m.get(n);
  if (!t) {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-vt-'));
    try {
      const file = join(dir, 'vt.ll');
      writeFileSync(file, `declare void @v(<${n} x float>)\n`);
      const mod = llvm.parseIRFile(file, new llvm.SMDiagnostic(), ctx);
      t = mod.getFunction('v')!.getArg(0).getType();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    m.set(n, t);
  }
  return t;
}

/** textual IR fix-up: the bindings cannot set an alignment, and a vector's default (its size) is not ours */
export function unalignVectors(ir: string): string {
  return ir.replace(/^(\s*(?:%\S+ = load <\d+ x float>|store <\d+ x float>).*, align )\d+$/gm, '$14');
}

export interface VectorHooks {
  loop(start: llvm.Value, end: llvm.Value, step: number, body: (iv: llvm.Value) => void): void;
  alloca(t: llvm.Type, name: string): llvm.Value;
  child(env: Env, name: string, v: llvm.Value): Env;
  stmts(body: Stmt[], envs: Env[]): void;
}

/** emits the reduce loop `s` (chosen by compiler/kernel/opt-cpu.ts) for every env, V lanes at a time */
export function emitVectorReduce(em: ExprEmitter, h: VectorHooks, s: Loop, envs: Env[], V: number): void {
  const b = em.b,
    vt = floatVector(em.ctx, V),
    vp = llvm.PointerType.get(vt, 0);
  const main = Math.floor(s.extent / V) * V;
  const names = [...new Set(s.body.flatMap((x) => (x.s === 'accum' ? [x.name] : [])))];
  const vaccs = envs.map(
    () =>
      new Map(
        names.map((n) => {
          const p = h.alloca(vt, `${n}.v`);
          b.CreateStore(llvm.Constant.getNullValue(vt), p);
          return [n, p] as const;
        }),
      ),
  );
  h.loop(em.i(0), em.i(main), V, (base) => {
    const scalarEnvs = envs.map((e) => h.child(e, s.var, base));
    const vals = envs.map(() => new Map<string, llvm.Value>());
    const vexpr = (e: Expr, i: number): llvm.Value => {
      switch (e.e) {
        case 'load':
          return b.CreateLoad(vt, b.CreateBitCast(em.addr(e.buf, em.expr(e.index, scalarEnvs[i])), vp));
        case 'var':
          return vals[i].get(e.name)!;
        case 'binary': {
          const x = vexpr(e.a, i),
            y = vexpr(e.b, i);
          return e.fn === 'add' ? b.CreateFAdd(x, y) : e.fn === 'sub' ? b.CreateFSub(x, y) : b.CreateFMul(x, y);
        }
        default:
          throw new Error(`kiln llvm: ${e.e} in a vector reduce loop`);
      }
    };
    // statement by statement across the block, so each shared load is emitted next to its twins
    for (const st of s.body) {
      envs.forEach((_, i) => {
        if (st.s === 'let') vals[i].set(st.name, vexpr(st.value, i));
        else if (st.s === 'accum') {
          const p = vaccs[i].get(st.name)!;
          b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, p), vexpr(st.value, i)), p);
        }
      });
    }
  });
  const arrT = llvm.ArrayType.get(em.f32, V);
  envs.forEach((env, i) => {
    for (const [n, p] of vaccs[i]) {
      const a = env.get(n);
      if (!a || a.k !== 'acc') throw new Error(`accum into ${n}, which is not an accumulator`);
      const arr = h.alloca(arrT, `${n}.lanes`);
      b.CreateStore(b.CreateLoad(vt, p), b.CreateBitCast(arr, vp));
      let lanes: llvm.Value[] = Array.from({ length: V }, (_, u) =>
        b.CreateLoad(em.f32, b.CreateInBoundsGEP(arrT, arr, [em.i(0), em.i(u)])),
      );
      while (lanes.length > 1) {
        const next: llvm.Value[] = [];
        for (let j = 0; j < lanes.length; j += 2) {
          next.push(j + 1 < lanes.length ? b.CreateFAdd(lanes[j], lanes[j + 1]) : lanes[j]);
        }
        lanes = next;
      }
      b.CreateStore(b.CreateFAdd(b.CreateLoad(em.f32, a.ptr), lanes[0]), a.ptr);
    }
  });
  // the remainder, one iteration at a time into the accumulators themselves
  if (main < s.extent) {
    h.loop(em.i(main), em.i(s.extent), 1, (iv) =>
      h.stmts(
        s.body,
        envs.map((e) => h.child(e, s.var, iv)),
      ),
    );
  }
}
