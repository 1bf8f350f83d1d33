// The graph IR: what tracing produces and every pass consumes.
// A node is immutable, has a static shape and dtype, and names its sources. Views (reshape,
// permute, expand, slice) are index maps over their source, never copies: the scheduler turns
// chains of them into one index expression.
import type { HostProgram } from '../../runtime/host.js';
import {
  categoryOf,
  type BinaryOp,
  type CompareOp,
  type Op,
  type ReduceOp,
  type SourceOp,
  type UnaryOp,
  type ViewOp,
} from './op-names.js';
export type { BinaryOp, CompareOp, Op, ReduceOp, SourceOp, UnaryOp, ViewOp } from './op-names.js';

export type DType = 'float32' | 'int32' | 'bool';
export type Shape = readonly number[];

/** Per-op argument. Kept as plain data so that a node prints and serializes. */
export interface OpArgs {
  input: { index: number }; // the index-th traced input
  state: { cell: number }; // a persistent state cell (parameter, gradient, optimizer state)
  const: { value: number }; // a constant filled to the node's shape
  scalar: { slot: number }; // a float32 computed by the host program this step
  iota: { axis: number }; // the index along `axis` (int32)
  data: { values: Float32Array | Int32Array | Uint8Array }; // a concrete tensor outside a trace
  /**
   * a fresh draw per run (compiler/random-traced.ts): element i is Philox4x32-10 of counter
   * (i, draw, run offset) under the manualSeed key; its sources are the 8 float32 `scalar`s holding
   * the 16-bit halves of the key and the offset. `draw` numbers the draws of one trace, so two
   * draws are never one node (CSE keys on it).
   */
  random: { dist: 'uniform' | 'normal'; draw: number };
  cast: { to: DType };
  /**
   * the source reduced elementwise across every rank of the process group (`avg`: the sum divided by
   * the group's size, DistributedDataParallel's gradient average). Values of one `bucket` are stored
   * back to back and reduced by ONE collective, started once the last of them is computed and waited
   * for before the first kernel that reads one (runtime/manifest.ts Collective)
   */
  allreduce: { op: 'sum' | 'avg'; bucket: number };
  sum: { axes: number[] }; // reduced axes keep size 1
  rmax: { axes: number[] };
  reshape: { shape: number[] };
  permute: { order: number[] };
  expand: { shape: number[] };
  slice: { starts: number[]; steps: number[] }; // node.shape gives the extents
  pad: { before: number[] }; // zeros around the source; node.shape gives the padded extents
}

/** the argument a node of op K carries (undefined for ops that take none) */
export type ArgOf<K extends Op> = K extends keyof OpArgs ? OpArgs[K] : undefined;

export interface NodeBase {
  readonly id: number;
  readonly src: readonly Node[];
  readonly shape: Shape;
  readonly dtype: DType;
  /** The user's source line that created it, when known ("file.ts:12:5"). */
  readonly site?: string;
}
/** a node of op K (a union for a union K): checking `n.op` narrows `n.arg` to that op's argument */
export type NodeOf<K extends Op> = K extends Op ? NodeBase & { readonly op: K; readonly arg: ArgOf<K> } : never;
export type Node = NodeOf<Op>;
/** makeNode's trailing parameters: the op's argument (omitted for ops that take none), then the site */
export type ArgParams<K extends Op> =
  ArgOf<K> extends undefined ? [arg?: undefined, site?: string] : [arg: ArgOf<K>, site?: string];

let nextId = 1;
export function makeNode<K extends Op>(
  op: K,
  src: readonly Node[],
  shape: Shape,
  dtype: DType,
  ...[arg, site]: ArgParams<K>
): NodeOf<K> {
  const n = { id: nextId++, op, src, shape: Object.freeze([...shape]), dtype, arg, site };
  return Object.freeze(n) as NodeBase & { op: K; arg: unknown } as NodeOf<K>;
}

/** the argument of `n`, which must be a node of op `op` (for reads where no check of n.op narrows it) */
export function argOf<K extends Op>(n: Node, op: K): ArgOf<K> {
  if (n.op !== op) throw new Error(`expected a ${op} node, got ${n.op} (%${n.id})`);
  return n.arg as ArgOf<K>;
}

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

// categories, from the catalog's op names (compiler/ir/op-names.ts)
export const isUnary = (op: string): op is UnaryOp => categoryOf(op) === 'unary';
export const isComparison = (op: string): op is CompareOp => categoryOf(op) === 'compare';
/** two-operand elementwise ops: arithmetic, comparisons, logical and/or */
export const isBinary = (op: string): op is BinaryOp => {
  const c = categoryOf(op);
  return c === 'binary' || c === 'compare' || c === 'logical';
};
export const isReduce = (op: string): op is ReduceOp => categoryOf(op) === 'reduce';
export const isView = (op: string): op is ViewOp => categoryOf(op) === 'view';
export const isSource = (op: string): op is SourceOp => categoryOf(op) === 'source';

/** Describes one persistent state cell that a program reads or writes. */
export interface CellInfo {
  id: number;
  name: string;
  shape: number[];
  dtype: DType;
}

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
    if (i === 0 && seen.has(node.id)) {
      stack.pop();
      continue;
    }
    if (i < node.src.length) {
      top[1]++;
      const s = node.src[i];
      if (!seen.has(s.id)) stack.push([s, 0]);
    } else {
      stack.pop();
      if (!seen.has(node.id)) {
        seen.add(node.id);
        order.push(node);
      }
    }
  }
  return order;
}

export function programRoots(p: GraphProgram): Node[] {
  return [...p.outputs, ...p.updates.map((u) => u.value)];
}

function fmtArg(n: Node, cells?: Map<number, string>): string {
  if (n.arg === undefined) return '';
  switch (n.op) {
    case 'state':
      return cells?.get(n.arg.cell) ?? `cell${n.arg.cell}`;
    case 'const':
      return String(n.arg.value);
    case 'data':
      return `[${n.arg.values.length} values]`;
    case 'input':
      return `#${n.arg.index}`;
    case 'scalar':
      return `s${n.arg.slot}`;
    default:
      return JSON.stringify(n.arg).replace(/"/g, '');
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
