// Tensor's masking ops (PyTorch's masked_fill, tril, triu) as `where` over a mask: the triangles'
// masks are iota comparisons, so no mask tensor is stored and the scheduler fuses the select into
// its neighbours; autodiff's where rule gives the gradient (zero where filled).
// A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError, fmtShape } from './errors.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { arange, where } from './tensor-create.js';
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
};

type Masks = typeof masks;
declare module './tensor-class.js' {
  interface Tensor extends Masks {}
}
addMethods(masks);
