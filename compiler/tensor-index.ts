// Indexing by tensors of class indices (gather, one-hot), built from iota + eq + where + sum so
// that no new IR op is needed: every target already fuses these, and autodiff's where/expand/sum
// rules give gather's scatter-add gradient for free. Tensor's gather and movedim are a method group:
// tensor.ts loads it (see tensor-class.ts's addMethods).
import { outOfBoundsMessage, type IndexBound } from '../runtime/index-bounds.js';
import { evaluateNodes } from '../targets/reference/graph.js';
import { KilnError, fmtShape, userSite } from './errors.js';
import { argOf, numel, toposort } from './ir/graph.js';
import { addMethods, type Tensor } from './tensor-class.js';
import { arange, where } from './tensor-create.js';
import { normDim } from './tensor-shape.js';
import { currentTrace } from './trace-context.js';
import { checkInt } from './view-args.js';

function movedimImpl(x: Tensor, source: number, destination: number): Tensor {
  const s = normDim('movedim', source, x.ndim, x.shape),
    d = normDim('movedim', destination, x.ndim, x.shape);
  const order = x.shape.map((_, i) => i).filter((i) => i !== s);
  order.splice(d, 0, s);
  return x.permute(order);
}

const INDEX_VIEWS = new Set(['reshape', 'permute', 'expand', 'slice']);

/**
 * The values of an index tensor when tracing can know them: literals, views and arithmetic of
 * them, constants a trace captured. Undefined when they depend on an input, state or host scalar.
 */
function knownValues(t: Tensor): ArrayLike<number> | undefined {
  const trace = currentTrace();
  const constants = new Map<number, Float32Array | Int32Array>();
  for (const cell of trace?.constants.values() ?? []) constants.set(cell.id, cell.data);
  const nodes = toposort([t.node]);
  if (nodes.some((n) => n.op === 'input' || n.op === 'scalar' || (n.op === 'state' && !constants.has(n.arg.cell)))) {
    return undefined;
  }
  return evaluateNodes([t.node], (n) => constants.get(argOf(n, 'state').cell)!)[0];
}

/** the traced input an index tensor is a view of, and which of its elements the view uses */
function inputSource(t: Tensor): { input: number; elements?: number[] } | undefined {
  let n = t.node,
    sliced = false;
  while (INDEX_VIEWS.has(n.op)) {
    sliced ||= n.op === 'slice';
    n = n.src[0];
  }
  if (n.op !== 'input') return undefined;
  const input = n.arg.index;
  if (!sliced) return { input };
  // the view applied to the input's element positions says which elements it reads
  const positions = Int32Array.from({ length: numel(n.shape) }, (_, i) => i);
  const used = evaluateNodes([t.node], () => positions)[0];
  return { input, elements: [...new Set(used)].sort((a, b) => a - b) };
}

/**
 * Checks class/gather indices against 0..size-1 (`ignore` allowed), PyTorch's checks: at once when
 * their values are known, else, for a view of a traced input, on the host before every run
 * (runtime/index-bounds.ts). Indices computed on the device need no check to stay in memory:
 * gather and one_hot compare them with iota, so one out of range selects nothing.
 */
export function checkIndices(index: Tensor, rule: Pick<IndexBound, 'kind' | 'size' | 'ignore' | 'dim'>): void {
  const vals = knownValues(index);
  if (vals) {
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if ((v < 0 || v >= rule.size) && v !== rule.ignore) throw new KilnError(outOfBoundsMessage(rule, v));
    }
    return;
  }
  const trace = currentTrace(),
    source = inputSource(index);
  if (trace && source) trace.indexBounds.push({ ...rule, ...source, site: userSite() });
}

