// What a float32 sum accumulates in, written down once for every target.
//
// A `sum` node's terms for one output element are taken in the kernel's loop order (the reduced
// axes in the order of `arg.axes`, the first outermost) and added in a float32 accumulator: no
// target widens to float64 (WGSL has no f64), so `[1e8, 1, -1e8].sum()` is 0 everywhere, as in
// PyTorch's CPU float32 sum. One float32 chain over n terms errs by up to n·ε/2 (5e7 copies of
// 0.16 come out 6% low), so a chain longer than CASCADE_MIN_TERMS is cut into a cascade, as
// PyTorch's CPU sum (aten/src/ATen/native/cpu/SumKernel.cpp) cuts its rows into levels:
//   cascade(n terms): n <= CASCADE_BLOCK: one chain, in order;
//     else: the floor(n / B) full blocks of B consecutive terms are summed each into a fresh
//     accumulator (one chain), those block sums are the terms of a cascade one level up, and the
//     remainder block's own sum is added last.
// A sum over several axes (a nest of loops, the first outermost) is cut along them: each row of the
// innermost axis is a cascade of its own (one chain when it has at most B terms), and the rows' sums,
// in order, are the terms of the cascade over the axes outside it; so no level needs a loop variable
// recovered from a flat term index by division (a conv weight gradient sums over batch, height, width).
// Every chain is at most B terms, so the error is about ε·B·log_B(n) worst case (5e7 copies of
// 0.16: 4e-8 relative). The kernel IR records the scheme on the sum's accumulator
// (`scheme: 'cascade'`, set by the lowering from sumScheme); the kernel interpreter and both
// renderers expand it with one function (compiler/kernel/cascade.ts), and the reference
// interpreter runs the same recursion (cascadeSum below). Targets may only shorten chains further:
// LLVM splits a chain into 8 interleaved partial sums combined pairwise, and the WebGPU tree
// reduction gives each of its threads the strided terms lid, lid + 64, ... as a cascade of their
// own, combined in a pairwise tree. Chains of at most CASCADE_MIN_TERMS stay one loop, so
// matmul-sized reduce loops keep their vector shape (compiler/kernel/opt-cpu.ts 'block').

/** terms per block (and block sums per block one level up) */
export const CASCADE_BLOCK = 32;
/** a sum over more terms than this is a cascade; over fewer, one chain */
export const CASCADE_MIN_TERMS = 4096;

const f32 = Math.fround;

/** the scheme of a float32 sum over `terms` terms */
export const sumScheme = (terms: number): 'chain' | 'cascade' => (terms > CASCADE_MIN_TERMS ? 'cascade' : 'chain');

/**
 * `init` plus the terms term(0..n-1) of a nest of loops of `extents` (a number: one loop; term i is the
 * row-major flat index), summed as the kernel IR's cascade does (every add rounded to float32), for the
 * reference interpreter.
 */
export function cascadeSum(init: number, extents: number | readonly number[], term: (i: number) => number): number {
  const ext = typeof extents === 'number' ? [extents] : extents;
  const n = ext.reduce((a, b) => a * b, 1);
  if (n <= CASCADE_MIN_TERMS) return chain(init, 0, n, term);
  return nestInto(f32(init), ext, term);
}

function nestInto(acc: number, ext: readonly number[], term: (i: number) => number): number {
  const inner = ext[ext.length - 1];
  if (ext.length === 1) return cascadeInto(acc, inner, term);
  return nestInto(acc, ext.slice(0, -1), (j) => cascadeInto(0, inner, (i) => term(j * inner + i)));
}

function chain(acc: number, start: number, n: number, term: (i: number) => number): number {
  for (let i = 0; i < n; i++) acc = f32(acc + term(start + i));
  return acc;
}

function cascadeInto(acc: number, n: number, term: (i: number) => number): number {
  const B = CASCADE_BLOCK;
  if (n <= B) return chain(acc, 0, n, term);
  const blocks = Math.floor(n / B),
    rest = n - blocks * B;
  acc = cascadeInto(acc, blocks, (j) => chain(0, j * B, B, term));
  return rest > 0 ? f32(acc + chain(0, blocks * B, rest, term)) : acc;
}
