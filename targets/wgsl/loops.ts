// Serial loops, and the budget Mesa's llvmpipe puts on them: gallivm's loop limiter stops a shader
// invocation after 65,535 loop back-edges in total (all loops, nested or not), silently. So
// innermost loops are unrolled (fewer back-edges, and faster on every target), each kernel's
// worst-case back-edge count is recorded, and the runtime refuses to run on llvmpipe a kernel
// that would exceed it rather than return truncated sums.
import type { Stmt } from '../../compiler/ir/kernel.js';

import { LLVMPIPE_LOOP_LIMIT } from '../../runtime/webgpu/artifact.js';
export { LLVMPIPE_LOOP_LIMIT };
/** innermost loops longer than this are unrolled */
export const UNROLL_MIN_TRIPS = 16;
export const UNROLL_FACTORS = [8, 16, 32, 64];

type Loop = Extract<Stmt, { s: 'loop' }>;
const hasLoop = (ss: readonly Stmt[]): boolean => ss.some((s) => s.s === 'loop');

/** back-edges one invocation takes through `body`; `stepOf` gives a loop's stride (1 if serial) */
export function loopTrips(body: readonly Stmt[], unroll: number, stepOf: (l: Loop) => number = () => 1): number {
  let n = 0;
  for (const s of body) {
    if (s.s !== 'loop') continue;
    // each loop also counts its exit test (measured: a cascade sum of 2e7 terms at 64 threads
    // came out truncated with back-edges alone counted just under the limit)
    const step = stepOf(s), iters = Math.ceil(s.extent / step);
    if (!hasLoop(s.body) && iters > UNROLL_MIN_TRIPS) {
      // unrolled: straight-line when it fits, else the main loop, then the remainder loop (a
      // strided loop's remainder varies by thread)
      if (step === 1 && iters <= unroll) continue;
      n += Math.floor(iters / unroll) + 1 + (step === 1 ? iters % unroll : unroll) + 1;
    } else n += iters + 1 + iters * loopTrips(s.body, unroll, stepOf);
  }
  return n;
}

/** the smallest unroll factor that keeps a kernel within the llvmpipe budget (or the largest) */
export function chooseUnroll(trips: (unroll: number) => number): { unroll: number; trips: number } {
  for (const u of UNROLL_FACTORS) {
    const t = trips(u);
    if (t <= LLVMPIPE_LOOP_LIMIT) return { unroll: u, trips: t };
  }
  const u = UNROLL_FACTORS[UNROLL_FACTORS.length - 1];
  return { unroll: u, trips: trips(u) };
}

/**
 * Every kernel's entry point. `kiln_one` is 1 at run time (the runtime dispatches (x, y), so the
 * z count is 1) but unknown to the driver's shader compiler: loop bounds are written as
 * `extent * kiln_one` so Mesa (NIR, then LLVM) cannot fully unroll kiln's nested constant loops.
 * It did, and that made llvmpipe's first dispatch of the seed's one-kernel step take seconds
 * (compile time superlinear in the unrolled size) for a shader that runs in microseconds.
 */
export const ENTRY_POINT = [
  'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,',
  '        @builtin(num_workgroups) kiln_nwg: vec3<u32>) {',
  '  let kiln_one: i32 = i32(kiln_nwg.z);',
];

/** a loop bound the driver cannot constant-fold (see ENTRY_POINT) */
export const opaqueBound = (extent: number): string => `${extent}i * kiln_one`;

/**
 * `for (var v = start; v < extent; v += step) { body }`; when the body holds no loop and the loop
 * is long, unrolled `unroll` times (each copy in its own block: the body's lets are redeclared)
 * with a remainder loop. `body(pad)` renders the body at an indentation; `v` is the WGSL name.
 */
export function forLoop(
  v: string,
  start: string,
  extent: number,
  step: number,
  innermost: boolean,
  unroll: number,
  pad: string,
  body: (pad: string) => string[],
): string[] {
  const inc = step === 1 ? `${v}++` : `${v} += ${step}i`;
  const bound = opaqueBound(extent);
  const plain = (init: string, p: string) => [
    `${p}for (var ${v}: i32 = ${init}; ${v} < ${bound}; ${inc}) {`,
    ...body(p + '  '),
    `${p}}`,
  ];
  if (!innermost || unroll <= 1 || Math.ceil(extent / step) <= UNROLL_MIN_TRIPS) return plain(start, pad);
  if (step === 1 && start === '0i' && extent <= unroll) {
    // straight-line: no back-edge at all
    return Array.from({ length: extent }, (_, i) => [
      `${pad}{`,
      `${pad}  let ${v}: i32 = ${i}i;`,
      ...body(pad + '  '),
      `${pad}}`,
    ]).flat();
  }
  const u = `kiln_u_${v}`;
  const out = [`${pad}{`, `${pad}  var ${u}: i32 = ${start};`];
  out.push(`${pad}  for (; ${u} + ${(unroll - 1) * step}i < ${bound}; ${u} += ${unroll * step}i) {`);
  for (let i = 0; i < unroll; i++) {
    out.push(
      `${pad}    {`,
      `${pad}      let ${v}: i32 = ${u}${i ? ` + ${i * step}i` : ''};`,
      ...body(pad + '      '),
      `${pad}    }`,
    );
  }
  out.push(`${pad}  }`, ...plain(u, pad + '  '), `${pad}}`);
  return out;
}
