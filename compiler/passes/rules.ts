// Algebraic simplification and constant folding as one table of declarative rules. Each rule
// looks at one node (whose sources are already simplified) and returns a replacement or
// undefined. Rules never change a node's shape or dtype, and never drop a NaN: x*0 is not 0.
import type { DType, Node } from '../ir/graph.js';
import { argOf, isBinary, isUnary, isView, makeNode, numel } from '../ir/graph.js';
import { OPS, scalarFn, type ElementwiseOp } from '../ir/ops.js';
import { rewriteProgram } from './rewrite.js';
import type { GraphProgram } from '../ir/graph.js';

export interface Rule {
  name: string;
  doc: string;
  apply: (n: Node) => Node | undefined;
}

/** the value of a node that is constant everywhere (a const, or a view of one other than pad) */
export function constOf(n: Node): number | undefined {
  if (n.op === 'const') return n.arg.value;
  if (n.op === 'data' && n.arg.values.length === 1) return n.arg.values[0];
  if (isView(n.op) && n.op !== 'pad') return constOf(n.src[0]);
  return undefined;
}
const round = (d: DType, v: number) =>
  d === 'float32' ? Math.fround(v) : d === 'int32' ? Math.trunc(v) | 0 : +(v !== 0);
const konst = (n: Node, v: number) => makeNode('const', [], n.shape, n.dtype, { value: round(n.dtype, v) }, n.site);
const same = (a: Node, n: Node) =>
  a.dtype === n.dtype && a.shape.length === n.shape.length && a.shape.every((d, i) => d === n.shape[i]);
/** returns `a` in place of `n` when it is interchangeable with it */
const keep = (a: Node, n: Node) => (same(a, n) ? a : undefined);
const isConst = (n: Node, v: number) => constOf(n) === v;

/** `op`'s identity element `e` on either side: x op e = e op x = x (when that keeps x's shape and dtype) */
function identity(name: string, op: 'add' | 'mul', e: number): Rule {
  return {
    name,
    doc: `x ${op === 'add' ? '+' : '*'} ${e} = ${e} ${op === 'add' ? '+' : '*'} x = x`,
    apply: (n) => {
      if (n.op !== op) return undefined;
      if (isConst(n.src[1], e)) return keep(n.src[0], n);
      return isConst(n.src[0], e) ? keep(n.src[1], n) : undefined;
    },
  };
}

/** the op catalog's scalar function of elementwise `op` over the sources of `n` */
const scalarOf = (op: ElementwiseOp, n: Node) => scalarFn(op, n.src[0].dtype !== 'float32');

