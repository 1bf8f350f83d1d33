// Joining and splitting tensors along a dim (PyTorch's cat, stack, split, chunk) with no new IR op:
// cat is the sum of each input zero-padded to its place along `dim`, so the scheduler sees one
// elementwise add of pads (each pad is a view: a guarded load, no copy) and fuses it into one
// kernel with its consumer; autodiff's pad rule (a slice) gives each input its part of the gradient.
// split and chunk are slices, views without copies. A method group: tensor.ts loads it.
import { KilnError, fmtShape } from './errors.js';
import { addMethods, Tensor } from './tensor-class.js';
import { normDim, promote } from './tensor-shape.js';
import { checkInt } from './view-args.js';

function checkList(op: string, tensors: unknown, empty: string): asserts tensors is Tensor[] {
  if (!Array.isArray(tensors) || tensors.some((t) => !(t instanceof Tensor))) {
    throw new KilnError(`${op}(): argument 'tensors' must be a list of Tensors`);
  }
  if (tensors.length === 0) throw new KilnError(empty);
}

/** PyTorch's `torch.cat`: the tensors joined along `dim`; all other sizes must match */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  checkList('cat', tensors, 'torch.cat(): expected a non-empty list of Tensors');
  // PyTorch 1.13 skips 1-d empty tensors (legacy behaviour) when any other input has rank > 1
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0];
  const first = parts[0];
  if (first.ndim === 0) throw new KilnError('zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normDim('cat', dim, first.ndim, first.shape);
  parts.forEach((t) => {
    if (t.ndim === 0) {
      throw new KilnError(`zero-dimensional tensor (at position ${tensors.indexOf(t)}) cannot be concatenated`);
    }
    if (t.ndim !== first.ndim) {
      throw new KilnError(`Tensors must have same number of dimensions: got ${first.ndim} and ${t.ndim}`);
    }
    const bad = t.shape.findIndex((n, j) => j !== d && n !== first.shape[j]);
    if (bad >= 0) {
      throw new KilnError(
        `Sizes of tensors must match except in dimension ${d}. Expected size ${first.shape[bad]} ` +
          `but got size ${t.shape[bad]} for tensor number ${tensors.indexOf(t)} in the list.`,
      );
    }
  });
  const dtype = parts.map((t) => t.dtype).reduce(promote);
  // bool has no add: join bools as 0/1 ints and cast back
  const as = dtype === 'bool' ? 'int32' : dtype;
  const total = parts.reduce((s, t) => s + t.shape[d], 0);
  if (parts.length === 1) return parts[0].to(dtype);
  let at = 0,
    out: Tensor | null = null;
  for (const t of parts) {
    const pads = t.shape.map((_, j): [number, number] => (j === d ? [at, total - at - t.shape[d]] : [0, 0]));
    at += t.shape[d];
    const placed = t.to(as).pad(pads);
    out = out ? out.add(placed) : placed;
  }
  return dtype === 'bool' ? out!.bool() : out!;
}

/** PyTorch's `torch.stack`: equal-shaped tensors joined along a new `dim` */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  checkList('stack', tensors, 'stack expects a non-empty TensorList');
  const first = tensors[0];
  tensors.forEach((t, i) => {
    if (t.shape.length !== first.shape.length || t.shape.some((n, j) => n !== first.shape[j])) {
      throw new KilnError(
        `stack expects each tensor to be equal size, but got ${fmtShape(first.shape)} at entry 0 ` +
          `and ${fmtShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normDim('stack', dim, first.ndim + 1);
  return cat(
    tensors.map((t) => t.unsqueeze(d)),
    d,
  );
}

/** slices of `x` along `d` of the given sizes (they sum to its size) */
function slices(x: Tensor, d: number, sizes: number[]): Tensor[] {
  let at = 0;
  return sizes.map((n) => {
    at += n;
    return x.slice(d, at - n, at);
  });
}

function splitImpl(x: Tensor, splitSizeOrSections: number | number[], dim: number): Tensor[] {
  if (x.ndim === 0) throw new KilnError('split expects at least a 1-dimensional tensor');
  const d = normDim('split', dim, x.ndim, x.shape),
    size = x.shape[d];
  if (Array.isArray(splitSizeOrSections)) {
    const sizes = splitSizeOrSections;
    sizes.forEach((n) => checkInt('split_with_sizes', 'split_sizes', n));
    const bad = sizes.find((n) => n < 0);
    if (bad !== undefined) {
      throw new KilnError(
        'split_with_sizes expects split_sizes have only non-negative entries, ' +
          `but got split_sizes=[${sizes.join(', ')}]`,
      );
    }
    if (sizes.reduce((a, b) => a + b, 0) !== size) {
      throw new KilnError(
        `split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), ` +
          `but got split_sizes=[${sizes.join(', ')}]`,
      );
    }
    return slices(x, d, sizes);
  }
  const s = splitSizeOrSections;
  checkInt('split', 'split_size', s);
  if (s < 0) throw new KilnError(`split expects split_size be non-negative, but got split_size=${s}`);
  if (s === 0 && size !== 0) {
    throw new KilnError(`split_size can only be 0 if dimension size is 0, but got dimension size of ${size}`);
  }
  // PyTorch: max(ceil(size / s), 1) parts, the last one shorter
  const count = s === 0 ? 1 : Math.max(Math.ceil(size / s), 1);
  return slices(
    x,
    d,
    Array.from({ length: count }, (_, i) => Math.max(0, Math.min(s, size - i * s))),
  );
}

const joins = {
  /** PyTorch's `split`: parts of `splitSize` (the last shorter) or of the given sizes, as views */
  split(this: Tensor, splitSizeOrSections: number | number[], dim = 0): Tensor[] {
    return splitImpl(this, splitSizeOrSections, dim);
  },
  /** PyTorch's `chunk`: parts of ceil(size / chunks), so possibly fewer than `chunks` */
  chunk(this: Tensor, chunks: number, dim = 0): Tensor[] {
    checkInt('chunk', 'chunks', chunks);
    if (this.ndim === 0) throw new KilnError('chunk expects at least a 1-dimensional tensor');
    if (chunks <= 0) throw new KilnError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
    const d = normDim('chunk', dim, this.ndim, this.shape),
      size = this.shape[d];
    // an empty dim still gives `chunks` (empty) parts, as PyTorch's split_with_sizes call does
    if (size === 0) return slices(this, d, new Array<number>(chunks).fill(0));
    return splitImpl(this, Math.ceil(size / chunks), d);
  },
};

type Joins = typeof joins;
declare module './tensor-class.js' {
  interface Tensor extends Joins {}
}
addMethods(joins);
