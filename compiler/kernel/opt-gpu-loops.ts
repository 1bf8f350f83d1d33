// Serial loops in WGSL, and the budget Mesa's llvmpipe puts on them: gallivm's loop limiter stops
// a shader invocation after 65,535 loop back-edges in total (all loops, nested or not), silently.
// So the strategy pass unrolls innermost loops (fewer back-edges, and faster on every target) by
// the smallest factor that keeps a kernel within the budget, counting the back-edges of the form
// targets/wgsl renders (targets/wgsl/loops.ts forLoop) and recording the worst case, which the
// runtime checks on llvmpipe rather than return truncated sums.
import type { Expr, Kernel, Stmt } from '../ir/kernel.js';
import { exprChildren, forEachStmtExpr } from '../ir/kernel.js';
import { LLVMPIPE_LOOP_LIMIT } from '../../runtime/webgpu/artifact.js';
import { accumulators, cascadeLevels, cascadeNest, type CascadeNest } from './cascade.js';

/** innermost loops longer than this are unrolled */
export const UNROLL_MIN_TRIPS = 16;
export const UNROLL_FACTORS = [8, 16, 32, 64];

type Loop = Extract<Stmt, { s: 'loop' }>;
const hasLoop = (ss: readonly Stmt[]): boolean => ss.some((s) => s.s === 'loop');

/**
 * whether an innermost loop of `iters` trips (stride `step`) is rendered straight-line at this unroll factor:
 * a long one that fits it; a short one only once the budget asks for factors of 16 and more (a nest of short
 * loops, such as a convolution's weight gradient over rows and columns, spends most of its back-edges there)
 */
export const straightLine = (iters: number, step: number, unroll: number): boolean =>
  step === 1 && iters <= unroll && (iters > UNROLL_MIN_TRIPS || unroll >= UNROLL_MIN_TRIPS);

/** back-edges one invocation takes through `body`; `stepOf` gives a loop's stride (1 if serial) */
export function loopTrips(body: readonly Stmt[], unroll: number, stepOf: (l: Loop) => number = () => 1): number {
  let n = 0;
  for (const s of body) {
    if (s.s !== 'loop') continue;
    // each loop also counts its exit test (measured: a cascade sum of 2e7 terms at 64 threads
    // came out truncated with back-edges alone counted just under the limit)
    const step = stepOf(s),
      iters = Math.ceil(s.extent / step);
    if (!hasLoop(s.body) && straightLine(iters, step, unroll)) continue;
    if (!hasLoop(s.body) && iters > UNROLL_MIN_TRIPS) {
      // unrolled: straight-line when it fits, else the main loop, then the remainder loop (a
      // strided loop's remainder varies by thread)
      if (step === 1 && iters <= unroll) continue;
      n += Math.floor(iters / unroll) + 1 + (step === 1 ? iters % unroll : unroll) + 1;
    } else n += iters + 1 + iters * loopTrips(s.body, unroll, stepOf);
  }
  return n;
}

/**
 * expression nodes in innermost loop bodies past which a kernel runs them rolled where the budget allows: the
 * norm of clipGradNorm_'s 52 stacked per-parameter norms (a loop over 52 positions, each a 52-way select sum)
 * unrolled by 8 was a 76 kB shader that llvmpipe took 4.5 s to compile
 */
export const BIG_LOOP_BODY = 1000;

/** the smallest unroll factor that keeps a kernel within the llvmpipe budget (or the largest) */
export function chooseUnroll(
  trips: (unroll: number) => number,
  loopBodyNodes = 0,
): { unroll: number; loopTrips: number } {
  for (const u of loopBodyNodes > BIG_LOOP_BODY ? [1, ...UNROLL_FACTORS] : UNROLL_FACTORS) {
    const t = trips(u);
    if (t <= LLVMPIPE_LOOP_LIMIT) return { unroll: u, loopTrips: t };
  }
  const u = UNROLL_FACTORS[UNROLL_FACTORS.length - 1];
  return { unroll: u, loopTrips: trips(u) };
}

/** the IR variable holding a tree reduction thread's index in its workgroup */
export const LID = 'kiln_lid';

/**
 * One thread's share of a cascade sum: the terms lid, lid + wg, lid + 2·wg, ... as a cascade of
 * their own (`rounds`), then the leftover term wg·m + lid on the first `restThreads` threads.
 */
export function threadCascade(c: CascadeNest, wg: number, name: (base: string) => string) {
  const m = Math.floor(c.terms / wg),
    restThreads = c.terms - m * wg;
  const lid: Expr = { e: 'var', type: 'i32', name: LID };
  const i32 = (value: number): Expr => ({ e: 'const', type: 'i32', value });
  const into = new Map(c.sums.map((s) => [s, s]));
  const rounds = cascadeLevels(
    m,
    (j, to) =>
      c.termAt(
        { e: 'binary', type: 'i32', fn: 'add', a: lid, b: { e: 'binary', type: 'i32', fn: 'mul', a: j, b: i32(wg) } },
        to,
      ),
    into,
    c.sums,
    name,
  );
  const rest = restThreads ? c.termAt({ e: 'binary', type: 'i32', fn: 'add', a: i32(m * wg), b: lid }, into) : [];
  return { rounds, rest, restThreads };
}

/** the cascade sums among a tree reduction's statements, by statement */
export function treeCascades(k: Kernel, loops: readonly number[]): Map<Stmt, CascadeNest> {
  const allAccs = accumulators(k.body);
  const cascades = new Map<Stmt, CascadeNest>();
  for (const i of loops) {
    const st = k.body[i],
      c = st.s === 'loop' ? cascadeNest(st, allAccs) : null;
    if (c) cascades.set(st, c);
  }
  return cascades;
}

/**
 * the unroll factor of a tree reduction over the statements `loops` of `k` (unexpanded) and its
 * back-edges: each reduce loop strided by the workgroup, each cascade sum a thread's share of its
 * terms, and the tree's log2(wg) rounds per reduction
 */
export function treeUnroll(k: Kernel, loops: readonly number[], wg: number): { unroll: number; loopTrips: number } {
  const chosen = new Set(loops.map((i) => k.body[i]));
  const cascades = treeCascades(k, loops);
  const perThread = [...cascades.values()].map((c) => threadCascade(c, wg, (b) => b));
  const tree = loops.length * Math.log2(wg);
  return chooseUnroll(
    (u) =>
      tree +
      loopTrips(
        k.body.filter((s) => !cascades.has(s)),
        u,
        (l) => (chosen.has(l) ? wg : 1),
      ) +
      perThread.reduce((t, c) => t + loopTrips(c.rounds, u) + loopTrips(c.rest, u), 0),
  );
}

/** expression nodes in the bodies of `body`'s innermost loops (loops holding no loop): what unrolling copies */
export function innermostLoopNodes(body: readonly Stmt[]): number {
  let n = 0;
  const count = (e: Expr): number => 1 + exprChildren(e).reduce((a, x) => a + count(x), 0);
  for (const s of body) {
    if (s.s !== 'loop') continue;
    if (hasLoop(s.body)) n += innermostLoopNodes(s.body);
    else forEachStmtExpr(s.body, (e) => (n += count(e)));
  }
  return n;
}
