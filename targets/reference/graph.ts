// The reference target: an interpreter of the graph IR over typed arrays. Plain and obviously
// right, one dense array per node, float32 rounding after every op as a float32 device does
// (elementwise ops compute the op catalog's scalar semantics, compiler/ir/ops.ts; sums
// accumulate in float32 as compiler/ir/accumulate.ts says).
// Every other target is compared with it.
import type { DType, Node, NodeOf } from '../../compiler/ir/graph.js';
import { isUnary, numel, toposort } from '../../compiler/ir/graph.js';
import { OPS, scalarFn } from '../../compiler/ir/ops.js';
import { randomAt } from './philox.js';
import { cascadeSum } from '../../compiler/ir/accumulate.js';
import { allReduceInPlace, collectiveGroup } from '../../runtime/distributed/group.js';

export type Values = Float32Array | Int32Array | Uint8Array;

export function alloc(dtype: DType, n: number): Values {
  return dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
}

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

/** Calls fn(flatIndex, multiIndex) for every element of `shape`, row-major. */
function forEachIndex(shape: readonly number[], fn: (flat: number, idx: number[]) => void): void {
  const n = numel(shape);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    fn(f, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Evaluates one node given its sources' values. Sources are looked up in `env`. */
export function evalNode(n: Node, src: Values[], env: (n: Node) => Values): Values {
  const out = alloc(n.dtype, numel(n.shape));
  switch (n.op) {
    case 'input':
    case 'state':
    case 'scalar': {
      const v = env(n);
      if (n.op === 'scalar') out.fill(v[0]);
      else out.set(v);
      return out;
    }
    case 'data':
      out.set(n.arg.values);
      return out;
    case 'const':
      out.fill(n.arg.value);
      return out;
    case 'iota': {
      const st = stridesOf(n.shape);
      forEachIndex(n.shape, (f, idx) => {
        out[f] = idx[n.arg.axis];
        void st;
      });
      return out;
    }
    case 'cast': {
      const x = src[0],
        to: DType = n.arg.to;
      for (let i = 0; i < out.length; i++) {
        out[i] = to === 'bool' ? +(x[i] !== 0) : to === 'int32' ? Math.trunc(x[i]) : x[i];
      }
      return out;
    }
    case 'fma': {
      const [a, b, c] = src,
        fma = OPS.fma.scalar.f32;
      for (let i = 0; i < out.length; i++) out[i] = fma(a[i], b[i], c[i]);
      return out;
    }
    case 'random': {
      const pieces = src.map((v) => v[0]);
      for (let i = 0; i < out.length; i++) out[i] = randomAt(n.arg.dist, i, n.arg.draw, pieces);
      return out;
    }
    case 'allreduce':
      // one collective per value (a compiled program reduces a bucket at once: the same sums)
      out.set(src[0]);
      allReduceInPlace(collectiveGroup(), out as Float32Array, n.arg.op); // allreduce nodes are float32
      return out;
    case 'where': {
      const [c, a, b] = src;
      for (let i = 0; i < out.length; i++) out[i] = c[i] ? a[i] : b[i];
      return out;
    }
    case 'sum':
    case 'rmax': {
      if (n.op === 'sum' && n.dtype === 'float32') return sumFloat32(n, src[0], out as Float32Array);
      const x = src[0],
        xs = n.src[0].shape,
        axes: number[] = n.arg.axes;
      const acc = new Float64Array(out.length).fill(n.op === 'sum' ? 0 : -Infinity);
      // the catalog's max (NaN wins, the first operand on a tie of -0 and +0), as every kernel's
      const max = scalarFn('max', n.dtype !== 'float32');
      const ost = stridesOf(n.shape);
      forEachIndex(xs, (f, idx) => {
        let o = 0;
        for (let d = 0; d < idx.length; d++) if (!axes.includes(d)) o += idx[d] * ost[d];
        acc[o] = n.op === 'sum' ? acc[o] + x[f] : max(acc[o], x[f]);
      });
      out.set(acc);
      return out;
    }
    case 'reshape':
      out.set(src[0]);
      return out;
    case 'permute':
    case 'expand':
    case 'slice':
    case 'pad': {
      const x = src[0],
        xs = n.src[0].shape,
        xst = stridesOf(xs);
      forEachIndex(n.shape, (f, idx) => {
        let o = 0;
        for (let d = 0; d < idx.length; d++) {
          let i: number;
          if (n.op === 'permute') {
            o += idx[d] * xst[n.arg.order[d]];
            continue;
          }
          if (n.op === 'expand') i = xs[d] === 1 ? 0 : idx[d];
          else if (n.op === 'slice') i = n.arg.starts[d] + idx[d] * n.arg.steps[d];
          else {
            i = idx[d] - n.arg.before[d];
            if (i < 0 || i >= xs[d]) {
              o = -1;
              break;
            }
          }
          o += i * xst[d];
        }
        out[f] = o < 0 ? 0 : x[o];
      });
      return out;
    }
    default: {
      // an elementwise op: the catalog's scalar semantics for its operands' dtype
      const f = scalarFn(n.op, n.src[0].dtype !== 'float32');
      if (isUnary(n.op)) {
        const x = src[0];
        for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
        return out;
      }
      const [a, b] = src;
      for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
      return out;
    }
  }
}

/**
 * A float32 sum as every target computes it (compiler/ir/accumulate.ts): per output element, the
 * terms in the kernel's loop order (the reduced axes in `arg.axes` order, the first outermost),
 * added in float32 as a cascade.
 */
function sumFloat32(n: NodeOf<'sum'>, x: Values, out: Float32Array): Float32Array {
  const xs = n.src[0].shape,
    xst = stridesOf(xs);
  const axes = n.arg.axes.filter((a) => xs[a] !== 1); // a size-0 axis: no terms
  const ext = axes.map((a) => xs[a]),
    st = axes.map((a) => xst[a]);
  forEachIndex(n.shape, (f, idx) => {
    let base = 0;
    for (let d = 0; d < idx.length; d++) base += idx[d] * xst[d];
    const term =
      axes.length === 1
        ? (r: number) => x[base + r * st[0]]
        : (r: number) => {
            let off = base;
            for (let j = ext.length - 1; j >= 0; j--) {
              off += (r % ext[j]) * st[j];
              r = Math.floor(r / ext[j]);
            }
            return x[off];
          };
    out[f] = cascadeSum(0, ext, term);
  });
  return out;
}

/** Evaluates `roots` (and everything they depend on); sources come from `env`. */
export function evaluateNodes(
  roots: readonly Node[],
  env: (n: Node) => Values,
  cache = new Map<number, Values>(),
): Values[] {
  for (const n of toposort(roots)) {
    if (cache.has(n.id)) continue;
    cache.set(
      n.id,
      evalNode(
        n,
        n.src.map((s) => cache.get(s.id)!),
        env,
      ),
    );
  }
  return roots.map((r) => cache.get(r.id)!);
}

const eagerCache = new WeakMap<Node, Values>();
/** Eager value of a node built outside any trace (only data/const/iota sources). */
export function evaluate(node: Node): Values {
  const hit = eagerCache.get(node);
  if (hit) return hit;
  const order = toposort([node]);
  const local = new Map<number, Values>();
  for (const n of order) {
    const cached = eagerCache.get(n);
    if (cached) {
      local.set(n.id, cached);
      continue;
    }
    const v = evalNode(
      n,
      n.src.map((s) => local.get(s.id)!),
      (s) => {
        throw new Error(`this tensor depends on a ${s.op} that only exists inside compile()`);
      },
    );
    local.set(n.id, v);
  }
  const v = local.get(node.id)!;
  eagerCache.set(node, v);
  return v;
}
