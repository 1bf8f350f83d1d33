// ../shared/CONTRACT.md, driven exactly as the outside checks drive it: through 'kiln' only.
import { describe, expect, it } from 'vitest';
import { nn, optim, compile, manualSeed, tensor, KilnError, type Tensor } from 'kiln';
import { f32, goldenTargets, i32, loadGolden, toStateDict } from './helpers/golden.js';

const g = loadGolden('seed_example');
const snapshot = (m: nn.Module, o: optim.Optimizer<any>) =>
  structuredClone({ model: m.stateDict(), opt: o.stateDict() });

describe.each(goldenTargets())('CONTRACT.md on %s', (target) => {
  async function setup() {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
    model.loadStateDict(toStateDict(g.init));
    const criterion = new nn.CrossEntropyLoss();
    const optimizer = new optim.Adam(model.parameters(), {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
    });
    const trainStep = await compile(
      (x: Tensor, y: Tensor) => {
        const loss = criterion.forward(model.forward(x), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        return loss;
      },
      {
        inputs: [
          { shape: [1, 10], dtype: 'float32' },
          { shape: [1], dtype: 'int32' },
        ],
        target,
      },
    );
    return { model, criterion, optimizer, trainStep };
  }

  it('runs the seed training step with the documented results', async () => {
    const { model, optimizer, trainStep } = await setup();
    const loss = await trainStep.run(f32(g.inputs[0]), i32(g.targets[0]));
    expect(typeof loss.item()).toBe('number');
    expect(loss.data).toBeInstanceOf(Float32Array);
    expect(loss.shape).toEqual([]);
    expect(Math.abs(loss.item() - g.losses[0]) / g.losses[0]).toBeLessThan(1e-5);
    await trainStep.sync();
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(sd['0.weight'].shape).toEqual([5, 10]);
    expect(sd['0.weight'].data).toBeInstanceOf(Float32Array);
    const osd = optimizer.stateDict() as any;
    expect(osd.state[0].step).toBe(1);
    expect(Object.keys(osd.state[0]).sort()).toEqual(['expAvg', 'expAvgSq', 'step']);
    expect(osd.paramGroups[0].lr).toBe(1e-3);
    optimizer.loadStateDict(osd);
    const stats = trainStep.stats();
    for (const k of ['kernels', 'launchesPerRun', 'bytesPerRun', 'perKernel'] as const) expect(stats).toHaveProperty(k);
    expect(stats.kernels).toBeGreaterThan(0);
    expect(Array.isArray(stats.perKernel)).toBe(true);
  });

  it('wrong inputs to run throw a clear error and change no state', async () => {
    const { model, optimizer, trainStep } = await setup();
    await trainStep.run(f32(g.inputs[0]), i32(g.targets[0]));
    await trainStep.sync();
    const before = snapshot(model, optimizer);
    const x = f32(g.inputs[1]),
      y = i32(g.targets[1]);
    const bad: [unknown[], RegExp][] = [
      [[new Float32Array(7), y], /input 0 has 7 elements, expected 10/],
      [[Int32Array.from(x), y], /input 0 must be a Float32Array/],
      [[x, Float32Array.from(y)], /input 1 must be a Int32Array/],
      [[x], /expected 2 inputs/],
    ];
    for (const [args, msg] of bad) await expect(trainStep.run(...(args as any[]))).rejects.toThrow(msg);
    await trainStep.sync();
    expect(snapshot(model, optimizer)).toEqual(before);
    // and the next good step is exactly PyTorch's second step
    const loss = await trainStep.run(x, y);
    expect(Math.abs(loss.item() - g.losses[1]) / g.losses[1]).toBeLessThan(1e-5);
  });

  it('a second compiled function (an eval step) sees the training step updates', async () => {
    const { model, trainStep } = await setup();
    const evalStep = await compile((x: Tensor) => model.forward(x), {
      inputs: [{ shape: [1, 10], dtype: 'float32' }],
      target,
    });
    const x = f32(g.inputs[0]);
    const before = Array.from((await evalStep.run(x)).data);
    for (let k = 0; k < 3; k++) await trainStep.run(f32(g.inputs[k]), i32(g.targets[k]));
    const after = Array.from((await evalStep.run(x)).data);
    expect(after).not.toEqual(before);
    // equal to an eager forward with the synced parameters
    await trainStep.sync();
    const eager = Array.from(model.forward(tensor(x, { shape: [1, 10] })).data);
    after.forEach((v, i) => expect(v).toBeCloseTo(eager[i], 5));
  });

  it('bare Parameters, hand-set gradients (null skips the parameter) and hyperparameter errors', async () => {
    const a = new nn.Parameter({ shape: [7, 3], data: Float32Array.from({ length: 21 }, (_, i) => i) });
    const b = new nn.Parameter({ shape: [2], data: Float32Array.of(1, 2) });
    expect(a.shape).toEqual([7, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    const opt = new optim.SGD([a, b], { lr: 0.5 });
    const step = await compile(
      (ga: Tensor) => {
        a.grad = ga;
        b.grad = null;
        opt.step();
      },
      { inputs: [{ shape: [7, 3], dtype: 'float32' }], target },
    );
    await step.run(new Float32Array(21).fill(2));
    await step.sync();
    expect(a.data[0]).toBe(-1);
    expect(Array.from(b.data)).toEqual([1, 2]);
    expect(() => new optim.Adam([a], { lr: -1 })).toThrow('Invalid learning rate: -1');
  });

  it('error cases: a model fed the wrong shape, a state dict of the wrong shape', async () => {
    const { model } = await setup();
    await expect(
      compile((x: Tensor) => model.forward(x), { inputs: [{ shape: [1, 7], dtype: 'float32' }], target }),
    ).rejects.toThrow(/Linear\(10, 5\).*1x7 and 10x5/);
    const before = model.stateDict();
    const sd = model.stateDict() as any;
    sd['2.weight'] = { shape: [5, 2], data: new Float32Array(10) };
    expect(() => model.loadStateDict(sd)).toThrow(KilnError);
    expect(() => model.loadStateDict(sd)).toThrow(/size mismatch for 2.weight/);
    expect(model.stateDict()).toEqual(before);
  });
});
