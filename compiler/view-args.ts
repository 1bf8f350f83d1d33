// Arguments of ops (sizes, dims, indices, bounds), checked as PyTorch checks them: JS has one
// number type, so a 2.5 or a NaN would otherwise become a shape and be built and run. The messages
// are PyTorch's (a JS number that is not an integer is Python's float).
import { KilnError, fmtShape } from './errors.js';

/** the Python type PyTorch's messages would name for `v` */
export function pyType(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return typeof v;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** `unsqueeze(): argument 'dim' (position 1) must be int, not float` */
export function checkInt(op: string, name: string, v: unknown, position?: number): asserts v is number {
  if (!isInt(v)) {
    const at = position === undefined ? '' : ` (position ${position})`;
    throw new KilnError(`${op}(): argument '${name}'${at} must be int, not ${pyType(v)}`);
  }
}

/** `expand(): argument 'size' must be tuple of ints, but found element of type float at pos 2` */
export function checkInts(op: string, name: string, values: unknown): asserts values is number[] {
  const what = `${op}(): argument '${name}' must be tuple of ints`;
  if (!Array.isArray(values)) throw new KilnError(`${what}, not ${pyType(values)}`);
  const bad = values.findIndex((v) => !isInt(v));
  if (bad >= 0) throw new KilnError(`${what}, but found element of type ${pyType(values[bad])} at pos ${bad}`);
}

/** a shape to create a tensor of: integers, none negative (PyTorch's factories' message) */
export function checkSize(op: string, shape: unknown): asserts shape is number[] {
  checkInts(op, 'size', shape);
  const neg = shape.find((d) => d < 0);
  if (neg !== undefined) {
    throw new KilnError(`Trying to create tensor with negative dimension ${neg}: ${fmtShape(shape)}`);
  }
}

/** Python's slice bounds: integers or None (undefined) */
export function checkSliceIndex(v: unknown): void {
  if (v !== undefined && v !== null && !isInt(v)) {
    throw new KilnError('slice indices must be integers or None or have an __index__ method');
  }
}

/** expand's result shape for `want` (-1 keeps a size), with PyTorch's checks (infer_expand_geometry) */
export function expandedShape(src: readonly number[], want: unknown): number[] {
  checkInts('expand', 'size', want);
  if (want.length < src.length) {
    throw new KilnError(
      `expand: the number of sizes provided (${want.length}) must be greater or equal to ` +
        `the number of dimensions in the tensor (${src.length})`,
    );
  }
  const lead = want.length - src.length;
  return want.map((d, i) => {
    if (i < lead) {
      if (d < 0) {
        const why = `isn't allowed in a leading, non-existing dimension ${i}`;
        throw new KilnError(`expand: The expanded size of the tensor (${d}) ${why}`);
      }
      return d;
    }
    const s = src[i - lead];
    if (d === -1 || d === s) return s;
    if (s !== 1) {
      throw new KilnError(
        `expand: The expanded size of the tensor (${d}) must match the existing size (${s}) at ` +
          `non-singleton dimension ${i}.  Target sizes: ${fmtShape(want)}.  Tensor sizes: ${fmtShape(src)}`,
      );
    }
    if (d < 0) throw new KilnError(`Trying to create tensor with negative dimension ${d}: ${fmtShape(want)}`);
    return d;
  });
}

/** narrow's start in [0, size] along a dim of `size`, with PyTorch's checks */
export function narrowStart(size: number, start: unknown, length: unknown): number {
  checkInt('narrow', 'start', start, 2);
  checkInt('narrow', 'length', length, 3);
  if (start < -size || start > size) {
    throw new KilnError(`start out of range (expected to be in range of [${-size}, ${size}], but got ${start})`);
  }
  const s = start < 0 ? start + size : start;
  if (length < 0) throw new KilnError('narrow(): length must be non-negative.');
  if (s > size - length) throw new KilnError(`start (${s}) + length (${length}) exceeds dimension size (${size}).`);
  return s;
}

/** select's index in [0, shape[dim]), with PyTorch's checks */
export function selectIndex(shape: readonly number[], dim: number, index: unknown): number {
  checkInt('select', 'index', index, 2);
  const n = shape[dim];
  if (index < -n || index >= n) {
    const size = fmtShape(shape);
    throw new KilnError(`select(): index ${index} out of range for tensor of size ${size} at dimension ${dim}`);
  }
  return index < 0 ? index + n : index;
}

/**
 * `want` with its one -1 (if any) replaced so that the sizes multiply to `n`, as PyTorch's
 * infer_size does for reshape and unflatten; null when no such shape exists (two -1s, a size that
 * does not divide, a negative size)
 */
export function inferSize(want: readonly number[], n: number): number[] | null {
  const infer = want.indexOf(-1);
  if (infer >= 0 && want.lastIndexOf(-1) !== infer) return null;
  const known = want.reduce((a, b) => (b === -1 ? a : a * b), 1);
  const out = want.map((d) => (d === -1 ? n / known : d));
  const product = out.reduce((a, b) => a * b, 1);
  return product === n && out.every((d) => Number.isInteger(d) && d >= 0) ? out : null;
}
