// The fused multiply-add as PyTorch 1.13's CPU kernels use it (fixtures/fma_ops.json, made by
// fma_ops.py with torch 1.13, AVX2): add/sub with alpha = fma(other, +-alpha, self), addcmul =
// fma(value * t1, t2, self), lerp = one fma on each side of weight 0.5; addcdiv is not fused.
// Reference and native reproduce torch bit for bit; the Adam update kernel keeps vectorizing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, nn, optim, tensor, type Tensor } from '../compiler/index.js';
import { HostScalar } from '../compiler/host-scalar.js';
import { argOf, printGraph } from '../compiler/ir/graph.js';
import { exprChildren, type Expr, type Stmt } from '../compiler/ir/kernel.js';
import { simplifyNode } from '../compiler/passes/rules.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { nativeAssembly } from '../targets/llvm/index.js';

const fx = JSON.parse(
  readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/fma_ops.json'), 'utf8'),
) as Record<string, number[]>;
const f32 = (k: string) => Float32Array.from(fx[k]);
const OPS: [string, (a: Tensor, b: Tensor, c: Tensor) => Tensor][] = [
  ['add_alpha_0.1', (a, b) => a.add(b, 0.1)],
  ['sub_alpha_0.1', (a, b) => a.sub(b, 0.1)],
  ['addcmul_0.3', (a, b, c) => a.addcmul(b, c, 0.3)],
  ['addcmul_1', (a, b, c) => a.addcmul(b, c)],
  ['addcdiv_0.3', (a, b, c) => a.addcdiv(b, c, 0.3)],
  ['lerp_0.3', (a, b) => a.lerp(b, 0.3)],
  ['lerp_0.7', (a, b) => a.lerp(b, 0.7)],
  ['lerp_-0.7', (a, b) => a.lerp(b, -0.7)],
];
/** the same ops with every product rounded first (kiln before fma): must differ from torch somewhere */
const UNFUSED: Record<string, (a: number, b: number, c: number) => number> = {
  'add_alpha_0.1': (a, b) => Math.fround(a + Math.fround(Math.fround(0.1) * b)),
  'addcmul_0.3': (a, b, c) => Math.fround(a + Math.fround(Math.fround(Math.fround(0.3) * b) * c)),
  'lerp_0.3': (a, b) => Math.fround(a + Math.fround(Math.fround(0.3) * Math.fround(b - a))),
};

describe('fma: PyTorch 1.13 CPU results, bit for bit', () => {
  it(`fixture from torch ${fx.torch} (${fx.cpu_capability}) discriminates fused from unfused`, () => {
    const [a, b, c] = [f32('a'), f32('b'), f32('c')];
    for (const [k, un] of Object.entries(UNFUSED)) {
      const want = f32(k);
      expect(want.filter((w, i) => w !== un(a[i], b[i], c[i])).length, k).toBeGreaterThan(0);
    }
  });

  it('eager (graph reference interpreter)', () => {
    for (const [k, op] of OPS) {
      const got = op(tensor(f32('a')), tensor(f32('b')), tensor(f32('c'))).data;
      expect(Array.from(got), k).toEqual(Array.from(f32(k)));
    }
    // a host-scalar weight picks its side of 0.5 per element (where over the scalar)
    for (const w of [0.3, 0.7, -0.7]) {
      expect(Array.from(tensor(f32('a')).lerp(tensor(f32('b')), HostScalar.of(w)).data), `lerp ${w}`).toEqual(
        Array.from(f32(`lerp_${w}`)),
      );
    }
  });

  for (const target of ['reference', 'native']) {
    it(`compiled on ${target}`, async () => {
      const fn = await compile((a: Tensor, b: Tensor, c: Tensor) => OPS.map(([, op]) => op(a, b, c)), {
        inputs: [0, 1, 2].map(() => ({ shape: [64], dtype: 'float32' as const })),
        target,
      });
      const outs = (await fn.run(f32('a'), f32('b'), f32('c'))) as unknown as { data: Float32Array }[];
      OPS.forEach(([k], i) => expect(Array.from(outs[i].data), `${k} on ${target}`).toEqual(Array.from(f32(k))));
    });
  }
});

