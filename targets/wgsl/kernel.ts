// Renders one kernel as a WGSL compute shader: one invocation per grid point, the grid flattened
// to a linear index and the workgroups folded into 2-D when there are more than a dimension holds.
// Reductions inside a grid point are serial loops here (see reduce.ts for the workgroup version).
import type { GpuStrategy, Kernel, KType, Stmt } from '../../compiler/ir/kernel.js';
import type { StorageDType } from '../../runtime/manifest.js';
import { MAX_WORKGROUPS_PER_DIM, type WGSLBinding, type WGSLKernel } from '../../runtime/webgpu/artifact.js';
import {
  accessOf,
  constLets,
  bufName,
  conv,
  expr,
  helperSource,
  ident,
  index,
  lit,
  newCtx,
  nonNeg,
  storageKType,
  useHelper,
  WGSL_TYPE,
  type Ctx,
  type RenderOptions,
} from './expr.js';
import { ENTRY_POINT, forLoop } from './loops.js';
import { numel } from '../../runtime/manifest.js';

export const DEFAULT_WORKGROUP_SIZE = 64; // compat devices guarantee 128 invocations; 64 suits CPUs and GPUs

/** statement printer; `accs` tracks accumulator types so accumulated values convert */
export function stmts(
  body: readonly Stmt[],
  ctx: Ctx,
  accs: Map<string, { type: KType; fn: 'add' | 'max' }>,
  pad: string,
): string[] {
  const out: string[] = [];
  for (const s of body) {
    switch (s.s) {
      case 'let':
        if (nonNeg(s.value, ctx)) ctx.nonNeg.add(s.name);
        out.push(`${pad}let ${ident(s.name)} = ${expr(s.value, ctx)};`);
        break;
      case 'store': {
        const dt = ctx.dtypes[s.buf];
        if (dt === undefined) throw new Error(`wgsl: store to unknown buffer ${s.buf}`);
        if (!ctx.windows?.windowed.has(s.buf)) ctx.written.add(s.buf);
        out.push(
          `${pad}${accessOf(s, s.buf, index(s.index, ctx), ctx)} = ` +
            `${conv(expr(s.value, ctx), s.value.type, storageKType(dt))};`,
        );
        break;
      }
      case 'loop': {
        const v = ident(s.var);
        ctx.nonNeg.add(s.var);
        const inner = !s.body.some((x) => x.s === 'loop');
        out.push(...forLoop(v, '0i', s.extent, 1, inner, ctx.unroll, pad, (p) => stmts(s.body, ctx, accs, p)));
        break;
      }
      case 'acc':
        accs.set(s.name, { type: s.type, fn: s.fn });
        out.push(`${pad}var ${ident(s.name)}: ${WGSL_TYPE[s.type]} = ${accInit(s.type, s.init, ctx)};`);
        break;
      case 'accum': {
        const a = accs.get(s.name);
        if (!a) throw new Error(`wgsl: accum into undeclared accumulator ${s.name}`);
        out.push(
          `${pad}${accumulate(ident(s.name), a.fn, conv(expr(s.value, ctx), s.value.type, a.type), a.type, ctx)};`,
        );
        break;
      }
    }
  }
  return out;
}

export const accInit = (type: KType, init: number, ctx: Ctx) => lit(type, init, ctx);
/** `name = name (fn) value`; a float max propagates NaN (ieee.ts), a sum adds plainly (no operand can fold) */
export function accumulate(name: string, fn: 'add' | 'max', value: string, type: KType, ctx: Ctx): string {
  if (fn === 'add') return `${name} = ${name} + ${value}`;
  if (type !== 'f32') return `${name} = max(${name}, ${value})`;
  useHelper(ctx, 'kiln_max');
  return `${name} = kiln_max(${name}, ${value})`;
}

/** row-major strides of the grid, for turning a flat index back into g0, g1, ... */
export function gridStrides(grid: readonly number[]): number[] {
  const st: number[] = new Array(grid.length);
  let s = 1;
  for (let i = grid.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= grid[i];
  }
  return st;
}

/** `let v_gK = ...` lines recovering the grid variables from the flat u32 index `flat` */
export function gridLets(grid: readonly number[], flat: string, pad: string): string[] {
  const st = gridStrides(grid);
  return grid.map((ext, i) => {
    const q = st[i] === 1 ? flat : `(${flat} / ${st[i]}u)`;
    return `${pad}let ${ident(`g${i}`)} = i32(${i === 0 ? q : `${q} % ${ext}u`});`;
  });
}

