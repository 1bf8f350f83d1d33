// Indexing by tensors of class indices (gather, one-hot), built from iota + eq + where + sum so
// that no new IR op is needed: every target already fuses these, and autodiff's where/expand/sum
// rules give gather's scatter-add gradient for free.
import { KilnError, fmtShape } from './errors.js';
import { Tensor, arange, normDim, where } from './tensor.js';
import { checkInt } from './view-args.js';

export function movedimImpl(x: Tensor, source: number, destination: number): Tensor {
  const s = normDim('movedim', source, x.ndim, x.shape), d = normDim('movedim', destination, x.ndim, x.shape);
  const order = x.shape.map((_, i) => i).filter((i) => i !== s);
  order.splice(d, 0, s);
  return x.permute(order);
}

/** a concrete index tensor's values, to check bounds eagerly (inside a trace they are unknown) */
function concreteValues(t: Tensor): ArrayLike<number> | undefined {
  try { return t.node.op === 'data' ? (t.node.arg.values as ArrayLike<number>) : undefined; } catch { return undefined; }
}

export function gatherImpl(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('gather', dim, x.ndim, x.shape);
  if (index.dtype !== 'int32') {
    throw new KilnError(`gather(): Expected dtype int32/int64 for index, got ${index.dtype}${fmtShape(index.shape)}`);
  }
  const xs = x.shape, is = index.shape;
  if (is.length !== xs.length || is.some((n, i) => i !== d && n > xs[i])) {
    throw new KilnError(`gather(): Size does not match at dimension ${is.findIndex((n, i) => i !== d && n > xs[i])} expected index ${fmtShape(is)} to be smaller than self ${fmtShape(xs)} apart from dimension ${d}`);
  }
  const n = xs[d];
  const vals = concreteValues(index);
  if (vals) {
    for (let i = 0; i < vals.length; i++) {
      if (vals[i] < -n || vals[i] >= n) throw new KilnError(`gather(): index ${vals[i]} is out of bounds for dimension ${d} with size ${n}`);
    }
  }
  // x cut to the index's extent in the other dims, its `dim` moved last: [..., 1 at d, ..., n]
  let xc = x;
  is.forEach((m, i) => { if (i !== d && m !== xs[i]) xc = xc.slice(i, 0, m); });
  const xk = movedimImpl(xc, d, -1).unsqueeze(d);
  const full = [...is, n];
  // negative indices count from the end, as PyTorch allows
  const idx = where(index.lt(0), index.add(n), index).unsqueeze(-1);
  const k = arange(n).reshape([...is.map(() => 1), n]);
  const mask = k.eq(idx.expand(full));
  return where(mask, xk.expand(full), 0).sum(-1);
}

/** PyTorch's `F.one_hot`: int32 [..., numClasses] with a 1 at each index */
export function oneHot(index: Tensor, numClasses = -1): Tensor {
  if (index.dtype !== 'int32') throw new KilnError(`one_hot: one_hot is only applicable to index tensor, got ${index.dtype}${fmtShape(index.shape)}`);
  checkInt('one_hot', 'num_classes', numClasses, 2);
  let c = numClasses;
  const vals = concreteValues(index);
  if (c < 0) {
    if (!vals) throw new KilnError(`one_hot: numClasses must be given inside compile() (index shape ${fmtShape(index.shape)})`);
    c = vals.length ? Math.max(...Array.from(vals)) + 1 : 0;
  }
  if (vals && Array.from(vals).some((v) => v < 0 || v >= c)) throw new KilnError(`one_hot: Class values must be smaller than num_classes (${c}) and non-negative; index shape ${fmtShape(index.shape)}`);
  return arange(c).reshape([...index.shape.map(() => 1), c]).eq(index.unsqueeze(-1)).int();
}
