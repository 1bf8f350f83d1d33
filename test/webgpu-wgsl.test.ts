// The WGSL renderer without a GPU: the C-vs-WGSL semantic traps, folding, requirements.
import { describe, expect, it } from 'vitest';
import { checkRequirements } from '../runtime/webgpu/executable.js';
import { expr, lit, newCtx } from '../targets/wgsl/expr.js';
import { buildWGSL } from '../targets/wgsl/index.js';
import { foldWorkgroups } from '../targets/wgsl/kernel.js';
import {
  acc,
  accum,
  bin,
  buf,
  c,
  cast,
  g,
  kernel,
  ld,
  loop,
  place,
  program,
  sc,
  st,
  un,
  v,
  where,
} from './webgpu-cases.js';

const show = (e: Parameters<typeof expr>[0], dtypes: ('f32' | 'i32')[] = ['f32', 'i32']) => expr(e, newCtx(dtypes));

describe('wgsl expressions', () => {
  it('literals: infinities, NaN, -0, INT32_MIN, exact float32', () => {
    const ctx = newCtx([]);
    expect(lit('f32', -Infinity, ctx)).toBe('(-kiln_inf())');
    expect(lit('f32', NaN, ctx)).toBe('kiln_nan()');
    expect(lit('f32', -0, ctx)).toBe('(-0.0f)');
    expect(lit('f32', 0.1, ctx)).toBe('0.10000000149011612f');
    expect(lit('f32', 1e30, ctx)).toMatch(/^1\.0000000150474662e\+30f$/);
    expect(lit('i32', -2147483648, ctx)).toBe('(-2147483647i - 1i)');
    expect(lit('bool', 1, ctx)).toBe('true');
    expect([...ctx.helpers].sort()).toEqual(['kiln_inf', 'kiln_nan']);
  });

  it('select takes the false value first', () => {
    expect(show(where(bin('gt', v('x', 'f32'), c(0)), c(1), c(2)))).toBe('select(2f, 1f, kiln_gt(v_x, 0f))');
    expect(show(where(bin('gt', v('x', 'i32'), c(0, 'i32')), c(1), c(2)))).toBe('select(2f, 1f, (v_x > 0i))');
  });

  it('float arithmetic and comparisons go through the IEEE helpers unless a finite constant rules specials out', () => {
    const x = v('x', 'f32'),
      y = v('y', 'f32');
    expect(show(bin('mul', x, y))).toBe('kiln_mul(v_x, v_y)');
    expect(show(bin('mul', x, c(0)))).toBe('kiln_mul(v_x, 0f)'); // llvmpipe folds x * 0.0 to 0
    expect(show(bin('mul', x, c(0.5)))).toBe('(v_x * 0.5f)');
    expect(show(bin('div', x, c(0)))).toBe('kiln_div(v_x, 0f)');
    expect(show(bin('div', c(1), x))).toBe('kiln_div(1f, v_x)');
    expect(show(bin('sub', x, x))).toBe('kiln_sub(v_x, v_x)');
    expect(show(bin('add', x, c(1)))).toBe('(v_x + 1f)');
    expect(show(bin('max', x, c(0)))).toBe('kiln_max(v_x, 0f)');
    expect(show(bin('eq', x, x))).toBe('kiln_eq(v_x, v_x)');
    expect(show(bin('mul', v('i'), v('j')))).toBe('(v_i * v_j)');
  });

  it('pow: x*x for exponent 2 (negative bases), C semantics otherwise', () => {
    expect(show(bin('pow', v('x', 'f32'), c(2)))).toBe('kiln_sq(v_x)');
    // sqrt but for powf(-inf, 0.5) = inf and powf(-0, 0.5) = +0
    expect(show(bin('pow', v('x', 'f32'), c(0.5)))).toBe('kiln_pow_half(v_x)');
    expect(show(bin('pow', v('x', 'f32'), v('y', 'f32')))).toBe('kiln_pow(v_x, v_y)');
  });

  it('idiv/mod: plain operators on non-negative index math, floor helpers otherwise', () => {
    const ctx = newCtx([]);
    ctx.nonNeg.add('g0');
    expect(expr(bin('mod', bin('idiv', g(0), c(7, 'i32')), c(3, 'i32')), ctx)).toBe('((v_g0 / 7i) % 3i)');
    expect(show(bin('idiv', v('x'), c(3, 'i32')))).toBe('kiln_floordiv(v_x, 3i)');
    expect(show(bin('mod', v('x', 'f32'), c(3)))).toBe('(v_x - 3f * floor(v_x / 3f))');
  });

  it('bools are stored as i32 0/1 and loaded back as bool', () => {
    expect(show(ld(1, c(0, 'i32'), 'bool'))).toBe('(b1[0i] != 0i)');
    const p = program(
      [buf('o', 'output', 4, 'i32')],
      [kernel('k', [4], [st(0, g(0), bin('lt', cast(g(0), 'f32'), c(2)))])],
      [],
      [place(0, [4], 'bool')],
    );
    expect(buildWGSL(p).code.kernels[0].wgsl).toContain('b0[v_g0] = i32(kiln_lt(f32(v_g0), 2f));');
  });

  it('host scalars come from a vec4 uniform array', () => {
    expect(show(sc(6))).toBe('kiln_scalars[1].z');
    const p = program(
      [buf('o', 'output', 4)],
      [kernel('k', [4], [st(0, g(0), un('neg', sc(5)))])],
      [],
      [place(0, [4])],
    );
    const k = buildWGSL(p).code.kernels[0];
    expect(k.wgsl).toContain('var<uniform> kiln_scalars: array<vec4<f32>, 2>;');
    expect(k.bindings).toEqual([
      { binding: 0, buf: 0, access: 'read_write' },
      { binding: 1, buf: 'scalars', access: 'uniform' },
    ]);
  });
});

