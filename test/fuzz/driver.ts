// One fuzz campaign on one target: seeds in order, graph recipes batched per compile, every tenth
// case a training step. Used by `npm run fuzz` (scripts/fuzz.ts, one process per target) and by the
// fuzz tests in `npm test`.
import { batchFunction } from './build.js';
import { minimize } from './minimize.js';
import { printRecipe, randomGraphRecipe, type GraphRecipe } from './recipe.js';
import { checkGraph, checkGraphBatch, checkTrain, type Failure } from './run.js';
import { randomTrainRecipe } from './train.js';

export interface CampaignOptions {
  target: string;
  seed: number;
  cases: number;
  /** graph recipes per compile */
  batch?: number;
  /** at most this many inputs + outputs in one compile (a device's binding limit) */
  maxBuffers?: number;
  /** one case in `trainEvery` is a training step */
  trainEvery?: number;
  minimize?: boolean;
  onProgress?: (done: number, failures: number) => void;
}

export interface CampaignFailure extends Failure {
  recipe: string;
}

export interface CampaignResult {
  cases: number;
  graphCases: number;
  trainCases: number;
  failures: CampaignFailure[];
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const batch = o.batch ?? 16,
    maxBuffers = o.maxBuffers ?? 200,
    trainEvery = o.trainEvery ?? 10;
  const failures: CampaignFailure[] = [];
  let pending: GraphRecipe[] = [],
    buffers = 0,
    graphCases = 0,
    trainCases = 0,
    done = 0;
  const flush = async () => {
    if (!pending.length) return;
    for (const f of await checkGraphBatch(pending, o.target)) {
      const rec = pending.find((r) => r.seed === f.seed)!;
      failures.push(await explain(f, rec, o));
    }
    done += pending.length;
    pending = [];
    buffers = 0;
    o.onProgress?.(done, failures.length);
  };
  for (let s = o.seed; s < o.seed + o.cases; s++) {
    if (trainEvery > 0 && s % trainEvery === 0) {
      // by seed, so that one seed replays alone
      const rec = randomTrainRecipe(s);
      const f = await checkTrain(rec, o.target);
      if (f) failures.push({ ...f, recipe: JSON.stringify(rec) });
      trainCases++;
      done++;
      continue;
    }
    const rec = randomGraphRecipe(s);
    graphCases++;
    const n = rec.inputs.length + rec.outputs.length;
    if (pending.length && (pending.length >= batch || buffers + n > maxBuffers)) await flush();
    pending.push(rec);
    buffers += n;
    // the large reductions compile alone: their data would dominate a batch
    if (rec.inputs[0].shape.reduce((a, b) => a * b, 1) >= 1e5) await flush();
  }
  await flush();
  return { cases: graphCases + trainCases, graphCases, trainCases, failures };
}

async function explain(f: Failure, rec: GraphRecipe, o: CampaignOptions): Promise<CampaignFailure> {
  if (!o.minimize) return { ...f, recipe: printRecipe(rec) };
  const small = await minimize(rec, async (r) => (await checkGraph(r, o.target)) !== null);
  const again = (await checkGraph(small, o.target)) ?? f;
  return { ...again, seed: f.seed, recipe: printRecipe(small) };
}

export const formatFailure = (f: CampaignFailure) =>
  `FAIL ${f.kind} seed ${f.seed} on ${f.target}: ${f.what}\n${f.recipe.replace(/^/gm, '    ')}`;

// referenced so that a recipe printed in a report can be rebuilt by hand from this module
export { batchFunction, randomGraphRecipe, randomTrainRecipe };
