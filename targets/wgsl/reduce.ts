// Workgroup tree reduction: for a kernel with few grid points and long `reduce` loops (a loss,
// a norm, sum over 1e5 elements), one workgroup per grid point instead of one invocation.
// Each reduce loop is strided across the workgroup's threads, the per-thread partials are combined
// in a var<workgroup> tree, and every thread continues with the reduced value; a store between
// reduce loops, and whatever follows the last one, runs on thread 0 only.
// The order of additions differs from the serial loop (as it does in PyTorch's own reductions); a
// cascade sum stays a cascade within each thread, over the terms that thread takes.
import type { GpuStrategy, Kernel, KType, Stmt } from '../../compiler/ir/kernel.js';
import { accumsIn } from '../../compiler/kernel/opt-gpu.js';
import { LID, threadCascade, treeCascades } from '../../compiler/kernel/opt-gpu-loops.js';
import type { StorageDType } from '../../runtime/manifest.js';
import type { WGSLKernel } from '../../runtime/webgpu/artifact.js';
import { constLets, helperSource, ident, lit, newCtx, WGSL_TYPE, type Ctx, type RenderOptions } from './expr.js';
import { accumulate, bindingDecls, foldWorkgroups, gridLets, header, stmts } from './kernel.js';
import { ENTRY_POINT, forLoop } from './loops.js';
import { numel } from '../../runtime/manifest.js';

type Acc = { type: KType; fn: 'add' | 'max' };
type Loop = Extract<Stmt, { s: 'loop' }>;

function identity(a: Acc, ctx: Ctx): string {
  if (a.fn === 'add') return lit(a.type, 0, ctx);
  return lit(a.type, -Infinity, ctx); // -inf for f32, INT32_MIN for i32
}

/** the WGSL for a kernel whose strategy (compiler/kernel/opt-gpu.ts) is a tree reduction over `plan.loops` */
export function renderWorkgroupReduce(
  k: Kernel,
  dtypes: readonly StorageDType[],
  plan: Extract<GpuStrategy, { kind: 'tree' }>,
  r: RenderOptions = {},
): WGSLKernel {
  const n = numel(k.grid),
    wg = plan.workgroupSize;
  // a cascade sum (compiler/ir/accumulate.ts) is spread over the threads by its flat term index
  const chosen = new Set(plan.loops.map((i) => k.body[i]));
  const cascades = treeCascades(k, plan.loops);
  const isReduceLoop = (st: Stmt): st is Loop => chosen.has(st);
  const lastReduce = plan.loops[plan.loops.length - 1];
  const accs = new Map<string, Acc>();
  for (const st of k.body.slice(0, lastReduce)) if (st.s === 'acc') accs.set(st.name, { type: st.type, fn: st.fn });

  const ctx = newCtx(dtypes, r);
  k.grid.forEach((_, i) => ctx.nonNeg.add(`g${i}`));
  ctx.nonNeg.add(LID);
  let fresh = 0;
  const perThread = new Map([...cascades].map(([s, c]) => [s, threadCascade(c, wg, (b) => `${b}_t${fresh++}`)]));
  ctx.unroll = plan.unroll;
  const pad = '  ';
  const body: string[] = [];
  const shared = new Set<string>(); // var<workgroup> arrays, one per (type, accumulator slot)
  const red = (a: Acc, j: number) => `kiln_red_${a.type}_${j}`;
  const declAccs = new Map<string, Acc>();
  k.body.forEach((s, i) => {
    if (i > lastReduce) return;
    if (!isReduceLoop(s)) {
      // a value every thread holds, written once (compiler/kernel/opt-gpu.ts allows only top-level stores here)
      const once = s.s === 'store';
      body.push(...(once ? [`${pad}if (lid == 0u) {`] : []), ...stmts([s], ctx, declAccs, pad + (once ? '  ' : '')));
      if (once) body.push(`${pad}}`);
      return;
    }
    const names = [...accumsIn(s.body)];
    names.forEach((name, j) => {
      const a = accs.get(name)!;
      shared.add(`var<workgroup> ${red(a, j)}: array<${WGSL_TYPE[a.type]}, ${wg}>;`);
      // the tree combines `wg` partials: each starts at the identity, the initial value is added once
      body.push(`${pad}let kiln_init_${ident(name)} = ${ident(name)};`, `${pad}${ident(name)} = ${identity(a, ctx)};`);
    });
    const c = perThread.get(s);
    if (c) {
      body.push(...stmts(c.rounds, ctx, declAccs, pad));
      if (c.rest.length) {
        body.push(`${pad}if (lid < ${c.restThreads}u) {`, ...stmts(c.rest, ctx, declAccs, pad + '  '), `${pad}}`);
      }
    } else {
      const v = ident(s.var);
      ctx.nonNeg.add(s.var);
      const inner = !s.body.some((x) => x.s === 'loop');
      body.push(
        ...forLoop(v, 'i32(lid)', s.extent, wg, inner, ctx.unroll, pad, (p) => stmts(s.body, ctx, declAccs, p)),
      );
    }
    names.forEach((name, j) => body.push(`${pad}${red(accs.get(name)!, j)}[lid] = ${ident(name)};`));
    body.push(`${pad}workgroupBarrier();`);
    body.push(`${pad}for (var kiln_s: u32 = ${wg / 2}u; kiln_s > 0u; kiln_s = kiln_s >> 1u) {`);
    body.push(`${pad}  if (lid < kiln_s) {`);
    names.forEach((name, j) => {
      const a = accs.get(name)!;
      body.push(`${pad}    ${accumulate(`${red(a, j)}[lid]`, a.fn, `${red(a, j)}[lid + kiln_s]`, a.type, ctx)};`);
    });
    body.push(`${pad}  }`, `${pad}  workgroupBarrier();`, `${pad}}`);
    names.forEach((name, j) => {
      const nm = ident(name);
      const a = accs.get(name)!;
      body.push(`${pad}${nm} = kiln_init_${nm};`, `${pad}${accumulate(nm, a.fn, `${red(a, j)}[0]`, a.type, ctx)};`);
    });
    body.push(`${pad}workgroupBarrier(); // kiln_red_* are reused by the next reduce loop`);
  });
  const tail = k.body.slice(lastReduce + 1);
  if (tail.length) {
    body.push(`${pad}if (lid == 0u) {`, ...stmts(tail, ctx, declAccs, pad + '  '), `${pad}}`);
  }

  const workgroups = foldWorkgroups(n);
  const { decls, bindings } = bindingDecls(ctx);
  const p = workgroups[1] > 1 ? `wid.y * ${workgroups[0]}u + wid.x` : 'wid.x';
  const wgsl = [
    header(k) + ' (workgroup tree reduction)',
    helperSource(ctx),
    ...decls,
    ...shared,
    `@compute @workgroup_size(${wg})`,
    ...ENTRY_POINT,
    ...constLets(ctx),
    `  let kiln_p: u32 = ${p};`,
    // workgroup_id is uniform, so this early return keeps the barriers below in uniform control flow
    workgroups[1] > 1 ? `  if (kiln_p >= ${n}u) { return; }` : '',
    ...gridLets(k.grid, 'kiln_p', '  '),
    cascades.size ? `  let ${ident(LID)} = i32(lid);` : '',
    ...body,
    '}',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  const bytesPer = 4;
  return {
    name: k.name,
    wgsl,
    entryPoint: 'main',
    bindings,
    workgroupSize: wg,
    workgroups,
    workgroupStorageBytes: shared.size * wg * bytesPer,
    loopTrips: plan.loopTrips,
    ...(ctx.consts?.length ? { consts: ctx.consts } : {}),
  };
}
