// The Optimizer base through the public API: state dicts in PyTorch's layout, PyTorch's load
// errors (a rejected dict changes nothing), zeroGrad, None grads skipped, hyperparameters read
// live at run time, and SGD's first-step momentum clone.
import { describe, expect, it } from 'vitest';
import { nn, optim, compile, tensor, type Tensor } from '../compiler/index.js';

const param = (data: number[]) => new nn.Parameter({ shape: [data.length], data });
const fr = Math.fround;

/** a compiled step whose inputs are the gradients of `params` (null entries: grad None) */
async function handStep(params: nn.Parameter[], opt: { step(): void }, present = params.map(() => true)) {
  const inputs = params.filter((_, i) => present[i]).map((p) => ({ shape: p.shape, dtype: 'float32' as const }));
  return compile(
    (...gs: Tensor[]) => {
      let j = 0;
      params.forEach((p, i) => {
        p.grad = present[i] ? gs[j++] : null;
      });
      opt.step();
    },
    { inputs },
  );
}

describe('optimizer state dicts', () => {
  it('use PyTorch layout and camelCase keys for every optimizer', async () => {
    const a = param([1, 2]),
      b = param([3]);
    const adagrad = new optim.Adagrad([a, b], { initialAccumulatorValue: 0.1 });
    // Adagrad creates its state in the constructor
    expect(adagrad.stateDict().state[1]).toEqual({ step: 0, sum: { shape: [1], data: Float32Array.of(fr(0.1)) } });
    const rms = new optim.RMSprop([a, b], { momentum: 0.5, centered: true });
    const sgd0 = new optim.SGD([a, b], { lr: 0.1 });
    const adam = new optim.Adam([{ params: [a] }, { params: [b], amsgrad: true }]);
    expect(adam.stateDict().state).toEqual({});
    for (const opt of [rms, sgd0, adam]) await (await handStep([a, b], opt, [true, false])).run(Float32Array.of(1, 1));
    expect(Object.keys(rms.stateDict().state[0]).sort()).toEqual(['gradAvg', 'momentumBuffer', 'squareAvg', 'step']);
    expect(rms.stateDict().state[1]).toBeUndefined(); // b had no grad: no state yet
    expect(sgd0.stateDict().state).toEqual({ 0: { momentumBuffer: null } }); // no momentum: None, no step
    const sd = adam.stateDict();
    expect(sd.state[0].step).toBe(1);
    expect(sd.paramGroups).toEqual([
      {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: false,
        maximize: false,
        decoupledWeightDecay: false,
        params: [0],
      },
      {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: true,
        maximize: false,
        decoupledWeightDecay: false,
        params: [1],
      },
    ]);
  });

  it('SGD clones the gradient into the momentum buffer on its first step (no dampening)', async () => {
    const p = param([1, 1]);
    const opt = new optim.SGD([p], { lr: 0.5, momentum: 0.9, dampening: 0.5 });
    const step = await handStep([p], opt);
    await step.run(Float32Array.of(0.3, -7));
    expect(Array.from(opt.stateDict().state[0].momentumBuffer.data)).toEqual([fr(0.3), -7]);
    await step.run(Float32Array.of(1, 1));
    const buf = [fr(0.3), -7].map((m) => fr(fr(m * fr(0.9)) + fr(1 * 0.5)));
    expect(Array.from(opt.stateDict().state[0].momentumBuffer.data)).toEqual(buf);
    // a loaded dict without a buffer makes the next step clone again
    opt.loadStateDict({ state: {}, paramGroups: opt.stateDict().paramGroups });
    await step.run(Float32Array.of(2, 2));
    expect(Array.from(opt.stateDict().state[0].momentumBuffer.data)).toEqual([2, 2]);
  });

  it('reject dicts that do not fit with PyTorch messages, changing nothing', async () => {
    const a = param([1, 2]),
      b = param([3]);
    const opt = new optim.Adam([{ params: [a] }, { params: [b] }], { lr: 0.1 });
    await (await handStep([a, b], opt)).run(Float32Array.of(1, 2), Float32Array.of(3));
    const before = opt.stateDict();
    const bad = (f: (sd: any) => void) => {
      const sd = structuredClone(before);
      f(sd);
      sd.paramGroups[0].lr = 7;
      return sd;
    };
    expect(() => opt.loadStateDict(bad((sd) => sd.paramGroups.pop()))).toThrow(
      /^loaded state dict has a different number of parameter groups/,
    );
    expect(() => opt.loadStateDict(bad((sd) => sd.paramGroups[1].params.push(5)))).toThrow(
      /^loaded state dict contains a parameter group that doesn't match the size of optimizer's group/,
    );
    expect(() =>
      opt.loadStateDict(
        bad((sd) => {
          sd.state[0].expAvg = { shape: [3], data: [1, 2, 3] };
        }),
      ),
    ).toThrow(/expAvg of parameter 0|'expAvg' of parameter 0/);
    expect(opt.stateDict()).toEqual(before);
    expect(opt.paramGroups[0].lr).toBe(0.1);
  });

  it('round-trips Adagrad and SGD state into fresh optimizers', async () => {
    const p = param([1, -2, 3]);
    for (const make of [
      () => new optim.Adagrad([p], { lrDecay: 0.1 }),
      () => new optim.SGD([p], { lr: 0.1, momentum: 0.9 }),
    ]) {
      const opt = make();
      await (await handStep([p], opt)).run(Float32Array.of(1, 2, 3));
      const fresh = make();
      fresh.loadStateDict(structuredClone(opt.stateDict()));
      expect(fresh.stateDict()).toEqual(opt.stateDict());
    }
  });
});

