// Shrinks a failing graph recipe: keep one failing output, bypass ops (an op whose result has the
// shape and dtype of one of its operands is replaced by that operand), drop what is dead, and
// calm special inputs, for as long as the failure persists. Greedy, like delta debugging.
import type { FuzzOp, GraphRecipe } from './recipe.js';

const operands = (op: FuzzOp): number[] => {
  switch (op.k) {
    case 'binary':
    case 'matmul':
      return [op.a, op.b];
    case 'where':
      return [op.a, op.b, op.x, op.y];
    case 'gather':
      return [op.a, op.index];
    default:
      return [op.a];
  }
};

function remap(op: FuzzOp, f: (i: number) => number): FuzzOp {
  const o = { ...op } as Record<string, unknown>;
  for (const key of ['a', 'b', 'x', 'y', 'index']) if (typeof o[key] === 'number') o[key] = f(o[key] as number);
  return o as unknown as FuzzOp;
}

/** drops ops and inputs nothing reaches, renumbering values */
export function prune(rec: GraphRecipe): GraphRecipe {
  const nIn = rec.inputs.length,
    live = new Set(rec.outputs);
  for (let j = rec.ops.length - 1; j >= 0; j--) if (live.has(nIn + j)) operands(rec.ops[j]).forEach((x) => live.add(x));
  const newIndex = new Map<number, number>();
  rec.inputs.forEach((_, i) => {
    if (live.has(i)) newIndex.set(i, newIndex.size);
  });
  const ops: FuzzOp[] = [],
    values = rec.values.filter((_, i) => i < nIn && live.has(i));
  rec.ops.forEach((op, j) => {
    if (!live.has(nIn + j)) return;
    ops.push(remap(op, (x) => newIndex.get(x)!));
    newIndex.set(nIn + j, newIndex.size);
    values.push(rec.values[nIn + j]);
  });
  // inputs keep their fill position, so that renumbering does not change their values
  const kept = rec.inputs.map((inp, i) => ({ ...inp, pos: inp.pos ?? i })).filter((_, i) => live.has(i));
  return { ...rec, inputs: kept, ops, values, outputs: rec.outputs.map((o) => newIndex.get(o)!) };
}

export async function minimize(
  rec: GraphRecipe,
  fails: (r: GraphRecipe) => Promise<boolean>,
  budget = 200,
): Promise<GraphRecipe> {
  let best = prune(rec);
  let tries = 0;
  const attempt = async (cand: GraphRecipe) => {
    if (tries++ >= budget) return false;
    const small = prune(cand);
    try {
      if (await fails(small)) {
        best = small;
        return true;
      }
    } catch {
      /* a candidate that breaks otherwise */
    }
    return false;
  };
  for (let o = 0; o < best.outputs.length && best.outputs.length > 1; o++) {
    if (await attempt({ ...best, outputs: [best.outputs[o]] })) break;
  }
  let changed = true;
  while (changed && tries < budget) {
    changed = false;
    const nIn = best.inputs.length;
    for (let j = best.ops.length - 1; j >= 0 && !changed; j--) {
      const v = best.values[nIn + j];
      for (const src of operands(best.ops[j])) {
        const s = best.values[src];
        if (s.dtype !== v.dtype || s.shape.join() !== v.shape.join()) continue;
        const ops = best.ops.map((op, i) => (i <= j ? op : remap(op, (x) => (x === nIn + j ? src : x))));
        const outputs = best.outputs.map((x) => (x === nIn + j ? src : x));
        if (await attempt({ ...best, ops, outputs })) {
          changed = true;
          break;
        }
      }
    }
    // an output may move to an operand of its op whatever the shape (past a final reduction, say)
    for (let o = 0; o < best.outputs.length && !changed; o++) {
      const j = best.outputs[o] - nIn;
      if (j < 0) continue;
      for (const src of operands(best.ops[j])) {
        if (await attempt({ ...best, outputs: best.outputs.map((x, k) => (k === o ? src : x)) })) {
          changed = true;
          break;
        }
      }
    }
    for (let i = 0; i < best.inputs.length && !changed; i++) {
      if (best.inputs[i].fill !== 'special') continue;
      const inputs = best.inputs.map((inp, k) => (k === i ? { ...inp, fill: 'normal' as const } : inp));
      if (await attempt({ ...best, inputs })) changed = true;
    }
  }
  return best;
}
