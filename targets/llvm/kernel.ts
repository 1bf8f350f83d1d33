// One kernel → one LLVM function `void name(ptr b0, ..., ptr bN, i64 lo, i64 hi)` that runs the
// grid points g0 ∈ [lo, hi) (the outer grid dimension is the unit a thread takes). Locals live in
// entry-block allocas that mem2reg turns into SSA; loops are emitted with constant trip counts
// wherever the IR has them so the unroller and vectorizers can reason about them.
import llvm from 'llvm-bindings';
import type { CpuStrategy, Kernel, Stmt } from '../../compiler/ir/kernel.js';
import { cascadeSums } from '../../compiler/kernel/cascade.js';
import { strategyOf } from '../../compiler/kernel/opt.js';
import { cpuWidths, shapeFor, type Shape } from '../../compiler/kernel/opt-cpu.js';
import { ExprEmitter, type Env } from './expr.js';
import { emitVectorReduce, type VectorHooks } from './vreduce.js';

const child = (env: Env, name: string, v: llvm.Value): Env => new Map(env).set(name, { k: 'val', v });

export class KernelEmitter extends ExprEmitter {
  private allocas!: llvm.IRBuilder;
  private fn!: llvm.Function;
  private strategy: CpuStrategy = { kind: 'plain' };
  /** how many points of each grid dim one iteration takes (1: a plain loop) */
  private widths: number[] = [];
  /** register blocking for the target CPU (module.ts sets it from the `cpu` option) */
  shape: Shape = shapeFor({ vectorBits: 512, vectorRegs: 32 });

  /** the function type every kernel has: one pointer per program buffer, then lo, hi */
  kernelType(): llvm.FunctionType {
    const ptrs = this.bufs.map((d) => llvm.PointerType.get(d.dtype === 'f32' ? this.f32 : this.i32, 0));
    return llvm.FunctionType.get(llvm.Type.getVoidTy(this.ctx), [...ptrs, this.i64, this.i64], false);
  }

  emitKernel(kernel: Kernel, name: string, linkage: number): llvm.Function {
    const k = cascadeSums(kernel);
    const fn = llvm.Function.Create(this.kernelType(), linkage, name, this.mod);
    this.fn = fn;
    this.args = this.bufs.map((d, i) => {
      const a = fn.getArg(i);
      a.setName(`b${i}`);
      return a;
    });
    const lo = fn.getArg(this.bufs.length),
      hi = fn.getArg(this.bufs.length + 1);
    lo.setName('lo');
    hi.setName('hi');
    const entry = llvm.BasicBlock.Create(this.ctx, 'entry', fn);
    const body = llvm.BasicBlock.Create(this.ctx, 'body', fn);
    this.allocas = new llvm.IRBuilder(entry);
    this.b = new llvm.IRBuilder(body);
    this.strategy = strategyOf(kernel).cpu;
    this.widths = cpuWidths(this.strategy, k.grid, this.shape);
    this.grid(k, 0, [new Map()], lo, hi);
    this.b.CreateRetVoid();
    this.allocas.CreateBr(body);
    return fn;
  }

  private alloca(t: llvm.Type, name: string): llvm.Value {
    return this.allocas.CreateAlloca(t, null, name);
  }

  private readonly hooks: VectorHooks = {
    loop: (start, end, step, body) => this.loop(start, end, step, body),
    alloca: (t, name) => this.alloca(t, name),
    child,
    stmts: (body, envs) => this.stmts(body, envs),
  };

