// Tensor's vector norms (PyTorch's `norm(p, dim, keepdim)`) as composites of abs, pow and the
// reductions, each with PyTorch 1.13's own backward (linalg_vector_norm_backward): autodiff of the
// composite would give NaN where PyTorch gives 0 (sqrt's derivative at a zero norm, |x|^(p-1) at
// x = 0). A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { KilnError } from './errors.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { where } from './tensor-create.js';
import { withVjp } from './tensor-grad.js';
import { normDim } from './tensor-shape.js';

/** p as PyTorch's norm takes it: a number (Infinity, -Infinity and 0 included) or 'fro' */
export type NormOrder = number | 'fro' | 'nuc';

function axesOf(x: Tensor, dim: number | number[] | undefined): number[] {
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return x.shape.map((_, i) => i);
  const axes = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim('norm', d, x.ndim, x.shape));
  return x.ndim === 0 ? [] : axes;
}

function normImpl(x: Tensor, p: NormOrder, dim: number | number[] | undefined, keepdim: boolean): Tensor {
  if (typeof p === 'string' && p !== 'fro' && p !== 'nuc') {
    throw new KilnError(`only valid string values are 'fro' and 'nuc', found ${p}`);
  }
  if (p === 'nuc') throw new KilnError("norm: p='nuc' (the nuclear norm, an SVD) is not supported by kiln");
  if (typeof p !== 'number' && typeof p !== 'string') {
    throw new KilnError(`norm: p must be a number or 'fro', got ${String(p)}`);
  }
  if (x.dtype !== 'float32') {
    throw new KilnError(`norm(): input dtype should be either floating point or complex. Got ${x.dtype} instead.`);
  }
  const dims = axesOf(x, dim);
  if (p === 'fro' && dim !== undefined && dims.length > 2) {
    throw new KilnError(`Expected at most 2 dimensions, but got ${dims.length} dimensions instead.`);
  }
  const order = p === 'fro' ? 2 : p;
  // the reduced dims kept at size 1: the shape the backward broadcasts the norm and gradient in
  const kept = x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const a = x.abs();
  if (order === 0) return a.detach().ne(0).float().sum(dims, keepdim); // a count: no gradient (PyTorch's)
  if (order === Infinity || order === -Infinity) {
    const out = order > 0 ? a.amax(dims, keepdim) : a.amin(dims, keepdim);
    // the gradient shared among the elements reaching the norm (or NaN), as PyTorch's
    return withVjp(out, [x], (g) => {
      const self = x.detach(),
        abs = self.abs();
      const mask = abs.eq(out.detach().reshape(kept)).logicalOr(abs.ne(abs));
      const share = g.reshape(kept).div(mask.float().sum(dims, true));
      return [self.sign().mul(share).mul(mask.float())];
    });
  }
  const out =
    order === 2
      ? x.mul(x).sum(dims, keepdim).sqrt()
      : a
          .pow(order)
          .sum(dims, keepdim)
          .pow(1 / order);
  return withVjp(out, [x], (g) => {
    const self = x.detach(),
      abs = self.abs(),
      norm = out.detach().reshape(kept),
      gk = g.reshape(kept);
    if (order === 1) return [self.sign().mul(gk)];
    // g / norm^(p-1), 0 where the norm is 0 (PyTorch's masked_fill_(norm == 0, 0))
    const scale = (v: Tensor) => where(norm.eq(0), 0, v);
    if (order === 2) return [self.mul(scale(gk.div(norm)))];
    if (order < 1) {
      const scaled = where(self.eq(0), 0, self.sign().mul(abs.pow(order - 1)));
      return [scaled.mul(gk).mul(norm.pow(1 - order))];
    }
    const scaled = order < 2 ? self.sign().mul(abs.pow(order - 1)) : self.mul(abs.pow(order - 2));
    return [scaled.mul(scale(gk.div(norm.pow(order - 1))))];
  });
}

const norms = {
  /**
   * PyTorch's `norm(p='fro', dim=None, keepdim=False)`: the vector p-norm over `dim` (all elements
   * without one); p a number (1, 2, 3, Infinity: max |x|, -Infinity: min |x|, 0: count of non-zeros)
   * or 'fro' (2, over at most 2 dims when they are named)
   */
  norm(this: Tensor, p: NormOrder = 'fro', dim?: number | number[], keepdim = false): Tensor {
    return normImpl(this, p, dim, keepdim);
  },
};

/** PyTorch's `torch.norm(input, p='fro', dim=None, keepdim=False)` */
export function norm(input: Tensor, p: NormOrder = 'fro', dim?: number | number[], keepdim = false): Tensor {
  return normImpl(input, p, dim, keepdim);
}

type Norms = typeof norms;
declare module './tensor-class.js' {
  interface Tensor extends Norms {}
}
addMethods(norms);
