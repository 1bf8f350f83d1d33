// Replays a fuzz recipe through kiln's public Tensor API, and makes its input arrays.
import { Tensor, where } from '../../compiler/index.js';
import { prng, type FuzzInput, type FuzzOp, type GraphRecipe } from './recipe.js';

const SPECIALS = [0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-40, 1e30, -1e30, 1e-30, 3, -3, 88.8, -104];

/** one input's values: deterministic in (recipe seed, input position) */
export function fillInput(inp: FuzzInput, seed: number, pos: number): Float32Array | Int32Array {
  const r = prng(seed * 7919 + pos * 104729 + 1);
  const n = inp.shape.reduce((a, b) => a * b, 1);
  if (inp.dtype === 'int32') {
    const range = inp.range ?? 10;
    return Int32Array.from({ length: n }, () => r.int(range));
  }
  const out = new Float32Array(n);
  const normal = () => (r.next() + r.next() + r.next() - 1.5) * 2;
  if (inp.fill === 'special') for (let i = 0; i < n; i++) out[i] = r.chance(0.3) ? r.pick(SPECIALS) : normal();
  else if (inp.fill === 'const') out.fill(0.16);
  else for (let i = 0; i < n; i++) out[i] = normal();
  return out;
}

export const recipeInputs = (rec: GraphRecipe) => rec.inputs.map((inp, i) => fillInput(inp, rec.seed, inp.pos ?? i));

/** the recipe's function over its inputs (in order), returning its outputs */
export function recipeFunction(rec: GraphRecipe): (...xs: Tensor[]) => Tensor[] {
  return (...xs: Tensor[]) => {
    const vals: Tensor[] = [...xs];
    for (const op of rec.ops) vals.push(applyOp(op, vals));
    return rec.outputs.map((o) => vals[o]);
  };
}

/** several recipes as one function (one compile): inputs and outputs concatenated in order */
export function batchFunction(recs: GraphRecipe[]): (...xs: Tensor[]) => Tensor[] {
  const fns = recs.map(recipeFunction);
  return (...xs: Tensor[]) => {
    const outs: Tensor[] = [];
    let at = 0;
    recs.forEach((rec, i) => {
      outs.push(...fns[i](...xs.slice(at, at + rec.inputs.length)));
      at += rec.inputs.length;
    });
    return outs;
  };
}

function applyOp(op: FuzzOp, v: Tensor[]): Tensor {
  const a = v[op.a];
  switch (op.k) {
    case 'unary':
      if (op.f === 'softmax' || op.f === 'logSoftmax') return a[op.f](-1);
      return a[op.f]();
    case 'binary':
      return a[op.f](v[op.b]);
    case 'scalar':
      return a[op.f](op.c);
    case 'where':
      return where(a[op.f](v[op.b]), v[op.x], v[op.y]);
    case 'reduce':
      return op.dims === null && !op.keep ? a[op.f]() : a[op.f](op.dims ?? a.shape.map((_, i) => i), op.keep);
    case 'matmul':
      return a.matmul(v[op.b]);
    case 'reshape':
      return a.reshape(op.shape);
    case 'permute':
      return a.permute(op.order);
    case 'expand':
      return a.expand(op.shape);
    case 'slice':
      return a.slice(op.dim, op.start, op.end, op.step);
    case 'pad':
      return a.pad(op.pads);
    case 'gather':
      return a.gather(op.dim, v[op.index]);
    case 'toInt':
      return where(a.abs().lt(1e6), a, 0).mul(3).int().add(1);
    case 'toFloat':
      return a.float().mul(0.5);
    case 'clamp':
      return a.clamp(op.lo, op.hi);
  }
}