  /**
   * for (iv = start; iv < end; iv += step) body(iv); a grid loop's blocks are named gcond/gloop/gexit, which
   * parallel.ts finds to tell LLVM its iterations are independent
   */
  private loop(start: llvm.Value, end: llvm.Value, step: number, body: (iv: llvm.Value) => void, grid = false): void {
    const b = this.b;
    const p = this.alloca(this.i64, 'iv');
    b.CreateStore(start, p);
    const g = grid ? 'g' : '';
    const cond = llvm.BasicBlock.Create(this.ctx, `${g}cond`, this.fn);
    const bodyBB = llvm.BasicBlock.Create(this.ctx, `${g}loop`, this.fn);
    const exit = llvm.BasicBlock.Create(this.ctx, `${g}exit`, this.fn);
    b.CreateBr(cond);
    b.SetInsertPoint(cond);
    const iv = b.CreateLoad(this.i64, p);
    b.CreateCondBr(b.CreateICmpSLT(iv, end), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    body(iv);
    b.CreateStore(b.CreateAdd(iv, this.i(step)), p);
    b.CreateBr(cond);
    b.SetInsertPoint(exit);
  }

  /**
   * Grid loops. Every statement is emitted once per environment in `envs`: under 'tile' the last
   * dim contributes W lanes, and the dim before it R rows when the body is small (matmul: R
   * accumulator vectors per k step, each b row loaded once for R rows); under 'block' the last two
   * dims contribute shape.blockRows × shape.blockCols points (loads they share are merged by `opt`'s CSE).
   */
  private grid(k: Kernel, d: number, envs: Env[], lo: llvm.Value, hi: llvm.Value): void {
    if (k.grid.length === 0) {
      this.stmts(k.body, envs);
      return;
    }
    const v = `g${d}`,
      b = this.b;
    const start = d === 0 ? lo : this.i(0),
      end = d === 0 ? hi : this.i(k.grid[d]);
    const W = this.widths[d];
    const one = (iv: llvm.Value) =>
      this.next(
        k,
        d,
        envs.map((e) => child(e, v, iv)),
        lo,
        hi,
      );
    if (W <= 1) {
      this.loop(start, end, 1, one, true);
      return;
    }
    // W at a time, then one at a time for the remainder
    const tileEnd = b.CreateAdd(start, b.CreateMul(b.CreateUDiv(b.CreateSub(end, start), this.i(W)), this.i(W)));
    const lanes = (base: llvm.Value) =>
      envs.flatMap((e) => Array.from({ length: W }, (_, j) => child(e, v, j ? b.CreateAdd(base, this.i(j)) : base)));
    this.loop(start, tileEnd, W, (base) => this.next(k, d, lanes(base), lo, hi), true);
    this.loop(tileEnd, end, 1, one, true);
  }

  private next(k: Kernel, d: number, envs: Env[], lo: llvm.Value, hi: llvm.Value): void {
    if (d === k.grid.length - 1) this.stmts(k.body, envs);
    else this.grid(k, d + 1, envs, lo, hi);
  }

  /** emits every statement once per lane environment, statement by statement (lanes interleave) */
  private stmts(body: Stmt[], envs: Env[]): void {
    const b = this.b;
    for (const s of body) {
      switch (s.s) {
        case 'let':
          for (const env of envs) env.set(s.name, { k: 'val', v: this.expr(s.value, env) });
          break;
        case 'acc':
          for (const env of envs) {
            const ptr = this.alloca(this.ty(s.type), s.name);
            b.CreateStore(this.constant(s.type, s.init), ptr);
            env.set(s.name, { k: 'acc', ptr, fn: s.fn, type: s.type });
          }
          break;
        case 'accum':
          for (const env of envs) {
            const a = env.get(s.name);
            if (!a || a.k !== 'acc') throw new Error(`accum into ${s.name}, which is not an accumulator`);
            const v = this.expr(s.value, env);
            b.CreateStore(this.combine(a.fn, a.type, b.CreateLoad(this.ty(a.type), a.ptr), v), a.ptr);
          }
          break;
        case 'store':
          for (const env of envs) this.store(s.buf, this.expr(s.index, env), this.expr(s.value, env), s.value.type);
          break;
        case 'loop':
          if (this.strategy.kind === 'block' && this.strategy.loop === s.var) {
            emitVectorReduce(this, this.hooks, s, envs, this.strategy.lanes);
          } else if (this.strategy.kind === 'unroll' && this.strategy.loops.includes(s.var)) {
            this.unrolled(s, envs, this.strategy.factor);
          } else {
            this.loop(this.i(0), this.i(s.extent), 1, (iv) =>
              this.stmts(
                s.body,
                envs.map((e) => child(e, s.var, iv)),
              ),
            );
          }
          break;
      }
    }
  }

  /**
   * A reduce loop unrolled by U with U partial accumulators per outer accumulator (so the adds are
   * independent and SLP can pack them), combined pairwise after the main loop; then a remainder loop.
   */
  private unrolled(s: Extract<Stmt, { s: 'loop' }>, envs: Env[], U: number): void {
    const b = this.b;
    const main = Math.floor(s.extent / U) * U;
    const names = [...new Set(s.body.flatMap((x) => (x.s === 'accum' ? [x.name] : [])))];
    const partials = envs.map(
      (env) =>
        new Map(
          names.flatMap((n) => {
            const a = env.get(n);
            if (!a || a.k !== 'acc') return []; // declared inside the loop body: per-copy anyway
            const ps = [a.ptr];
            for (let u = 1; u < U; u++) {
              const p = this.alloca(this.ty(a.type), `${n}.p${u}`);
              b.CreateStore(this.identity(a.fn, a.type), p);
              ps.push(p);
            }
            return [[n, { a, ps }] as const];
          }),
        ),
    );
    this.loop(this.i(0), this.i(main), U, (base) => {
      const copies: Env[] = [];
      envs.forEach((env, ei) => {
        for (let u = 0; u < U; u++) {
          const c = child(env, s.var, u ? b.CreateAdd(base, this.i(u)) : base);
          for (const [n, { a, ps }] of partials[ei]) c.set(n, { ...a, ptr: ps[u] });
          copies.push(c);
        }
      });
      this.stmts(s.body, copies);
    });
    for (const part of partials) {
      for (const { a, ps } of part.values()) {
        let vals: llvm.Value[] = ps.map((p) => b.CreateLoad(this.ty(a.type), p));
        while (vals.length > 1) {
          const next: llvm.Value[] = [];
          for (let j = 0; j < vals.length; j += 2) {
            next.push(j + 1 < vals.length ? this.combine(a.fn, a.type, vals[j], vals[j + 1]) : vals[j]);
          }
          vals = next;
        }
        b.CreateStore(vals[0], a.ptr);
      }
    }
    if (main < s.extent) {
      this.loop(this.i(main), this.i(s.extent), 1, (iv) =>
        this.stmts(
          s.body,
          envs.map((e) => child(e, s.var, iv)),
        ),
      );
    }
  }
}