describe('fma in the graph', () => {
  it('add/sub with alpha trace to one fma node; without alpha a plain add', async () => {
    const fn = await compile((x: Tensor, y: Tensor) => [x.add(y, 0.5), x.sub(y, 2), x.add(y)], {
      inputs: [
        { shape: [3], dtype: 'float32' },
        { shape: [3], dtype: 'float32' },
      ],
      target: 'reference',
    });
    const text = printGraph(fn.programs[0].graph);
    expect(text.match(/= fma\(/g)).toHaveLength(2);
    expect(text).not.toMatch(/= mul\(/);
  });

  it('integer add with alpha still multiplies (no float32 rounding)', () => {
    const r = tensor(Int32Array.of(1, 2, 3)).add(tensor(Int32Array.of(4, 5, 6)), 2);
    expect(r.dtype).toBe('int32');
    expect(Array.from(r.data)).toEqual([9, 12, 15]);
  });

  it('constant fma folds with one rounding; fma(x, 1, c) is an add', () => {
    // x * b = 2^-24 (1 + 2^-36): one rounding of x*b + 1 gives 1 + 2^-23, Math.fround of the f64 sum gives 1
    const x = tensor(Float32Array.of((1 + 2 ** -12) * 2 ** -24)),
      b = 1 - 4095 * 2 ** -24;
    const folded = simplifyNode(tensor(Float32Array.of(1)).add(x, b).node);
    expect(folded.op).toBe('const');
    expect(argOf(folded, 'const').value).toBe(1 + 2 ** -23);
    expect(simplifyNode(tensor(Float32Array.of(2, 3)).add(tensor(Float32Array.of(5, 7)), 1).node).op).toBe('add');
  });

  it('autodiff: d/dself = g, d/dother = g * alpha; addcmul and lerp', () => {
    const x = new nn.Parameter({ shape: [2], data: [1, 2] }),
      y = new nn.Parameter({ shape: [2], data: [3, -4] });
    x.add(y, 0.5).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([1, 1]);
    expect(Array.from(y.grad!.data)).toEqual([0.5, 0.5]);
    const p = new nn.Parameter({ shape: [2], data: [1, 2] }),
      q = new nn.Parameter({ shape: [2], data: [3, -4] });
    p.addcmul(q, q, 0.25).lerp(q, 0.75).sum().backward(); // d/dp = 0.25, d/dq = 0.25 * 0.5 q + 0.75
    expect(Array.from(p.grad!.data)).toEqual([0.25, 0.25]);
    expect(Array.from(q.grad!.data)).toEqual([0.25 * 0.5 * 3 + 0.75, 0.25 * 0.5 * -4 + 0.75]);
  });
});

describe('fma on native: the Adam update kernel', () => {
  it('emits fma in the kernel IR and packed vfmadd in the assembly', async () => {
    const n = 4096;
    const p = new nn.Parameter({ shape: [n], data: Array.from({ length: n }, (_, i) => Math.sin(i)) });
    const opt = new optim.Adam([p], { lr: 1e-2 });
    const fn = await compile(
      (g: Tensor) => {
        p.grad = g;
        opt.step();
      },
      { inputs: [{ shape: [n], dtype: 'float32' }], target: 'reference' },
    );
    await fn.run(new Float32Array(n).fill(0.5));
    const prog = schedule(fn.programs[0].graph, new StateLayout());
    const fmas: Expr[] = [];
    const visit = (e: Expr): void => {
      if (e.e === 'fma') fmas.push(e);
      exprChildren(e).forEach(visit);
    };
    const walk = (ss: Stmt[]): void =>
      ss.forEach((s) => {
        if (s.s === 'let' || s.s === 'accum') visit(s.value);
        else if (s.s === 'store') visit(s.value);
        else if (s.s === 'loop') walk(s.body);
      });
    prog.kernels.forEach((k) => walk(k.body));
    expect(fmas.length).toBe(2); // exp_avg's add with alpha and exp_avg_sq's addcmul
    const asm = nativeAssembly(prog);
    expect(asm).toMatch(/\bv(fmadd|fmsub|fnmadd|fnmsub)\w*ps\s[^\n]*%[yz]mm/);
    expect(asm).toMatch(/\bvsqrtps\s[^\n]*%[yz]mm/);
  });
});
