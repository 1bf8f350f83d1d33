// What compiled steps do with requiresGrad_(false) and train()/eval(): a frozen parameter gets no
// gradient and no update (PyTorch 1.13's numbers for the rest, fewer kernels), freezing after
// compile() re-traces; a step that read a module's training flag re-traces when it flips and reuses
// the first trace when it flips back; a step that sets it sets it on every run; kiln build refuses a
// definition whose flag one function reads and another changes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, defineProgram, manualSeed, nn, optim, type Tensor } from 'kiln';
import { buildBundle } from '../compiler/build/bundle.js';
import { traceDefinition } from '../compiler/build/program.js';
import { Progress } from '../compiler/cli/report.js';
import { toStateDict } from './helpers/golden.js';
import { trainingStep } from './helpers/seed.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fixtures/containers/frozen.py: layer 0 frozen, 4 Adam steps (lr 0.05, betas 0.8/0.95) in torch 1.13 */
const golden = JSON.parse(readFileSync(path.join(here, 'fixtures/containers/frozen.json'), 'utf8'));
const TOL = 1e-5;
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

function trainer(target: string, freeze: boolean) {
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
  model.loadStateDict(toStateDict(golden.init));
  if (freeze) model.at(0).requiresGrad_(false);
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.05, betas: [0.8, 0.95] });
  const criterion = new nn.CrossEntropyLoss();
  const step = compile(trainingStep(model, criterion, optimizer), {
    inputs: [
      { shape: [6, 4], dtype: 'float32' },
      { shape: [6], dtype: 'int64' },
    ],
    target,
  });
  return { model, step };
}
const batch = (i: number) => [Float32Array.from(golden.xs[i]), Int32Array.from(golden.ys[i])] as const;

describe.each(['reference', 'native'])('requiresGrad_(false) in a compiled step on %s', (target) => {
  it("frozen weights stay bit-identical, the rest follow PyTorch's, with fewer kernels", async () => {
    const { model, step: pending } = trainer(target, true);
    const step = await pending;
    const layer0 = model.at(0) as nn.Linear;
    for (let i = 0; i < 4; i++) {
      const loss = await step.run(...batch(i));
      expect(Math.abs(loss.item() - golden.losses[i]) / Math.abs(golden.losses[i])).toBeLessThan(TOL);
    }
    await step.sync();
    const sd = model.stateDict();
    for (const k of ['0.weight', '0.bias']) expect(Array.from(sd[k].data)).toEqual(golden.init[k].data); // bitwise
    for (const k of ['2.weight', '2.bias']) {
      expect(relErr(sd[k].data, golden.final[k].data), k).toBeLessThan(TOL);
      expect(Array.from(sd[k].data)).not.toEqual(golden.init[k].data);
    }
    expect(layer0.weight.grad).toBeNull();
    expect((model.at(2) as nn.Linear).weight.grad).not.toBeNull();
    // no gradient and no update is computed for the frozen cells
    const touched = step.programs[0].graph.updates.map((u) => u.cell);
    for (const p of layer0.parameters()) {
      expect(touched).not.toContain(p.cell.id);
      expect(touched).not.toContain(p.gradCell.id);
    }
    const frozenKernels = step.stats().kernels;
    const unfrozen = await trainer(target, false).step;
    expect(frozenKernels).toBeLessThan(unfrozen.stats().kernels);
  });

  it('freezing after compile() re-traces; unfreezing reuses the first trace', async () => {
    const { model, step: pending } = trainer(target, false);
    const step = await pending;
    const layer0 = model.at(0) as nn.Linear;
    await step.run(...batch(0));
    const after1 = Float32Array.from(layer0.weight.data);
    expect(Array.from(after1)).not.toEqual(golden.init['0.weight'].data);
    model.at(0).requiresGrad_(false);
    await step.run(...batch(1));
    await step.run(...batch(2));
    expect(step.programs).toHaveLength(2);
    expect(Array.from(layer0.weight.data)).toEqual(Array.from(after1));
    expect(layer0.weight.grad).toBeNull();
    model.requiresGrad_(true);
    await step.run(...batch(3));
    expect(step.programs).toHaveLength(2);
    expect(Array.from(layer0.weight.data)).not.toEqual(Array.from(after1));
  });
});

