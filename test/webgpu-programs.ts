// The programs the WebGPU tests run on each adapter (and compare with the interpreter).
import type { KernelProgram } from '../compiler/ir/kernel.js';
import type { HostProgram } from '../runtime/host.js';
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
  let_,
  loop,
  place,
  program,
  rand,
  sc,
  st,
  un,
  v,
  where,
} from './webgpu-cases.js';

export interface Case {
  name: string;
  prog: KernelProgram;
  inputs: (Float32Array | Int32Array)[];
  /** state arena contents before the run (f32 arena) */
  state?: Float32Array;
  /** steps to run (host program advances each step) */
  steps?: number;
  /** too many invocations for SwiftShader under Node (see the runtime notes) */
  large?: boolean;
}

/** out[i, j] = exp(a[i, j]) * b[j] + log(c[i]) etc.: broadcasting through idiv/mod of a flat grid */
function broadcast(R: number, C: number): Case {
  const i = bin('idiv', g(0), c(C, 'i32')),
    j = bin('mod', g(0), c(C, 'i32'));
  const a = ld(0, g(0)),
    b = ld(1, v('j')),
    cc = ld(2, v('i'));
  const k = kernel(
    'bcast',
    [R * C],
    [
      let_('i', i),
      let_('j', j),
      st(3, g(0), bin('add', bin('mul', un('exp', a), b), un('log', cc))),
      // pow with exponent 2 on negative bases (WGSL pow would be NaN), general pow with |a| base
      st(4, g(0), bin('add', bin('pow', b, c(2)), bin('pow', un('abs', a), c(1.5)))),
      // where, recip, -inf const, max; relu-like
      st(5, g(0), where(bin('gt', a, c(0)), un('recip', bin('add', a, c(1))), bin('max', c(-Infinity), un('neg', b)))),
    ],
  );
  // the same over a 2-D grid
  const k2 = kernel(
    'bcast2d',
    [R, C],
    [
      st(
        6,
        bin('add', bin('mul', g(0), c(C, 'i32')), g(1)),
        bin('sub', ld(0, bin('add', bin('mul', g(0), c(C, 'i32')), g(1))), bin('mul', ld(1, g(1)), ld(2, g(0)))),
      ),
    ],
  );
  const prog = program(
    [
      buf('a', 'input', R * C),
      buf('b', 'input', C),
      buf('c', 'input', R),
      buf('o1', 'output', R * C),
      buf('o2', 'output', R * C),
      buf('o3', 'output', R * C),
      buf('o4', 'output', R * C),
    ],
    [k, k2],
    [place(0, [R, C]), place(1, [C]), place(2, [R])],
    [3, 4, 5, 6].map((b) => place(b, [R, C])),
  );
  return { name: `broadcast ${R}x${C}`, prog, inputs: [rand(R * C, 1, -2, 2), rand(C, 2, -3, 3), rand(R, 3, 0.1, 4)] };
}

/** sum and max over a long vector (grid [1]) and row sums (grid [R]) */
function reductions(N: number, R: number, C: number): Case {
  const total = kernel(
    'sum_max',
    [],
    [
      acc('s', 'add', 0),
      acc('m', 'max', -Infinity),
      loop('k', N, [accum('s', ld(0, v('k'))), accum('m', ld(0, v('k')))], true),
      st(2, c(0, 'i32'), v('s', 'f32')),
      st(2, c(1, 'i32'), v('m', 'f32')),
    ],
  );
  const rows = kernel(
    'row_sum',
    [R],
    [
      acc('s', 'add', 1.5), // a non-zero init must be added once, not once per thread
      loop('k', C, [accum('s', bin('mul', ld(1, bin('add', bin('mul', g(0), c(C, 'i32')), v('k'))), c(2)))], true),
      st(3, g(0), v('s', 'f32')),
    ],
  );
  const prog = program(
    [buf('x', 'input', N), buf('y', 'input', R * C), buf('o', 'output', 2), buf('r', 'output', R)],
    [total, rows],
    [place(0, [N]), place(1, [R, C])],
    [place(2, [2]), place(3, [R])],
  );
  return {
    name: `reductions N=${N} ${R}x${C}`,
    prog,
    inputs: [rand(N, 4, 0, 1), rand(R * C, 5, -1, 1)],
    large: N > 50000,
  };
}

