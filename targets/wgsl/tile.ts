// Tiled matmul: a kernel over grid [..batch, M, N] whose reduce loop over k accumulates f(A, B)
// with A indexed by (row, k) and B by (k, col) (compiler/kernel/opt-gpu.ts finds them) is run as
// T×T output tiles per workgroup, staging T×T tiles of A and B in var<workgroup> memory so each
// element is loaded once per tile, not once per output. Anything else about the kernel stays as written.
import type { Expr, GpuStrategy, Kernel, KType, Stmt } from '../../compiler/ir/kernel.js';
import { mapExpr } from '../../compiler/ir/kernel.js';
import { loadsOf, tileTrips } from '../../compiler/kernel/opt-gpu.js';
import type { StorageDType } from '../../runtime/manifest.js';
import type { WGSLKernel } from '../../runtime/webgpu/artifact.js';
import { constLets, expr, helperSource, ident, newCtx, WGSL_TYPE, type RenderOptions } from './expr.js';
import { bindingDecls, foldWorkgroups, gridLets, header, stmts } from './kernel.js';
import { ENTRY_POINT } from './loops.js';

type Load = Extract<Expr, { e: 'load' }>;
type Loop = Extract<Stmt, { s: 'loop' }>;

/** `e` with load nodes replaced by variables */
function subst(e: Expr, m: Map<Expr, string>): Expr {
  const name = m.get(e);
  if (name) return { e: 'var', type: e.type, name };
  return mapExpr(e, (x) => subst(x, m));
}

/** the WGSL for `k` (cascade sums expanded) under its strategy, a tiled matmul */
export function renderTiledMatmul(
  k: Kernel,
  dtypes: readonly StorageDType[],
  plan: Extract<GpuStrategy, { kind: 'tile' }>,
  r: RenderOptions = {},
): WGSLKernel {
  const T = plan.edge,
    li = plan.loop,
    loop = k.body[li] as Loop;
  const acc = loop.body[0] as Extract<Stmt, { s: 'accum' }>;
  const loads = loadsOf(acc.value),
    a = loads[plan.a],
    b = loads[plan.b];
  const d = k.grid.length,
    M = k.grid[d - 2],
    N = k.grid[d - 1],
    K = loop.extent;
  const batch = k.grid.slice(0, -2);
  const MT = Math.ceil(M / T),
    NT = Math.ceil(N / T);
  const total = batch.reduce((x, y) => x * y, 1) * MT * NT;
  const ctx = newCtx(dtypes, r);
  k.grid.forEach((_, i) => ctx.nonNeg.add(`g${i}`));
  ctx.nonNeg.add(loop.var);
  const accs = new Map<string, { type: KType; fn: 'add' | 'max' }>();
  const kv = ident(loop.var),
    gi = ident(`g${d - 2}`),
    gj = ident(`g${d - 1}`);
  const pre = stmts(k.body.slice(0, li), ctx, accs, '  ');
  const value = subst(
    acc.value,
    new Map<Expr, string>([
      [a, 'kiln_a'],
      [b, 'kiln_b'],
    ]),
  );
  const workgroups = foldWorkgroups(total);
  const w = workgroups[1] > 1 ? `wid.y * ${workgroups[0]}u + wid.x` : 'wid.x';
  const body = [
    `  let kiln_w: u32 = ${w};`,
    workgroups[1] > 1 ? `  if (kiln_w >= ${total}u) { return; } // uniform: whole workgroups` : '',
    `  let kiln_ty = lid / ${T}u;`,
    `  let kiln_tx = lid % ${T}u;`,
    ...gridLets(batch, `(kiln_w / ${MT * NT}u)`, '  '),
    `  let ${gi} = i32(((kiln_w / ${NT}u) % ${MT}u) * ${T}u + kiln_ty);`,
    `  let ${gj} = i32((kiln_w % ${NT}u) * ${T}u + kiln_tx);`,
    ...pre,
    `  for (var kiln_k0: i32 = 0i; kiln_k0 < ${K}i; kiln_k0 += ${T}i) {`,
    // this thread stages A(own row, k0 + tx) and B(k0 + ty, own column); zeros past the edges
    `    { let ${kv} = kiln_k0 + i32(kiln_tx); ` +
      `kiln_ta[lid] = select(${zero(a)}, ${expr(a, ctx)}, ${gi} < ${M}i && ${kv} < ${K}i); }`,
    `    { let ${kv} = kiln_k0 + i32(kiln_ty); ` +
      `kiln_tb[lid] = select(${zero(b)}, ${expr(b, ctx)}, ${gj} < ${N}i && ${kv} < ${K}i); }`,
    '    workgroupBarrier();',
    `    for (var kiln_kk: u32 = 0u; kiln_kk < ${T}u; kiln_kk++) {`,
    `      let ${kv} = kiln_k0 + i32(kiln_kk);`,
    `      if (${kv} < ${K}i) {`,
    `        let v_kiln_a = kiln_ta[kiln_ty * ${T}u + kiln_kk];`,
    `        let v_kiln_b = kiln_tb[kiln_kk * ${T}u + kiln_tx];`,
    ...stmts([{ s: 'accum', name: acc.name, value }], ctx, accs, '        '),
    '      }',
    '    }',
    '    workgroupBarrier();',
    '  }',
    `  if (${gi} < ${M}i && ${gj} < ${N}i) {`,
    ...stmts(k.body.slice(li + 1), ctx, accs, '    '),
    '  }',
  ];
  const { decls, bindings } = bindingDecls(ctx);
  const wgsl = [
    header(k) + ` (tiled ${T}x${T})`,
    helperSource(ctx),
    ...decls,
    `var<workgroup> kiln_ta: array<${WGSL_TYPE[a.type]}, ${T * T}>;`,
    `var<workgroup> kiln_tb: array<${WGSL_TYPE[b.type]}, ${T * T}>;`,
    `@compute @workgroup_size(${T * T})`,
    ...ENTRY_POINT,
    ...constLets(ctx),
    ...body,
    '}',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  return {
    name: k.name,
    wgsl,
    entryPoint: 'main',
    bindings,
    workgroupSize: T * T,
    workgroups,
    workgroupStorageBytes: 2 * T * T * 4,
    loopTrips: tileTrips(K),
    ...(ctx.consts?.length ? { consts: ctx.consts } : {}),
  };
}

const zero = (l: Load) => (l.type === 'f32' ? '0.0f' : '0i');