describe('wgsl kernels and limits', () => {
  it('folds workgroup counts past 65,535 into 2-D', () => {
    expect(foldWorkgroups(65535)).toEqual([65535, 1]);
    expect(foldWorkgroups(65536)).toEqual([32768, 2]);
    const [x, y] = foldWorkgroups(1e7);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(1e7);
    const p = program([buf('o', 'output', 5e6)], [kernel('big', [5e6], [st(0, g(0), c(1))])], [], [place(0, [5e6])]);
    const k = buildWGSL(p).code.kernels[0];
    expect(k.workgroups[1]).toBe(2);
    expect(k.wgsl).toContain('if (kiln_i >= 5000000u) { return; }');
  });

  it('binds only the buffers a kernel touches; requirements name the limits', () => {
    const p = program(
      [buf('a', 'input', 4), buf('b', 'input', 4), buf('o', 'output', 4)],
      [kernel('k', [4], [st(2, g(0), ld(1, g(0)))])],
      [place(0, [4]), place(1, [4])],
      [place(2, [4])],
    );
    const a = buildWGSL(p);
    expect(a.code.kernels[0].bindings.map((b) => b.buf)).toEqual([1, 2]);
    expect(a.code.requirements.maxStorageBuffersPerShaderStage).toBe(2);
    const limits = { maxStorageBuffersPerShaderStage: 1 } as unknown as GPUSupportedLimits;
    expect(() => checkRequirements(a.code.requirements, limits)).toThrow(
      /maxStorageBuffersPerShaderStage = 2, the device allows 1/,
    );
  });

  it('uses a workgroup tree reduction for a small grid and a long reduce loop, serial otherwise', () => {
    const body = [
      acc('s', 'add', 0),
      loop('k', 100000, [accum('s', ld(0, v('k')))], true),
      st(1, c(0, 'i32'), v('s', 'f32')),
    ];
    const p = program(
      [buf('x', 'input', 100000), buf('o', 'output', 1)],
      [kernel('sum', [], body)],
      [place(0, [100000])],
      [place(1, [1])],
    );
    const tree = buildWGSL(p).code.kernels[0];
    expect(tree.wgsl).toContain('workgroupBarrier()');
    expect(tree.workgroups).toEqual([1, 1]);
    expect(tree.workgroupStorageBytes).toBe(256);
    const serial = buildWGSL(p, { workgroupReduce: false }).code.kernels[0];
    expect(serial.wgsl).not.toContain('workgroupBarrier');
    expect(serial.loopTrips).toBeLessThan(65535); // unrolled within llvmpipe's loop limit
  });

  it('writes every IR loop bound through kiln_one, so the driver cannot fully unroll nested loops', () => {
    // nested constant loops, fully unrolled by Mesa, made llvmpipe's first dispatch take seconds
    const body = [
      loop('i', 5, [
        acc('s', 'add', 0),
        loop('r', 10, [accum('s', ld(0, v('r')))], true),
        st(1, v('i'), v('s', 'f32')),
      ]),
      loop('j', 40, [st(1, bin('add', v('j'), c(5, 'i32')), c(1))]),
    ];
    const p = program(
      [buf('x', 'input', 10), buf('o', 'output', 45)],
      [kernel('nest', [1], body)],
      [place(0, [10])],
      [place(1, [45])],
    );
    const sum = [
      acc('s', 'add', 0),
      loop('k', 100000, [accum('s', ld(0, v('k')))], true),
      st(1, c(0, 'i32'), v('s', 'f32')),
    ];
    const q = program(
      [buf('x', 'input', 100000), buf('o', 'output', 1)],
      [kernel('sum', [], sum)],
      [place(0, [100000])],
      [place(1, [1])],
    );
    const kernels = [
      buildWGSL(p).code.kernels[0],
      buildWGSL(q).code.kernels[0],
      buildWGSL(q, { workgroupReduce: false }).code.kernels[0],
    ];
    for (const k of kernels) {
      expect(k.wgsl).toContain('@builtin(num_workgroups) kiln_nwg: vec3<u32>');
      expect(k.wgsl).toContain('let kiln_one: i32 = i32(kiln_nwg.z);');
      const irLoops = k.wgsl.split('\n').filter((l) => /for \((var v_|; kiln_u_)/.test(l));
      expect(irLoops.length).toBeGreaterThan(0);
      for (const l of irLoops) expect(l).toMatch(/< \d+i \* kiln_one;/);
    }
    expect(kernels[0].wgsl.match(/\* kiln_one/g)).toHaveLength(4); // i, r, and j unrolled: main + remainder loop
  });

  it('tiles matmul-shaped kernels (A by row and k, B by k and column), and only those', () => {
    const M = 20,
      N = 12,
      K = 40;
    const mm = (ai: Parameters<typeof ld>[1], bi: Parameters<typeof ld>[1]) =>
      program(
        [buf('A', 'input', M * K), buf('B', 'input', K * N), buf('C', 'output', M * N)],
        [
          kernel(
            'mm',
            [M, N],
            [
              acc('s', 'add', 0),
              loop('k', K, [accum('s', bin('mul', ld(0, ai), ld(1, bi)))], true),
              st(2, bin('add', bin('mul', g(0), c(N, 'i32')), g(1)), v('s', 'f32')),
            ],
          ),
        ],
        [place(0, [M, K]), place(1, [K, N])],
        [place(2, [M, N])],
      );
    const A = bin('add', bin('mul', g(0), c(K, 'i32')), v('k')),
      B = bin('add', bin('mul', v('k'), c(N, 'i32')), g(1));
    const tiled = buildWGSL(mm(A, B)).code.kernels[0];
    expect(tiled.wgsl).toContain('(tiled 8x8)');
    expect(tiled.workgroups).toEqual([Math.ceil(M / 8) * Math.ceil(N / 8), 1]);
    expect(buildWGSL(mm(A, B), { tile: false }).code.kernels[0].wgsl).not.toContain('tiled');
    // B indexed by the row: not a matmul shape
    const notMm = bin('add', bin('mul', v('k'), c(N, 'i32')), bin('mod', g(0), c(N, 'i32')));
    expect(buildWGSL(mm(A, notMm)).code.kernels[0].wgsl).not.toContain('tiled');
  });
});