describe('optimizer steps', () => {
  it('skip parameters whose grad is None: no update, the step count does not advance', async () => {
    const a = param([1]),
      b = param([2]);
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    const both = await handStep([a, b], opt),
      onlyA = await handStep([a, b], opt, [true, false]);
    await both.run(Float32Array.of(1), Float32Array.of(1));
    const bBefore = Array.from(b.data);
    await onlyA.run(Float32Array.of(1));
    expect(Array.from(b.data)).toEqual(bBefore);
    expect([opt.stateDict().state[0].step, opt.stateDict().state[1].step]).toEqual([2, 1]);
    await both.run(Float32Array.of(1), Float32Array.of(1)); // shared state: both functions see each other's steps
    expect([opt.stateDict().state[0].step, opt.stateDict().state[1].step]).toEqual([3, 2]);
  });

  it('zeroGrad sets grads to None by default, or to zeros', () => {
    const p = param([1, 2]);
    const opt = new optim.SGD([p], { lr: 0.1 });
    p.grad = tensor([5, 6]);
    opt.zeroGrad(false);
    expect(Array.from(p.grad!.data)).toEqual([0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it('read hyperparameters at run time: a changed lr is used without re-tracing', async () => {
    const p = param([1]);
    const opt = new optim.SGD([p], { lr: 0.25 });
    const step = await handStep([p], opt);
    await step.run(Float32Array.of(1));
    await step.run(Float32Array.of(1));
    expect(p.data[0]).toBe(0.5);
    const traces = step.programs.length;
    opt.paramGroups[0].lr = 0.125;
    await step.run(Float32Array.of(1));
    expect(p.data[0]).toBe(0.375);
    expect(step.programs.length).toBe(traces);
    // a state dict's hyperparameters apply too
    opt.loadStateDict({ ...opt.stateDict(), paramGroups: [{ ...opt.stateDict().paramGroups[0], lr: 0.0625 }] });
    await step.run(Float32Array.of(2));
    expect(p.data[0]).toBe(0.25);
  });

  it('picks up betas changed in place, and structural flags (re-tracing once)', async () => {
    const p = param([0]);
    const opt = new optim.Adam([p], { lr: 0 });
    const step = await handStep([p], opt);
    await step.run(Float32Array.of(0.3));
    const m1 = fr(0.3 * fr(1 - 0.9));
    opt.paramGroups[0].betas[0] = 0.5;
    await step.run(Float32Array.of(0.7));
    expect(opt.stateDict().state[0].expAvg.data[0]).toBe(fr(fr(m1 * 0.5) + fr(0.7 * 0.5)));
    const sgdP = param([1]);
    const sgd = new optim.SGD([sgdP], { lr: 0.5 });
    const s2 = await handStep([sgdP], sgd);
    await s2.run(Float32Array.of(1));
    sgd.paramGroups[0].maximize = true;
    await s2.run(Float32Array.of(1));
    expect(sgdP.data[0]).toBe(1);
    sgd.paramGroups[0].maximize = false;
    sgd.paramGroups[0].momentum = 0.5;
    await s2.run(Float32Array.of(1));
    expect(sgdP.data[0]).toBe(0.5);
    expect(Array.from(sgd.stateDict().state[0].momentumBuffer.data)).toEqual([1]);
  });

  it('steps a param group added after compiling', async () => {
    const a = param([1]),
      b = param([1]);
    const opt = new optim.SGD([a], { lr: 0.5 });
    const step = await handStep([a, b], opt);
    await step.run(Float32Array.of(1), Float32Array.of(1));
    expect([a.data[0], b.data[0]]).toEqual([0.5, 1]);
    opt.addParamGroup({ params: [b], lr: 0.25 });
    await step.run(Float32Array.of(1), Float32Array.of(1));
    expect([a.data[0], b.data[0]]).toEqual([0, 0.75]);
  });
});
