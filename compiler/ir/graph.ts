// The graph IR: what tracing produces and every pass consumes.
// A node is immutable, has a static shape and dtype, and names its sources. Views (reshape,
// permute, expand, slice) are index maps over their source, never copies: the scheduler turns
// chains of them into one index expression.
import type { HostProgram } from '../../runtime/host.js';

export type DType = 'float32' | 'int32' | 'bool';
export type Shape = readonly number[];

export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'abs', 'recip', 'cast'] as const;
export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'max', 'min', 'pow', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or',
] as const;
export const REDUCE_OPS = ['sum', 'rmax'] as const;
export const VIEW_OPS = ['reshape', 'permute', 'expand', 'slice', 'pad'] as const;
export const SOURCE_OPS = ['input', 'state', 'const', 'scalar', 'iota', 'data'] as const;

export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];
export type ReduceOp = (typeof REDUCE_OPS)[number];
export type ViewOp = (typeof VIEW_OPS)[number];
export type SourceOp = (typeof SOURCE_OPS)[number];
/**
 * `fma(a, b, c)` = a*b + c with one rounding (float32 only): PyTorch's CPU add(self, other, alpha)
 * is fma(other, alpha, self), addcmul is fma(value*t1, t2, self), lerp is one fma per branch.
 */
export type Op = UnaryOp | BinaryOp | ReduceOp | ViewOp | SourceOp | 'where' | 'fma' | 'random';

/** Per-op argument. Kept as plain data so that a node prints and serializes. */
export interface OpArgs {
  input: { index: number };            // the index-th traced input
  state: { cell: number };             // a persistent state cell (parameter, gradient, optimizer state)
  const: { value: number };            // a constant filled to the node's shape
  scalar: { slot: number };            // a float32 computed by the host program this step
  iota: { axis: number };              // the index along `axis` (int32)
  data: { values: Float32Array | Int32Array | Uint8Array }; // a concrete tensor outside a trace
  /**
   * a fresh draw per run (compiler/random-traced.ts): element i is Philox4x32-10 of counter
   * (i, draw, run offset) under the manualSeed key; its sources are the 8 float32 `scalar`s holding
   * the 16-bit halves of the key and the offset. `draw` numbers the draws of one trace, so two
   * draws are never one node (CSE keys on it).
   */
  random: { dist: 'uniform' | 'normal'; draw: number };
  cast: { to: DType };
  sum: { axes: number[] };             // reduced axes keep size 1
  rmax: { axes: number[] };
  reshape: { shape: number[] };
  permute: { order: number[] };
  expand: { shape: number[] };
  slice: { starts: number[]; steps: number[] }; // node.shape gives the extents
  pad: { before: number[] };           // zeros around the source; node.shape gives the padded extents
}

export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly src: readonly Node[];
  readonly shape: Shape;
  readonly dtype: DType;
  readonly arg?: any;
  /** The user's source line that created it, when known ("file.ts:12:5"). */
  readonly site?: string;
}

let nextId = 1;
export function makeNode(op: Op, src: readonly Node[], shape: Shape, dtype: DType, arg?: any, site?: string): Node {
  return Object.freeze({ id: nextId++, op, src, shape: Object.freeze([...shape]), dtype, arg, site });
}

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function isUnary(op: Op): op is UnaryOp { return (UNARY_OPS as readonly string[]).includes(op); }
export function isBinary(op: Op): op is BinaryOp { return (BINARY_OPS as readonly string[]).includes(op); }
export function isReduce(op: Op): op is ReduceOp { return (REDUCE_OPS as readonly string[]).includes(op); }
export function isView(op: Op): op is ViewOp { return (VIEW_OPS as readonly string[]).includes(op); }
export function isSource(op: Op): op is SourceOp { return (SOURCE_OPS as readonly string[]).includes(op); }
export const isComparison = (op: Op) => ['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(op);

/** Describes one persistent state cell that a program reads or writes. */
export interface CellInfo { id: number; name: string; shape: number[]; dtype: DType }

/**
 * A traced program: a pure function (state, inputs) -> (state', outputs), which a runtime applies
 * in place. `updates` are state assignments, all reading the state as it was on entry.
 */
export interface GraphProgram {
  inputs: { name: string; shape: number[]; dtype: DType }[];
  cells: CellInfo[];
  host: HostProgram;
  /** host var index -> the cell-free name of the host value it carries (e.g. "adam.0.step") */
  outputs: Node[];
  updates: { cell: number; value: Node }[];
}

/** All nodes reachable from the roots, sources before users. */
export function toposort(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<number>();
  const stack: [Node, number][] = roots.map((r) => [r, 0]);
  stack.reverse();
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i === 0 && seen.has(node.id)) { stack.pop(); continue; }
    if (i < node.src.length) {
      top[1]++;
      const s = node.src[i];
      if (!seen.has(s.id)) stack.push([s, 0]);
    } else {
      stack.pop();
      if (!seen.has(node.id)) { seen.add(node.id); order.push(node); }
    }
  }
  return order;
}

export function programRoots(p: GraphProgram): Node[] {
  return [...p.outputs, ...p.updates.map((u) => u.value)];
}

function fmtArg(n: Node, cells?: Map<number, string>): string {
  const a = n.arg;
  if (a === undefined) return '';
  switch (n.op) {
    case 'state': return cells?.get(a.cell) ?? `cell${a.cell}`;
    case 'const': return String(a.value);
    case 'data': return `[${a.values.length} values]`;
    case 'input': return `#${a.index}`;
    case 'scalar': return `s${a.slot}`;
    default: return JSON.stringify(a).replace(/"/g, '');
  }
}

/** One line per node: `%12 = add(%10, %11) : float32[5,10]`. */
export function printGraph(p: GraphProgram): string {
  const cells = new Map(p.cells.map((c) => [c.id, c.name]));
  const lines: string[] = [];
  for (const n of toposort(programRoots(p))) {
    const args = n.src.map((s) => `%${s.id}`).join(', ');
    const arg = fmtArg(n, cells);
    const inner = [args, arg].filter(Boolean).join('; ');
    lines.push(`%${n.id} = ${n.op}(${inner}) : ${n.dtype}[${n.shape.join(',')}]`);
  }
  p.outputs.forEach((o, i) => lines.push(`out${i} = %${o.id}`));
  for (const u of p.updates) lines.push(`${cells.get(u.cell) ?? `cell${u.cell}`} <- %${u.value.id}`);
  return lines.join('\n');
}