const N = 256;
const ones = new Float32Array(N).fill(1);
const zerosIn = (t: Tensor) => Array.from(t.data).filter((v) => v === 0).length;

describe.each(['reference', 'native'])('train() / eval() with compiled steps on %s', (target) => {
  it('a step that read the flag re-traces on eval() and reuses its first trace on train()', async () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Identity(), new nn.Dropout(0.5));
    const f = await compile((x: Tensor) => model.forward(x), { inputs: [{ shape: [N], dtype: 'float32' }], target });
    const trained = await f.run(ones);
    expect(zerosIn(trained)).toBeGreaterThan(N / 4);
    expect(Array.from(trained.data).every((v) => v === 0 || v === 2)).toBe(true);
    model.eval();
    expect(model.at(1).training).toBe(false);
    const evaluated = await f.run(ones);
    expect(Array.from(evaluated.data)).toEqual(Array.from(ones)); // the identity: Dropout is off
    expect(f.programs).toHaveLength(2);
    model.train();
    expect(zerosIn(await f.run(ones))).toBeGreaterThan(N / 4);
    expect(f.programs).toHaveLength(2); // the first variant again, not a third trace
  });

  it('a step that sets the flag itself sets it on every run, as the call would, and never re-traces', async () => {
    const model = new nn.Sequential(new nn.Dropout(0.5));
    const spec = { inputs: [{ shape: [N], dtype: 'float32' as const }], target };
    const trainStep = await compile((x: Tensor) => model.train().forward(x), spec);
    const evalStep = await compile((x: Tensor) => model.eval().forward(x), spec);
    expect(model.training).toBe(true); // tracing ran nothing: the flag is as it was
    for (let i = 0; i < 3; i++) {
      expect(Array.from((await evalStep.run(ones)).data)).toEqual(Array.from(ones));
      expect([model.training, model.at(0).training]).toEqual([false, false]);
      expect(zerosIn(await trainStep.run(ones))).toBeGreaterThan(N / 4);
      expect([model.training, model.at(0).training]).toEqual([true, true]);
    }
    expect([trainStep.programs.length, evalStep.programs.length]).toEqual([1, 1]);
  });
});

describe('train() / eval() and kiln build', () => {
  const inputs = [{ shape: [4], dtype: 'float32' as const }];
  it('refuses a definition whose function reads a flag another function changes, naming both', async () => {
    const model = new nn.Sequential(new nn.Linear(4, 4), new nn.Dropout(0.5));
    const def = defineProgram({
      name: 'flags',
      model,
      functions: {
        predict: { fn: (x: Tensor) => model.forward(x), inputs },
        evaluate: { fn: (x: Tensor) => model.eval().forward(x), inputs },
      },
    });
    expect(traceDefinition(def).unstable).toEqual([
      'predict was traced with model.1.training true, but running evaluate sets it to false',
    ]);
    const out = mkdtempSync(path.join(tmpdir(), 'kiln-flags-'));
    try {
      await expect(
        buildBundle(def, { targets: ['native'], out: path.join(out, 'b'), progress: new Progress(true) }),
      ).rejects.toThrow(/cannot bundle flags: .*\n\s+predict was traced with model\.1\.training true/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('accepts one where each function sets the mode it needs', () => {
    const model = new nn.Sequential(new nn.Linear(4, 4), new nn.Dropout(0.5));
    const def = defineProgram({
      name: 'flags-ok',
      model,
      functions: {
        predict: { fn: (x: Tensor) => model.train().forward(x), inputs },
        evaluate: { fn: (x: Tensor) => model.eval().forward(x), inputs },
      },
    });
    expect(traceDefinition(def).unstable).toEqual([]);
  });
});
