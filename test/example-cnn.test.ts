// The digits CNN example (examples/digits-cnn-model.ts) against its PyTorch 1.13 twin
// (examples/digits_cnn.py --golden, test/fixtures/examples/digits-cnn.json): kiln's manualSeed(0)
// initial weights are torch's bit for bit; the split and the shuffled loader give the twin's batches;
// and 20 training steps from the same weights (dropout off, batch norm in training mode, Adam with
// StepLR stepped per batch so the lr changes within them) give PyTorch's loss at every step within
// 1e-4 relative (issue 12's bar) and its final weights.
// Targets: KILN_TARGETS (default reference and native); example-cnn-webgpu.test.ts sets webgpu. The
// reference interpreter takes ~0.75 s a step on this model, so it runs the first REFERENCE_STEPS
// (past the first lr drop) and is checked on their losses; the compiled targets run all 20.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, manualSeed, optim } from '../compiler/index.js';
import {
  BATCH_SIZE,
  DigitsCNN,
  gather,
  imageSpec,
  labelSpec,
  loadDigits,
  splitIndices,
  trainLoader,
  digitsTrainStep,
} from '../examples/digits-cnn-model.js';
import { relErr, toStateDict, type GoldenTensor } from './helpers/golden.js';

type Sd = Record<string, GoldenTensor>;
const golden = JSON.parse(readFileSync(new URL('./fixtures/examples/digits-cnn.json', import.meta.url), 'utf8')) as {
  steps: number;
  step_size: number;
  gamma: number;
  lr: number;
  rows: number[][];
  lrs: number[];
  losses: number[];
  init: Sd;
  final: Sd;
};
const LOSS_TOL = 1e-4;
// measured after 20 steps: native 1.9e-6 (fc.weight), webgpu see its test's log; a wrong gradient
// or update shows up as 1e-2 and more
const WEIGHT_TOL = 1e-4;
const REFERENCE_STEPS = 6;
const digits = loadDigits();
const defaultTargets = ['reference', ...(availableTargets().includes('native') ? ['native'] : [])];
const targets = process.env.KILN_TARGETS ? process.env.KILN_TARGETS.split(',') : defaultTargets;
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

if (!process.env.KILN_TARGETS) {
  describe('the digits example reproduces its PyTorch twin before training', () => {
    it("manualSeed(0) gives torch.manual_seed(0)'s initial weights, bit for bit", () => {
      manualSeed(0);
      const sd = new DigitsCNN().stateDict();
      expect(Object.keys(sd).sort()).toEqual(Object.keys(golden.init).sort());
      for (const [k, t] of Object.entries(golden.init)) {
        expect(sd[k].shape, k).toEqual(t.shape);
        expect(bits(sd[k].data), k).toEqual(bits(t.data));
      }
    });

    it("the seeded split and the shuffled loader give the twin's first batches", () => {
      const { train, val } = splitIndices(digits.n);
      expect(train.length + val.length).toBe(1797);
      expect(new Set([...train, ...val]).size).toBe(1797);
      const loader = trainLoader(digits, train);
      let k = 0;
      for (const [x, y] of loader) {
        if (k === golden.steps) break;
        const [wantX, wantY] = gather(digits, golden.rows[k]);
        expect(Array.from(y.data), `labels of batch ${k}`).toEqual(Array.from(wantY));
        expect(bits(x.data), `images of batch ${k}`).toEqual(bits(wantX));
        k++;
      }
      expect(k).toBe(golden.steps);
    });
  });
}

describe.each(targets)('the digits CNN against PyTorch 1.13 on %s', (target) => {
  const steps = target === 'reference' ? REFERENCE_STEPS : golden.steps;
  it(`${steps} training steps: PyTorch's loss at each step within ${LOSS_TOL} relative`, async () => {
    const model = new DigitsCNN();
    model.loadStateDict(toStateDict(golden.init));
    model.train();
    model.dropout.eval(); // as the twin's golden: dropout off, batch norm on batch statistics
    const optimizer = new optim.Adam(model.parameters(), { lr: golden.lr });
    const scheduler = new optim.lrScheduler.StepLR(optimizer, golden.step_size, { gamma: golden.gamma });
    const step = await compile(digitsTrainStep(model, optimizer), {
      inputs: [imageSpec(BATCH_SIZE), labelSpec(BATCH_SIZE)],
      target,
    });
    const errors: number[] = [];
    for (let k = 0; k < steps; k++) {
      expect(optimizer.paramGroups[0].lr, `lr at step ${k}`).toBe(golden.lrs[k]);
      const loss = (await step.run(...gather(digits, golden.rows[k]))).item();
      scheduler.step();
      errors.push(Math.abs(loss - golden.losses[k]) / Math.abs(golden.losses[k]));
    }
    await step.sync();
    const sd = model.stateDict();
    const weightErrors =
      steps === golden.steps
        ? Object.entries(golden.final).map(([key, t]) => [key, relErr(sd[key].data, t.data)] as const)
        : [];
    const worstStep = errors.indexOf(Math.max(...errors));
    const [worstKey, worstWeight] = weightErrors.reduce((a, b) => (b[1] > a[1] ? b : a), ['none', 0] as const);
    console.log(
      `digits CNN on ${target}, ${steps} steps: worst loss error ${errors[worstStep].toExponential(2)} ` +
        `(step ${worstStep})` +
        (weightErrors.length
          ? `, final weights worst norm-wise error ${worstWeight.toExponential(2)} (${worstKey})`
          : '') +
        `; losses ${golden.losses[0].toFixed(4)} -> ${golden.losses[steps - 1].toFixed(4)}`,
    );
    errors.forEach((e, k) => expect(e, `loss at step ${k}`).toBeLessThanOrEqual(LOSS_TOL));
    for (const [key, e] of weightErrors) expect(e, `final ${key}`).toBeLessThanOrEqual(WEIGHT_TOL);
    expect(new Set(golden.lrs.slice(0, steps)).size, 'the lr changed within the steps').toBeGreaterThan(1);
    expect(golden.losses.at(-1)!, 'the golden trains').toBeLessThan(golden.losses[0] * 0.6);
  });
});
