// Shape and dtype rules every tensor op shares: broadcasting, dim wrapping, dtype promotion
// (PyTorch's rules and error messages). Pure functions of shapes and dtypes, below the Tensor class.
import type { DType, Shape } from './ir/graph.js';
import { KilnError, fmtShape } from './errors.js';
import { checkInt } from './view-args.js';

export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1,
      y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new KilnError(
        `${op}: The size of tensor a (${x}) must match the size of tensor b (${y}) ` +
          `at non-singleton dimension ${i}; shapes ${fmtShape(a)} and ${fmtShape(b)}`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function normDim(op: string, dim: number, rank: number, shape?: Shape): number {
  checkInt(op, 'dim', dim);
  const d = dim < 0 ? dim + Math.max(rank, 1) : dim; // a 0-d tensor takes dim 0 and -1, as PyTorch's
  if (!Number.isInteger(dim) || d < 0 || d >= Math.max(rank, 1)) {
    const of = shape ? ` for a tensor of shape ${fmtShape(shape)}` : '';
    throw new KilnError(
      `${op}: Dimension out of range ` +
        `(expected to be in range of [${-Math.max(rank, 1)}, ${Math.max(rank, 1) - 1}], but got ${dim})${of}`,
    );
  }
  return d;
}

/** the dtype two operands are computed in: float32 over int32 over bool */
export const promote = (a: DType, b: DType): DType =>
  a === 'float32' || b === 'float32' ? 'float32' : a === 'int32' || b === 'int32' ? 'int32' : 'bool';
