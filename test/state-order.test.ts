// Runs and state changes apply in call order whatever is awaited; state shared by several targets
// stays coherent; a host read is current or throws asking for `await step.sync()`. Every target
// is checked against the reference target driven one awaited call at a time.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, manualSeed, nn, optim, tensor, type Tensor } from 'kiln';
import { trainingStep } from './helpers/seed.js';

const TARGETS = ['reference', 'native', 'webgpu'].filter((t) => availableTargets().includes(t));
const inputs = [
  { shape: [2, 4], dtype: 'float32' as const },
  { shape: [2], dtype: 'int32' as const },
];
const xs = (i: number) => Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j));
const y = Int32Array.of(1, 0);

function setup() {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  const criterion = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const train = trainingStep(model, criterion, opt);
  const evaluate = (x: Tensor) => model.forward(x).sum();
  return { model, opt, train, evaluate };
}

const params = (model: nn.Module) => model.parameters().flatMap((p) => [...p.data]);
function expectClose(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(Math.abs(g - want[i]), `value ${i}: ${g} vs ${want[i]}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want[i])));
  });
}

/**
 * Eight runs with one reused input array (refilled with NaN right after each call), a learning
 * rate change, a model load and an optimizer load between them: awaited one by one or not at all.
 */
async function scripted(target: string, awaitEach: boolean) {
  const { model, opt, train } = setup();
  const step = await compile(train, { inputs, target });
  await step.run(xs(100), y);
  await step.run(xs(101), y);
  await step.sync();
  const savedModel = model.stateDict(),
    savedOpt = opt.stateDict();
  const x = new Float32Array(8);
  const runs: Promise<Tensor>[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === 3) opt.paramGroups[0].lr = 0.05;
    if (i === 5) model.loadStateDict(savedModel);
    if (i === 6) opt.loadStateDict(savedOpt);
    x.set(xs(i));
    runs.push(step.run(x, y));
    x.fill(NaN); // the run took its input at the call
    if (awaitEach) await runs[i];
  }
  const losses = (await Promise.all(runs)).map((t) => t.item());
  await step.sync();
  return { losses, params: params(model), step: opt.stateDict().state[0].step as number };
}

describe.each(TARGETS)('call order on %s', (target) => {
  it('unawaited runs, a reused input array and state loads apply in call order', async () => {
    const want = await scripted('reference', true);
    expect(want.step).toBe(4); // the optimizer load at run 6 went back to step 2
    const got = await scripted(target, false);
    expect(got.step).toBe(want.step);
    expectClose(got.losses, want.losses);
    expectClose(got.params, want.params);
  });

  it('a host read is current, or asks for step.sync() where the device cannot be read synchronously', async () => {
    const ref = setup();
    const refStep = await compile(ref.train, { inputs, target: 'reference' });
    const s = setup();
    const step = await compile(s.train, { inputs, target });
    const reads = (m: ReturnType<typeof setup>) => [
      () => [...m.model.stateDict()['0.weight'].data],
      () => [...m.model.parameters()[2].data],
      () => [...m.model.forward(tensor(xs(7), { shape: [2, 4] })).data], // eager forward
      () => [...(m.opt.stateDict().state[0].expAvg as { data: Float32Array }).data],
    ];
    for (let i = 0; i < 3; i++) {
      await refStep.run(xs(i), y);
      await step.run(xs(i), y);
    }
    const want = reads(ref).map((r) => r());
    for (const [k, read] of reads(s).entries()) {
      if (target.startsWith('webgpu')) expect(read).toThrow(/await step\.sync\(\)/);
      else expectClose(read(), want[k]);
    }
    await step.sync();
    reads(s).forEach((read, k) => expectClose(read(), want[k]));

    // while a run is pending: current (it already ran) or an error naming the pending runs
    await refStep.run(xs(3), y);
    const now = reads(ref).map((r) => r());
    const pending = step.run(xs(3), y);
    for (const [k, read] of reads(s).entries()) {
      if (target.startsWith('webgpu')) expect(read).toThrow(/in flight/);
      else expectClose(read(), now[k]);
    }
    await pending;
  });
});

const pairs = TARGETS.flatMap((a, i) => TARGETS.slice(i + 1).map((b) => [a, b] as const));
describe.each(pairs)('state shared by %s and %s', (a, b) => {
  it('alternated training steps and evaluations each see the last update', async () => {
    const session = async (ta: string, tb: string) => {
      const s = setup();
      const steps = [await compile(s.train, { inputs, target: ta }), await compile(s.train, { inputs, target: tb })];
      const evalOn = (target: string) => compile(s.evaluate, { inputs: [inputs[0]], target });
      const evals = [await evalOn(ta), await evalOn(tb)];
      const out: number[] = [];
      for (let i = 0; i < 4; i++) {
        out.push((await steps[i % 2].run(xs(i), y)).item());
        out.push((await evals[(i + 1) % 2].run(xs(9))).item()); // train on one, evaluate on the other
      }
      await steps[0].sync();
      await steps[1].sync();
      return [...out, ...params(s.model)];
    };
    expectClose(await session(a, b), await session('reference', 'reference'));
  });
});
