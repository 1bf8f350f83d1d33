// Serial loops as WGSL. Long innermost loops are unrolled by the factor the strategy pass chose
// within llvmpipe's loop budget (compiler/kernel/opt-gpu-loops.ts counts the back-edges of the
// form rendered here).
import { straightLine, UNROLL_MIN_TRIPS } from '../../compiler/kernel/opt-gpu-loops.js';

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
  const straight = innermost && start === '0i' && straightLine(Math.ceil(extent / step), step, unroll);
  if (!straight && (!innermost || unroll <= 1 || Math.ceil(extent / step) <= UNROLL_MIN_TRIPS)) {
    return plain(start, pad);
  }
  if (straight) {
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
