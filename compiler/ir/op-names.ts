// Every graph op's name, by category: the vocabulary the graph IR (graph.ts) and the op catalog
// (ops.ts, which re-exports it) share. It imports nothing, so graph.ts can use it while the
// catalog, whose entries are about graph nodes, imports graph.ts.
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'abs', 'recip', 'erf'] as const;
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'] as const;
export const COMPARE_OPS = ['lt', 'le', 'gt', 'ge', 'eq', 'ne'] as const;
export const LOGICAL_OPS = ['and', 'or'] as const;
export const REDUCE_OPS = ['sum', 'rmax'] as const;
export const VIEW_OPS = ['reshape', 'permute', 'expand', 'slice', 'pad'] as const;
export const SOURCE_OPS = ['input', 'state', 'const', 'scalar', 'iota', 'data'] as const;
/**
 * `fma(a, b, c)` = a*b + c with one rounding (float32 only): PyTorch's CPU add(self, other, alpha)
 * is fma(other, alpha, self), addcmul is fma(value*t1, t2, self), lerp is one fma per branch.
 * `random` is a fresh Philox draw per run (compiler/random-traced.ts). `allreduce` is its source reduced
 * across the process group's ranks (compiler/distributed): the collective runs between kernels.
 */
export const OTHER_OPS = ['cast', 'where', 'fma', 'random', 'allreduce'] as const;

export type UnaryOp = (typeof UNARY_OPS)[number];
/** every two-operand elementwise op: arithmetic, comparisons and logical and/or */
export type BinaryOp = (typeof BINARY_OPS)[number] | CompareOp | LogicalOp;
export type CompareOp = (typeof COMPARE_OPS)[number];
export type LogicalOp = (typeof LOGICAL_OPS)[number];
export type ReduceOp = (typeof REDUCE_OPS)[number];
export type ViewOp = (typeof VIEW_OPS)[number];
export type SourceOp = (typeof SOURCE_OPS)[number];
export type Op = UnaryOp | BinaryOp | ReduceOp | ViewOp | SourceOp | (typeof OTHER_OPS)[number];
/** an op computed by one kernel UnaryFn/BinaryFn of its operands */
export type ElementwiseOp = UnaryOp | BinaryOp;

export type Category = 'unary' | 'binary' | 'compare' | 'logical' | 'reduce' | 'view' | 'source' | Op;
const CATEGORY = new Map<string, Category>([
  ...UNARY_OPS.map((op) => [op, 'unary'] as const),
  ...BINARY_OPS.map((op) => [op, 'binary'] as const),
  ...COMPARE_OPS.map((op) => [op, 'compare'] as const),
  ...LOGICAL_OPS.map((op) => [op, 'logical'] as const),
  ...REDUCE_OPS.map((op) => [op, 'reduce'] as const),
  ...VIEW_OPS.map((op) => [op, 'view'] as const),
  ...SOURCE_OPS.map((op) => [op, 'source'] as const),
  ...OTHER_OPS.map((op) => [op, op] as const),
]);
/** an op's category; ops of no shared category (cast, where, fma, random, allreduce) are their own */
export const categoryOf = (op: string): Category | undefined => CATEGORY.get(op);
