// Tensor's masking ops (PyTorch's masked_fill, tril, triu, cumsum) as `where` over a mask: the
// triangles' masks are iota comparisons, so no mask tensor is stored and the scheduler fuses the
// select into its neighbours; autodiff's where rule gives the gradient (zero where filled).
// cumsum is a triangular masked sum: out[i] = sum over j <= i of x[j], an index map (expand) over
// the input feeding one reduction. Its n^2 work fuses into one kernel, and each output is a plain
// sum of at most n terms (for n <= 64 within PyTorch's sequential sum's rounding); autodiff of
// expand/where/sum is the reverse cumsum PyTorch's backward is.
// A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError, fmtShape } from './errors.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { arange, where } from './tensor-create.js';
import { normDim } from './tensor-shape.js';
import { checkInt } from './view-args.js';

/** x where col - row is on the kept side of `diagonal` (over the last two dims), else 0 */
function triangle(name: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  checkInt(name, 'diagonal', diagonal);
  if (x.ndim < 2) throw new KilnError(`${name}: input tensor must have at least 2 dimensions`);
  const [rows, cols] = x.shape.slice(-2);
  const col = arange(cols).reshape([1, cols]),
    rowPlusDiagonal = arange(rows).reshape([rows, 1]).add(diagonal);
  const keep = name === 'tril' ? col.le(rowPlusDiagonal) : col.ge(rowPlusDiagonal);
  return where(keep, x, 0);
}

/** PyTorch's cumsum along `dim`: sum_j where(j <= i, x[.., j, ..], 0) over a new axis j after dim */
function cumsumImpl(input: Tensor, dim: number): Tensor {
  const d = normDim('cumsum', dim, input.ndim, input.shape);
  // PyTorch's cumsum of ints and bools is an integer sum
  const x = input.dtype === 'bool' ? input.int() : input;
  if (x.ndim === 0) return x.clone();
  const n = x.shape[d],
    lead = x.shape.slice(0, d).map(() => 1),
    trail = x.shape.slice(d + 1).map(() => 1);
  const full = [...x.shape.slice(0, d), n, n, ...x.shape.slice(d + 1)];
  const upTo = arange(n)
    .reshape([1, n])
    .le(arange(n).reshape([n, 1]))
    .reshape([...lead, n, n, ...trail]);
  return where(upTo.expand(full), x.unsqueeze(d).expand(full), 0).sum(d + 1);
}

const masks = {
  /** PyTorch's `masked_fill`: `value` where the (broadcast) bool mask is true */
  maskedFill(this: Tensor, mask: Tensor, value: number | Tensor): Tensor {
    if (mask.dtype !== 'bool') {
      throw new KilnError(`masked_fill_ only supports boolean masks, but got mask with dtype ${mask.dtype}`);
    }
    if (typeof value !== 'number' && value.ndim !== 0) {
      throw new KilnError(
        'masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ' +
          `${value.ndim} dimension(s) ${fmtShape(value.shape)}.`,
      );
    }
    const v = typeof value === 'number' ? value : value.to(this.dtype);
    return where(mask, v, this).to(this.dtype);
  },
  /** PyTorch's `tril`: the lower triangle (col - row <= diagonal) of the last two dims */
  tril(this: Tensor, diagonal = 0): Tensor {
    return triangle('tril', this, diagonal);
  },
  /** PyTorch's `triu`: the upper triangle (col - row >= diagonal) of the last two dims */
  triu(this: Tensor, diagonal = 0): Tensor {
    return triangle('triu', this, diagonal);
  },
  /** PyTorch's `cumsum`: out[.., i, ..] = the sum of x[.., j, ..] over j <= i along `dim` */
  cumsum(this: Tensor, dim: number): Tensor {
    return cumsumImpl(this, dim);
  },
};

type Masks = typeof masks;
declare module './tensor-class.js' {
  interface Tensor extends Masks {}
}
addMethods(masks);

/** PyTorch's `torch.cumsum(input, dim)` */
export function cumsum(input: Tensor, dim: number): Tensor {
  return cumsumImpl(input, dim);
}