function gatherImpl(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('gather', dim, x.ndim, x.shape);
  if (index.dtype !== 'int32') {
    throw new KilnError(`gather(): Expected dtype int32/int64 for index, got ${index.dtype}${fmtShape(index.shape)}`);
  }
  const xs = x.shape,
    is = index.shape;
  if (is.length !== xs.length || is.some((n, i) => i !== d && n > xs[i])) {
    throw new KilnError(
      `gather(): Size does not match at dimension ${is.findIndex((n, i) => i !== d && n > xs[i])} ` +
        `expected index ${fmtShape(is)} to be smaller than self ${fmtShape(xs)} apart from dimension ${d}`,
    );
  }
  const n = xs[d];
  checkIndices(index, { kind: 'gather', size: n, dim: d });
  // x cut to the index's extent in the other dims, its `dim` moved last: [..., 1 at d, ..., n]
  let xc = x;
  is.forEach((m, i) => {
    if (i !== d && m !== xs[i]) xc = xc.slice(i, 0, m);
  });
  const xk = movedimImpl(xc, d, -1).unsqueeze(d);
  const full = [...is, n];
  // an index outside 0..n-1 (PyTorch rejects negatives too) matches no k: it selects nothing
  const idx = index.unsqueeze(-1);
  const k = arange(n).reshape([...is.map(() => 1), n]);
  const mask = k.eq(idx.expand(full));
  return where(mask, xk.expand(full), 0).sum(-1);
}

/**
 * PyTorch's `index_select`: the slices of `x` along `dim` at the (1-d or 0-d) int `index`,
 * duplicates included. out[.., k, ..] = sum_j where(j == index[k], x[.., j, ..], 0) over a new axis
 * after `dim`: an iota compare and a reduction that fuse, and whose autodiff (where, expand, sum)
 * is PyTorch's index_add gradient, duplicates accumulating.
 */
function indexSelectImpl(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('index_select', dim, x.ndim, x.shape);
  if (index.ndim > 1) throw new KilnError('index_select(): Index is supposed to be a vector');
  if (index.dtype !== 'int32') throw new KilnError('index_select(): Expected dtype int32 or int64 for index');
  // a 0-d x is one element along dim 0: PyTorch returns it (0-d) for any valid index
  const n = x.ndim === 0 ? 1 : x.shape[d];
  checkIndices(index, { kind: 'index_select', size: n });
  if (x.ndim === 0) return x.clone();
  // bool has no sum: select bools as 0/1 ints and cast back
  if (x.dtype === 'bool') return indexSelectImpl(x.int(), d, index).bool();
  const m = index.numel(),
    xs = x.shape;
  const full = [...xs.slice(0, d), m, n, ...xs.slice(d + 1)];
  const lead = xs.slice(0, d).map(() => 1),
    trail = xs.slice(d + 1).map(() => 1);
  const mask = index
    .reshape([m, 1])
    .eq(arange(n).reshape([1, n]))
    .reshape([...lead, m, n, ...trail]);
  return where(mask.expand(full), x.unsqueeze(d).expand(full), 0).sum(d + 1);
}

/** PyTorch's `F.one_hot`: int32 [..., numClasses] with a 1 at each index */
export function oneHot(index: Tensor, numClasses = -1): Tensor {
  if (index.dtype !== 'int32') {
    throw new KilnError(
      'one_hot: one_hot is only applicable to index tensor, ' + `got ${index.dtype}${fmtShape(index.shape)}`,
    );
  }
  checkInt('one_hot', 'num_classes', numClasses, 2);
  let c = numClasses;
  if (c < 0) {
    const vals = knownValues(index);
    if (!vals) {
      throw new KilnError(`one_hot: numClasses must be given inside compile() (index shape ${fmtShape(index.shape)})`);
    }
    c = vals.length ? Math.max(0, ...Array.from(vals)) + 1 : 0;
  }
  checkIndices(index, { kind: 'one_hot', size: c });
  return arange(c)
    .reshape([...index.shape.map(() => 1), c])
    .eq(index.unsqueeze(-1))
    .int();
}

const indexing = {
  /** PyTorch's `gather`: out[i][j] = x[i][index[i][j]] along `dim` */
  gather(this: Tensor, dim: number, index: Tensor): Tensor {
    return gatherImpl(this, dim, index);
  },
  /** PyTorch's `index_select`: the slices at `index` (an int tensor, 1-d) along `dim` */
  indexSelect(this: Tensor, dim: number, index: Tensor): Tensor {
    return indexSelectImpl(this, dim, index);
  },
  movedim(this: Tensor, source: number, destination: number): Tensor {
    return movedimImpl(this, source, destination);
  },
};

type Indexing = typeof indexing;
declare module './tensor-class.js' {
  interface Tensor extends Indexing {}
}
addMethods(indexing);

/** PyTorch's `torch.index_select(input, dim, index)` */
export function indexSelect(input: Tensor, dim: number, index: Tensor): Tensor {
  return indexSelectImpl(input, dim, index);
}