export const RULES: Rule[] = [
  // ---- zero-size tensors: no kernel ever loops over nothing (a zero extent would divide by 0)
  {
    name: 'empty-const',
    doc: 'a value with no elements is a constant (it has no value to compute)',
    apply: (n) =>
      numel(n.shape) === 0 && n.op !== 'const' && n.op !== 'input' && n.op !== 'state' ? konst(n, 0) : undefined,
  },
  {
    name: 'reduce-empty',
    doc: 'a reduction over no elements is its identity: sum 0, rmax -inf',
    apply: (n) => {
      if ((n.op !== 'sum' && n.op !== 'rmax') || numel(n.src[0].shape) !== 0) return undefined;
      return konst(n, n.op === 'sum' ? 0 : n.dtype === 'float32' ? -Infinity : n.dtype === 'int32' ? -2147483648 : 0);
    },
  },
  {
    name: 'pad-empty',
    doc: 'padding around no elements is all zeros',
    apply: (n) => (n.op === 'pad' && numel(n.src[0].shape) === 0 ? konst(n, 0) : undefined),
  },

  // ---- constant folding: a node whose inputs are all constant is a constant
  {
    name: 'fold-unary',
    doc: 'f(c) for an elementwise f of a constant',
    apply: (n) => {
      if (!isUnary(n.op)) return undefined;
      const c = constOf(n.src[0]);
      return c === undefined ? undefined : konst(n, scalarOf(n.op, n)(c));
    },
  },
  {
    name: 'fold-cast',
    doc: 'cast(c) is the constant converted',
    apply: (n) => {
      const c = n.op === 'cast' ? constOf(n.src[0]) : undefined;
      return c === undefined ? undefined : konst(n, c);
    },
  },
  {
    name: 'fold-binary',
    doc: 'a op b for constants a, b (integer division truncates)',
    apply: (n) => {
      if (!isBinary(n.op)) return undefined;
      const a = constOf(n.src[0]),
        b = constOf(n.src[1]);
      if (a === undefined || b === undefined) return undefined;
      return konst(n, scalarOf(n.op, n)(a, b));
    },
  },
  {
    name: 'fold-fma',
    doc: 'fma(a, b, c) of constants, rounded once',
    apply: (n) => {
      if (n.op !== 'fma') return undefined;
      const [a, b, c] = n.src.map(constOf);
      return a === undefined || b === undefined || c === undefined ? undefined : konst(n, OPS.fma.scalar.f32(a, b, c));
    },
  },
  {
    name: 'fold-reduce',
    doc: 'sum of a constant is c * count, rmax is c',
    apply: (n) => {
      if (n.op !== 'sum' && n.op !== 'rmax') return undefined;
      const c = constOf(n.src[0]);
      if (c === undefined) return undefined;
      return konst(n, n.op === 'sum' ? c * (numel(n.src[0].shape) / numel(n.shape)) : c);
    },
  },
  {
    name: 'broadcast-const',
    doc:
      'a view (reshape/expand/permute/slice) of a constant is a constant of the view shape: ' +
      'broadcast scalars stay scalars',
    apply: (n) => {
      if (!isView(n.op) || n.op === 'pad') return undefined;
      const c = constOf(n.src[0]);
      return c === undefined ? undefined : konst(n, c);
    },
  },
  {
    name: 'where-const',
    doc: 'where(c, a, b) with a constant mask is a or b',
    apply: (n) => {
      if (n.op !== 'where') return undefined;
      const c = constOf(n.src[0]);
      return c === undefined ? undefined : keep(c ? n.src[1] : n.src[2], n);
    },
  },
  {
    name: 'where-same',
    doc: 'where(c, a, a) is a',
    apply: (n) => (n.op === 'where' && n.src[1] === n.src[2] ? keep(n.src[1], n) : undefined),
  },

  // ---- identities
  identity('mul-one', 'mul', 1),
  identity('add-zero', 'add', 0),
  {
    name: 'fma-one',
    doc: 'fma(x, 1, c) = fma(1, x, c) = x + c (the product is exact)',
    apply: (n) => {
      if (n.op !== 'fma') return undefined;
      const x = isConst(n.src[1], 1) ? n.src[0] : isConst(n.src[0], 1) ? n.src[1] : undefined;
      return x && same(x, n) ? makeNode('add', [x, n.src[2]], n.shape, n.dtype, undefined, n.site) : undefined;
    },
  },
  {
    name: 'sub-zero',
    doc: 'x - 0 = x',
    apply: (n) => (n.op === 'sub' && isConst(n.src[1], 0) ? keep(n.src[0], n) : undefined),
  },
  {
    name: 'div-one',
    doc: 'x / 1 = x',
    apply: (n) => (n.op === 'div' && isConst(n.src[1], 1) ? keep(n.src[0], n) : undefined),
  },
  {
    name: 'neg-neg',
    doc: '-(-x) = x',
    apply: (n) => (n.op === 'neg' && n.src[0].op === 'neg' ? keep(n.src[0].src[0], n) : undefined),
  },
  {
    name: 'cast-same',
    doc: 'a cast to the dtype it already has is the value',
    apply: (n) => (n.op === 'cast' ? keep(n.src[0], n) : undefined),
  },

  // ---- views: identity views vanish, chains of the same view compose into one
  {
    name: 'view-identity',
    doc: 'reshape/expand to the same shape, identity permute, full unit-step slice, zero pad',
    apply: (n) => {
      if (!isView(n.op)) return undefined;
      const id =
        n.op === 'permute'
          ? n.arg.order.every((o, i) => o === i)
          : n.op === 'slice'
            ? n.arg.starts.every((s) => s === 0) && n.arg.steps.every((s) => s === 1)
            : n.op === 'pad'
              ? n.arg.before.every((b) => b === 0)
              : true;
      return id ? keep(n.src[0], n) : undefined;
    },
  },
  {
    name: 'reshape-reshape',
    doc: 'reshape(reshape(x)) = reshape(x)',
    apply: (n) =>
      n.op === 'reshape' && n.src[0].op === 'reshape'
        ? makeNode('reshape', [n.src[0].src[0]], n.shape, n.dtype, { shape: [...n.shape] }, n.site)
        : undefined,
  },
  {
    name: 'permute-permute',
    doc: 'permute(permute(x, p), q) = permute(x, p[q[i]])',
    apply: (n) => {
      if (n.op !== 'permute' || n.src[0].op !== 'permute') return undefined;
      const p = argOf(n.src[0], 'permute').order,
        q = n.arg.order;
      return makeNode('permute', [n.src[0].src[0]], n.shape, n.dtype, { order: q.map((i) => p[i]) }, n.site);
    },
  },
  {
    name: 'expand-expand',
    doc: 'expand(expand(x)) = expand(x) (same rank)',
    apply: (n) =>
      n.op === 'expand' && n.src[0].op === 'expand' && n.src[0].src[0].shape.length === n.shape.length
        ? makeNode('expand', [n.src[0].src[0]], n.shape, n.dtype, { shape: [...n.shape] }, n.site)
        : undefined,
  },
  {
    name: 'slice-slice',
    doc: 'slice(slice(x, s1, t1), s2, t2) = slice(x, s1 + t1*s2, t1*t2)',
    apply: (n) => {
      if (n.op !== 'slice' || n.src[0].op !== 'slice') return undefined;
      const a = argOf(n.src[0], 'slice'),
        b = n.arg;
      const starts = a.starts.map((s, d) => s + a.steps[d] * b.starts[d]);
      const steps = a.steps.map((s, d) => s * b.steps[d]);
      return makeNode('slice', [n.src[0].src[0]], n.shape, n.dtype, { starts, steps }, n.site);
    },
  },
];

/** applies the first matching rule repeatedly until none matches */
export function simplifyNode(n: Node, rules: Rule[] = RULES, fired?: Map<string, number>): Node {
  for (let i = 0; i < 64; i++) {
    let next: Node | undefined;
    for (const r of rules) {
      next = r.apply(n);
      if (next && next !== n) {
        fired?.set(r.name, (fired.get(r.name) ?? 0) + 1);
        break;
      }
      next = undefined;
    }
    if (!next) return n;
    n = next;
  }
  return n;
}

export function simplify(p: GraphProgram, rules: Rule[] = RULES, fired?: Map<string, number>): GraphProgram {
  return rewriteProgram(p, (n) => simplifyNode(n, rules, fired));
}
