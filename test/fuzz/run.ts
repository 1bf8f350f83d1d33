// Runs fuzz recipes on a device target and on the reference target, and reports what differs.
// Graph recipes are batched several to one compile (one native library, one set of WebGPU
// pipelines): a failing batch is re-run one recipe at a time to find the culprit.
import { compile, type Tensor } from '../../compiler/index.js';
import { batchFunction, recipeInputs } from './build.js';
import { compareArrays, toleranceFor, type Mismatch } from './compare.js';
import type { GraphRecipe } from './recipe.js';
import { runTrainRecipe, type TrainRecipe } from './train.js';

export interface Failure {
  seed: number;
  kind: 'graph' | 'train';
  target: string;
  what: string;
  mismatch?: Mismatch;
}

const specs = (recs: GraphRecipe[]) => recs.flatMap((r) => r.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype })));

async function evaluate(recs: GraphRecipe[], target: string): Promise<Float32Array[]> {
  const fn = await compile(batchFunction(recs), { inputs: specs(recs), target });
  const outs = (await fn.run(...recs.flatMap(recipeInputs))) as Tensor[];
  return outs.map((t) => Float32Array.from(t.data as ArrayLike<number>));
}

const describe = (e: unknown) =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0].slice(0, 300);

/** the reference's results for one recipe, or the error it raised (then the recipe is not a valid program) */
async function reference(rec: GraphRecipe): Promise<Float32Array[] | Error> {
  try {
    return await evaluate([rec], 'reference');
  } catch (e) {
    return e as Error;
  }
}

/** checks one recipe alone on `target` */
export async function checkGraph(rec: GraphRecipe, target: string): Promise<Failure | null> {
  const want = await reference(rec);
  let got: Float32Array[];
  try {
    got = await evaluate([rec], target);
  } catch (e) {
    if (want instanceof Error && describe(e) === describe(want)) return null; // the same error everywhere
    return { seed: rec.seed, kind: 'graph', target, what: `throws ${describe(e)}` };
  }
  if (want instanceof Error) {
    return { seed: rec.seed, kind: 'graph', target, what: `reference throws ${describe(want)}` };
  }
  return compareOutputs(rec, got, want, target);
}

function compareOutputs(rec: GraphRecipe, got: Float32Array[], want: Float32Array[], target: string): Failure | null {
  if (got.length !== want.length) {
    return { seed: rec.seed, kind: 'graph', target, what: `${got.length} outputs, want ${want.length}` };
  }
  for (let o = 0; o < want.length; o++) {
    const m = compareArrays(got[o], want[o], toleranceFor(target), o);
    if (m) {
      return {
        seed: rec.seed,
        kind: 'graph',
        target,
        what: `output ${o}[${m.index}]: got ${m.got}, want ${m.want}: ${m.reason}`,
        mismatch: m,
      };
    }
  }
  return null;
}

/** checks a batch: one compile for all, then one recipe at a time only if something differed */
export async function checkGraphBatch(recs: GraphRecipe[], target: string): Promise<Failure[]> {
  const wants = await Promise.all(recs.map(reference));
  const valid = recs.filter((_, i) => !(wants[i] instanceof Error));
  const failures: Failure[] = [];
  // recipes the reference rejects must be rejected the same way by the target
  for (let i = 0; i < recs.length; i++) {
    if (wants[i] instanceof Error) {
      const f = await checkGraph(recs[i], target);
      if (f) failures.push(f);
    }
  }
  if (!valid.length) return failures;
  let got: Float32Array[] | undefined;
  try {
    got = await evaluate(valid, target);
  } catch {
    got = undefined;
  }
  if (got) {
    let at = 0;
    for (const rec of valid) {
      const want = wants[recs.indexOf(rec)] as Float32Array[];
      const f = compareOutputs(rec, got.slice(at, at + want.length), want, target);
      at += want.length;
      if (f) failures.push(f);
    }
    return failures;
  }
  for (const rec of valid) {
    const f = await checkGraph(rec, target);
    if (f) failures.push(f);
  }
  return failures;
}

export async function checkTrain(rec: TrainRecipe, target: string): Promise<Failure | null> {
  let want, got;
  try {
    want = await runTrainRecipe(rec, 'reference');
  } catch (e) {
    return { seed: rec.seed, kind: 'train', target: 'reference', what: `reference throws ${describe(e)}` };
  }
  try {
    got = await runTrainRecipe(rec, target);
  } catch (e) {
    return { seed: rec.seed, kind: 'train', target, what: `throws ${describe(e)}` };
  }
  const tol = toleranceFor(target);
  const m = compareArrays(got.losses, want.losses, { rtol: tol.rtol * 10, atol: tol.atol * 10 });
  if (m) {
    return {
      seed: rec.seed,
      kind: 'train',
      target,
      what: `loss at step ${m.index}: got ${m.got}, want ${m.want}`,
      mismatch: m,
    };
  }
  for (const [k, w] of Object.entries(want.params)) {
    const pm = compareArrays(got.params[k], w, { rtol: tol.rtol * 10, atol: tol.atol * 10 });
    if (pm) {
      return {
        seed: rec.seed,
        kind: 'train',
        target,
        what: `${k}[${pm.index}]: got ${pm.got}, want ${pm.want}: ${pm.reason}`,
        mismatch: pm,
      };
    }
  }
  return null;
}