function matmul(M: number, N: number, K: number): Case {
  const k = kernel(
    'matmul',
    [M, N],
    [
      acc('s', 'add', 0),
      loop(
        'k',
        K,
        [
          accum(
            's',
            bin(
              'mul',
              ld(0, bin('add', bin('mul', g(0), c(K, 'i32')), v('k'))),
              ld(1, bin('add', bin('mul', v('k'), c(N, 'i32')), g(1))),
            ),
          ),
        ],
        true,
      ),
      st(2, bin('add', bin('mul', g(0), c(N, 'i32')), g(1)), v('s', 'f32')),
    ],
  );
  const prog = program(
    [buf('A', 'input', M * K), buf('B', 'input', K * N), buf('C', 'output', M * N)],
    [k],
    [place(0, [M, K]), place(1, [K, N])],
    [place(2, [M, N])],
  );
  return { name: `matmul ${M}x${K} @ ${K}x${N}`, prog, inputs: [rand(M * K, 6), rand(K * N, 7)] };
}

/** batched [Bt, M, N] sum_k (A[b, m, k] - B[b, k, n])^2 * s: the tiled path with a non-product value */
function batchedDist(Bt: number, M: number, N: number, K: number): Case {
  const ai = bin('add', bin('mul', bin('add', bin('mul', g(0), c(M, 'i32')), g(1)), c(K, 'i32')), v('k'));
  const bi = bin('add', bin('mul', bin('add', bin('mul', g(0), c(K, 'i32')), v('k')), c(N, 'i32')), g(2));
  const k = kernel(
    'bdist',
    [Bt, M, N],
    [
      acc('s', 'add', 0.25),
      loop(
        'k',
        K,
        [
          accum(
            's',
            bin(
              'mul',
              bin('pow', bin('sub', ld(0, ai), ld(1, bi)), c(2)),
              cast(bin('add', v('k'), c(1, 'i32')), 'f32'),
            ),
          ),
        ],
        true,
      ),
      st(
        2,
        bin('add', bin('mul', bin('add', bin('mul', g(0), c(M, 'i32')), g(1)), c(N, 'i32')), g(2)),
        un('sqrt', v('s', 'f32')),
      ),
    ],
  );
  const prog = program(
    [buf('A', 'input', Bt * M * K), buf('B', 'input', Bt * K * N), buf('C', 'output', Bt * M * N)],
    [k],
    [place(0, [Bt, M, K]), place(1, [Bt, K, N])],
    [place(2, [Bt, M, N])],
  );
  return {
    name: `batched dist ${Bt}x${M}x${K} . ${K}x${N}`,
    prog,
    inputs: [rand(Bt * M * K, 11), rand(Bt * K * N, 12)],
  };
}