/** workgroup counts folded into (x, y) so each stays within a dispatch dimension */
export function foldWorkgroups(count: number): [number, number] {
  if (count <= MAX_WORKGROUPS_PER_DIM) return [count, 1];
  const y = Math.ceil(count / MAX_WORKGROUPS_PER_DIM);
  if (y > MAX_WORKGROUPS_PER_DIM) {
    throw new Error(`wgsl: ${count} workgroups exceed ${MAX_WORKGROUPS_PER_DIM}^2 (maxComputeWorkgroupsPerDimension)`);
  }
  return [Math.ceil(count / y), y];
}

/** the binding declarations for the buffers a kernel touched (only those: the limit is tight) */
export function bindingDecls(ctx: Ctx): { decls: string[]; bindings: WGSLBinding[] } {
  const used = [...new Set([...ctx.read, ...ctx.written])].sort((a, b) => a - b);
  const decls: string[] = [];
  const bindings: WGSLBinding[] = [];
  used.forEach((buf, binding) => {
    const access = ctx.written.has(buf) ? 'read_write' : 'read';
    bindings.push({ binding, buf, access });
    decls.push(`@group(0) @binding(${binding}) var<storage, ${access}> ${bufName(buf)}: array<${ctx.dtypes[buf]}>;`);
  });
  // windows (windows.ts): an offset and a size of their buffer each, in bytes; all read_write where one is
  // written (a dispatch may not use one buffer both as writable and as read-only storage, whatever the ranges)
  const writtenBufs = new Set([...ctx.usedWindows].filter((w) => w.written).map((w) => w.buf));
  for (const w of [...ctx.usedWindows].sort((a, b) => a.buf - b.buf || a.base - b.base)) {
    const binding = bindings.length,
      access = writtenBufs.has(w.buf) ? 'read_write' : 'read';
    bindings.push({ binding, buf: w.buf, access, offset: 4 * w.base, size: 4 * w.length });
    decls.push(`@group(0) @binding(${binding}) var<storage, ${access}> ${w.name}: array<${ctx.dtypes[w.buf]}>;`);
  }
  if (ctx.consts?.length) {
    const binding = bindings.length;
    bindings.push({ binding, buf: 'consts', access: 'uniform' });
    decls.push(
      `@group(0) @binding(${binding}) var<uniform> kiln_k: array<vec4<i32>, ${Math.ceil(ctx.consts.length / 4)}>;`,
    );
  }
  if (ctx.scalars > 0) {
    const binding = bindings.length;
    bindings.push({ binding, buf: 'scalars', access: 'uniform' });
    // uniform arrays need a 16-byte stride: four scalars per vec4
    decls.push(
      `@group(0) @binding(${binding}) var<uniform> kiln_scalars: array<vec4<f32>, ${Math.ceil(ctx.scalars / 4)}>;`,
    );
  }
  return { decls, bindings };
}

export function header(k: Kernel): string {
  return `// kernel ${k.name}: grid [${k.grid.join(', ')}]; ops ${k.meta.ops.join(', ') || '-'}`;
}

/** the WGSL for `k` (cascade sums expanded) under its strategy, one invocation per grid point */
export function renderSerialKernel(
  k: Kernel,
  dtypes: readonly StorageDType[],
  plan: Extract<GpuStrategy, { kind: 'serial' }>,
  workgroupSize = DEFAULT_WORKGROUP_SIZE,
  r: RenderOptions = {},
): WGSLKernel {
  const ctx = newCtx(dtypes, r);
  k.grid.forEach((_, i) => ctx.nonNeg.add(`g${i}`));
  ctx.unroll = plan.unroll;
  const n = numel(k.grid);
  if (n > 0xffffffff) throw new Error(`wgsl: kernel ${k.name} grid of ${n} points exceeds a u32 index`);
  const workgroups = n === 0 ? ([0, 1] as [number, number]) : foldWorkgroups(Math.ceil(n / workgroupSize));
  const body = stmts(k.body, ctx, new Map(), '  ');
  const { decls, bindings } = bindingDecls(ctx);
  const flat =
    workgroups[1] > 1
      ? `(wid.y * ${workgroups[0]}u + wid.x) * ${workgroupSize}u + lid`
      : `wid.x * ${workgroupSize}u + lid`;
  const wgsl = [
    header(k),
    helperSource(ctx),
    ...decls,
    '',
    `@compute @workgroup_size(${workgroupSize})`,
    ...ENTRY_POINT,
    ...constLets(ctx),
    `  let kiln_i: u32 = ${flat};`,
    `  if (kiln_i >= ${n}u) { return; }`,
    ...gridLets(k.grid, 'kiln_i', '  '),
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
    workgroupSize,
    workgroups,
    workgroupStorageBytes: 0,
    loopTrips: plan.loopTrips,
    ...(ctx.consts?.length ? { consts: ctx.consts } : {}),
  };
}
