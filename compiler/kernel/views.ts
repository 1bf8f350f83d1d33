// Views as index maps: a chain of reshape/permute/expand/slice/pad over a node becomes one
// index vector into the first non-view source, built with the index algebra (never a copy).
import type { Node } from '../ir/graph.js';
import { isView } from '../ir/graph.js';
import type { Ix } from './index-algebra.js';
import { add, addc, flatten, ixConst, mul, range, unflatten, win } from './index-algebra.js';

/** lo <= ix < hi must hold for the element to exist (pad); otherwise the value is 0 */
export interface Bound {
  ix: Ix;
  lo: number;
  hi: number;
}
export interface Access {
  node: Node;
  idx: Ix[];
  bounds: Bound[];
}

/** maps an index into `n` (rank n.shape.length) through one view step to an index into n.src[0] */
export function viewStep(n: Node, idx: readonly Ix[], bounds: Bound[]): Ix[] {
  const src = n.src[0],
    ss = src.shape;
  switch (n.op) {
    case 'reshape':
      return unflatten(flatten(idx, n.shape), ss);
    case 'permute': {
      const out = new Array<Ix>(ss.length);
      n.arg.order.forEach((o, i) => {
        out[o] = idx[i];
      });
      return out;
    }
    case 'expand': {
      const lead = n.shape.length - ss.length; // PyTorch-style leading new dims
      return ss.map((s, d) => (s === 1 && n.shape[d + lead] !== 1 ? ixConst(0) : idx[d + lead]));
    }
    case 'slice':
      return idx.map((x, d) => addc(mul(x, n.arg.steps[d]), n.arg.starts[d]));
    case 'pad':
      return idx.map((x, d) => {
        const y = addc(x, -n.arg.before[d]);
        const [lo, hi] = range(y);
        if (lo >= 0 && hi < ss[d]) return y;
        // the source is read only where the bound holds: there y is in [0, ss[d]), which lets the views below
        // fold their floor and mod (the bound itself keeps y, over every point)
        bounds.push({ ix: y, lo: 0, hi: ss[d] });
        return win(y, ss[d]);
      });
  }
  throw new Error(`viewStep: ${n.op} is not a view`);
}

/** follows views from `n` down to a non-view node (or until `stop` says a node is materialized) */
export function throughViews(n: Node, idx: readonly Ix[], stop: (n: Node) => boolean = () => false): Access {
  const bounds: Bound[] = [];
  let cur = n,
    ix = [...idx];
  while (isView(cur.op) && !stop(cur)) {
    ix = viewStep(cur, ix, bounds);
    cur = cur.src[0];
  }
  return { node: cur, idx: ix, bounds };
}

/** an operand of a different shape than its user is broadcast right-aligned (defensive) */
export function broadcastIdx(idx: readonly Ix[], from: readonly number[], to: readonly number[]): Ix[] {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return [...idx];
  const lead = from.length - to.length;
  return to.map((s, d) => (s === 1 ? ixConst(0) : idx[d + lead]));
}

export const sameIx = (a: Ix, b: Ix) =>
  a.c === b.c && a.terms.length === b.terms.length && add(a, mul(b, -1)).terms.length === 0;