/** Adam over a flat f32 state arena [p | m | v], gradient from an input; host scalars per step */
function adam(P: number): Case {
  const [lr, b1, b2, eps] = [1e-2, 0.9, 0.999, 1e-8];
  const host: HostProgram = {
    vars: [{ name: 'step', init: 0 }],
    stmts: [
      { k: 'set', v: 0, e: { k: 'add', a: { k: 'var', i: 0 }, b: { k: 'num', v: 1 } } },
      // s0 = lr / (1 - b1^t);  s1 = 1 / sqrt(1 - b2^t)
      {
        k: 'emit',
        s: 0,
        e: {
          k: 'div',
          a: { k: 'num', v: lr },
          b: { k: 'sub', a: { k: 'num', v: 1 }, b: { k: 'pow', a: { k: 'num', v: b1 }, b: { k: 'var', i: 0 } } },
        },
      },
      {
        k: 'emit',
        s: 1,
        e: {
          k: 'div',
          a: { k: 'num', v: 1 },
          b: {
            k: 'sqrt',
            a: { k: 'sub', a: { k: 'num', v: 1 }, b: { k: 'pow', a: { k: 'num', v: b2 }, b: { k: 'var', i: 0 } } },
          },
        },
      },
    ],
    scalarCount: 2,
  };
  const S = 0; // state buffer index
  const p = ld(S, g(0)),
    m = ld(S, bin('add', g(0), c(P, 'i32'))),
    vv = ld(S, bin('add', g(0), c(2 * P, 'i32')));
  const gr = ld(1, g(0));
  const k = kernel(
    'adam',
    [P],
    [
      let_('m1', bin('add', bin('mul', c(b1), m), bin('mul', c(1 - b1), gr))),
      let_('v1', bin('add', bin('mul', c(b2), vv), bin('mul', c(1 - b2), bin('pow', gr, c(2))))),
      st(S, bin('add', g(0), c(P, 'i32')), v('m1', 'f32')),
      st(S, bin('add', g(0), c(2 * P, 'i32')), v('v1', 'f32')),
      st(
        S,
        g(0),
        bin(
          'sub',
          p,
          bin(
            'div',
            bin('mul', sc(0), v('m1', 'f32')),
            bin('add', bin('mul', un('sqrt', v('v1', 'f32')), sc(1)), c(eps)),
          ),
        ),
      ),
      st(2, g(0), p), // the updated parameter as an output (load after store in the same invocation)
    ],
  );
  const prog = program(
    [buf('state', 'state', 3 * P), buf('grad', 'input', P), buf('out', 'output', P), buf('scalars', 'scalars', 2)],
    [k],
    [place(1, [P])],
    [place(2, [P])],
    host,
  );
  const state = new Float32Array(3 * P);
  state.set(rand(P, 8));
  return { name: `adam P=${P}`, prog, inputs: [rand(P, 9)], state, steps: 3 };
}

/** int32 and bool values: masks, floor idiv/mod of negatives, casts, bools stored as 0/1 */
function ints(N: number): Case {
  const x = ld(0, g(0), 'i32');
  const k = kernel(
    'ints',
    [N],
    [
      let_('even', bin('eq', bin('mod', x, c(2, 'i32')), c(0, 'i32'))),
      st(1, g(0), bin('and', v('even', 'bool'), bin('gt', x, c(-3, 'i32')))),
      st(2, g(0), bin('add', bin('mul', bin('idiv', x, c(3, 'i32')), c(10, 'i32')), bin('mod', x, c(3, 'i32')))),
      st(
        3,
        g(0),
        bin(
          'add',
          cast(cast(bin('mul', cast(x, 'f32'), c(0.7)), 'i32'), 'f32'),
          cast(un('not', bin('lt', x, c(0, 'i32'))), 'f32'),
        ),
      ),
      st(4, g(0), where(ld(5, g(0), 'bool'), un('neg', x), bin('max', x, c(-5, 'i32')))),
    ],
  );
  const prog = program(
    [
      buf('x', 'input', N, 'i32'),
      buf('mask', 'output', N, 'i32'),
      buf('dm', 'output', N, 'i32'),
      buf('f', 'output', N),
      buf('w', 'output', N, 'i32'),
      buf('b', 'input', N, 'i32'),
    ],
    [k],
    [place(0, [N], 'int32'), place(5, [N], 'bool')],
    [place(1, [N], 'bool'), place(2, [N], 'int32'), place(3, [N]), place(4, [N], 'int32')],
  );
  const xs = Int32Array.from({ length: N }, (_, i) => i - (N >> 1));
  const bs = Int32Array.from({ length: N }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
  return { name: `int32/bool N=${N}`, prog, inputs: [xs, bs] };
}

/** more workgroups than one dispatch dimension holds: the 2-D fold and its bounds check */
function large(N: number): Case {
  const k = kernel('axpy', [N], [st(1, g(0), bin('add', bin('mul', ld(0, g(0)), c(3)), cast(g(0), 'f32')))]);
  const prog = program([buf('x', 'input', N), buf('y', 'output', N)], [k], [place(0, [N])], [place(1, [N])]);
  return { name: `2-D fold N=${N}`, prog, inputs: [rand(N, 10)], large: true };
}

export function cases(): Case[] {
  return [
    broadcast(37, 29),
    reductions(100_000, 8, 300),
    reductions(3000, 5, 1000),
    matmul(33, 17, 70),
    matmul(8, 8, 600),
    matmul(64, 48, 1000),
    batchedDist(3, 20, 12, 43),
    adam(1000),
    ints(101),
    large(65535 * 64 + 1000),
  ];
}
