// optimizer.loadStateDict checks what the constructor checks (hyperparameter types and PyTorch's
// value errors) and that each parameter's state has what a step reads (PyTorch's KeyError: 'step'),
// and a dict it rejects changes nothing. Options: unknown names throw naming the closest valid one.
import { describe, expect, it } from 'vitest';
import { nn, optim, compile, type Tensor } from '../compiler/index.js';

const param = (data: number[]) => new nn.Parameter({ shape: [data.length], data });
function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
  return '(no error)';
}

async function stepOnce(p: nn.Parameter, opt: { step(): void }): Promise<void> {
  const step = await compile(
    (g: Tensor) => {
      p.grad = g;
      opt.step();
    },
    { inputs: [{ shape: p.shape, dtype: 'float32' }] },
  );
  await step.run(Float32Array.from(p.shape.length ? Array(p.shape[0]).fill(1) : [1]));
}

describe('optimizer.loadStateDict validates like the constructor, changing nothing on error', () => {
  const cases: [string, (g: Record<string, any>) => void, string][] = [
    [
      'lr: "abc"',
      (g) => {
        g.lr = 'abc';
      },
      "Adam (loaded param group 0): lr must be a number, got string 'abc'",
    ],
    [
      'lr: -1',
      (g) => {
        g.lr = -1;
      },
      'Invalid learning rate: -1',
    ],
    [
      'betas: [2, 2]',
      (g) => {
        g.betas = [2, 2];
      },
      'Invalid beta parameter at index 0: 2',
    ],
    [
      'betas: [0.9]',
      (g) => {
        g.betas = [0.9];
      },
      'Adam (loaded param group 0): betas must be 2 numbers, got [0.9]',
    ],
    [
      'eps: NaN',
      (g) => {
        g.eps = NaN;
      },
      'Invalid epsilon value: nan',
    ],
    [
      'amsgrad: "yes"',
      (g) => {
        g.amsgrad = 'yes';
      },
      "Adam (loaded param group 0): amsgrad must be a boolean, got string 'yes'",
    ],
    [
      'weight_decay',
      (g) => {
        g.weight_decay = 0.1;
      },
      "Unknown option 'weight_decay' for Adam (loaded param group 0); did you mean 'weightDecay'?",
    ],
  ];
  for (const [name, edit, want] of cases) {
    it(name, async () => {
      const p = param([1, 2]);
      const opt = new optim.Adam([p], { lr: 0.1 });
      await stepOnce(p, opt);
      const before = opt.stateDict();
      const sd = structuredClone(before);
      edit(sd.paramGroups[0]);
      sd.state[0].step = 40; // would be applied if the check came late
      expect(message(() => opt.loadStateDict(sd))).toBe(want);
      expect(opt.stateDict()).toEqual(before);
    });
  }

  it("keeps keys of PyTorch's own that are no option of kiln (foreach, initial_lr)", async () => {
    const p = param([1, 2]);
    const opt = new optim.Adam([p], { lr: 0.1 });
    const sd = opt.stateDict();
    Object.assign(sd.paramGroups[0], { foreach: null, capturable: false, initialLr: 0.1, lr: 0.05 });
    opt.loadStateDict(sd);
    expect(opt.paramGroups[0].lr).toBe(0.05);
  });

  it("an SGD-momentum state loaded into Adam is PyTorch's KeyError: 'step', not a reset step", async () => {
    const p = param([1, 2]);
    const sgd = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    await stepOnce(p, sgd);
    const adam = new optim.Adam([p], { lr: 0.1 });
    await stepOnce(p, adam);
    const before = adam.stateDict();
    expect(message(() => adam.loadStateDict(sgd.stateDict()))).toMatch(
      /^KeyError: 'step' \(the loaded state of parameter 0 has no step; Adam keeps step, expAvg, expAvgSq\)$/,
    );
    expect(adam.stateDict()).toEqual(before);
  });

  it(
    "requires every state tensor the group's step reads " + '(amsgrad: maxExpAvgSq; RMSprop centered: gradAvg)',
    async () => {
      const p = param([1, 2]);
      const adam = new optim.Adam([p], { lr: 0.1 });
      await stepOnce(p, adam);
      const sd = adam.stateDict();
      sd.paramGroups[0].amsgrad = true;
      expect(message(() => adam.loadStateDict(sd))).toMatch(/^KeyError: 'maxExpAvgSq'/);
      const rms = new optim.RMSprop([p], { centered: true });
      await stepOnce(p, rms);
      const rsd = rms.stateDict();
      delete rsd.state[0].gradAvg;
      expect(message(() => rms.loadStateDict(rsd))).toMatch(/^KeyError: 'gradAvg'/);
      const bad = rms.stateDict();
      bad.state[0].step = 'x';
      expect(message(() => rms.loadStateDict(bad))).toBe(
        'loaded state dict: step of parameter 0 must be a non-negative number, got "x"',
      );
    },
  );

  it('SGD needs no state of its own: an Adam state loads, its momentum buffer is None', async () => {
    const p = param([1, 2]);
    const adam = new optim.Adam([p], { lr: 0.1 });
    await stepOnce(p, adam);
    const sgd = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    const sd = adam.stateDict();
    sd.paramGroups[0] = { ...sgd.stateDict().paramGroups[0], params: [0] };
    sgd.loadStateDict(sd);
    expect(sgd.stateDict().state[0].momentumBuffer).toBeNull();
  });
});

describe('a hyperparameter edited in place', () => {
  it('to a non-number fails the next run and changes nothing (it used to train with NaN)', async () => {
    const p = param([1, 2]);
    const opt = new optim.Adam([p], { lr: 0.1 });
    const step = await compile(
      (g: Tensor) => {
        p.grad = g;
        opt.step();
      },
      { inputs: [{ shape: [2], dtype: 'float32' }] },
    );
    await step.run(Float32Array.of(1, 1));
    const before = opt.stateDict(),
      value = Array.from(p.data);
    (opt.paramGroups[0] as { lr: unknown }).lr = 'fast';
    await expect(step.run(Float32Array.of(1, 1))).rejects.toThrow(
      "optimizer paramGroups[0].lr must be a number, got string 'fast'",
    );
    (opt.paramGroups[0] as { betas: unknown }).betas = [0.9, '0.99'];
    opt.paramGroups[0].lr = 0.1;
    await expect(step.run(Float32Array.of(1, 1))).rejects.toThrow(
      "optimizer paramGroups[0].betas[1] must be a number, got string '0.99'",
    );
    expect(opt.stateDict().state).toEqual(before.state);
    expect(Array.from(p.data)).toEqual(value);
    opt.paramGroups[0].betas = [0.9, 0.999];
    await step.run(Float32Array.of(1, 1));
    expect(opt.stateDict().state[0].step).toBe(2);
  });
});

describe('optimizer options with unknown names', () => {
  const P = () => [param([1, 2])];
  it.each([
    [
      'Adam weight_decay',
      () => new optim.Adam(P(), { weight_decay: 0.1 } as never),
      "Unknown option 'weight_decay' for Adam; did you mean 'weightDecay'?",
    ],
    [
      'AdamW decoupledWeightDecay',
      () => new optim.AdamW(P(), { decoupledWeightDecay: false }),
      "Unknown option 'decoupledWeightDecay' for AdamW; " +
        "valid options: 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'",
    ],
    ['SGD lrr', () => new optim.SGD(P(), { lrr: 0.1 } as never), "Unknown option 'lrr' for SGD; did you mean 'lr'?"],
    [
      'Adagrad lr_decay',
      () => new optim.Adagrad(P(), { lr_decay: 0.1 } as never),
      "Unknown option 'lr_decay' for Adagrad; did you mean 'lrDecay'?",
    ],
    [
      'RMSprop Momentum',
      () => new optim.RMSprop(P(), { Momentum: 0.1 } as never),
      "Unknown option 'Momentum' for RMSprop; did you mean 'momentum'?",
    ],
    [
      'far from any',
      () => new optim.SGD(P(), { lr: 0.1, xyzzy: 1 } as never),
      "Unknown option 'xyzzy' for SGD; " +
        "valid options: 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'",
    ],
    [
      'a param group',
      () => new optim.Adam([{ params: P(), weight_decay: 0.1 } as never]),
      "Unknown option 'weight_decay' for Adam param group; did you mean 'weightDecay'?",
    ],
    ['SGD lr "abc"', () => new optim.SGD(P(), { lr: 'abc' as never }), "SGD: lr must be a number, got string 'abc'"],
    [
      'a group lr "abc"',
      () => new optim.SGD([{ params: P(), lr: 'abc' as never }]),
      "SGD param group 0: lr must be a number, got string 'abc'",
    ],
  ])('%s', (_name, make, want) => expect(message(make)).toBe(want));

  it('a group may carry keys of its own, as in PyTorch', () => {
    const opt = new optim.Adam([{ params: P(), name: 'encoder' } as never]);
    expect((opt.paramGroups[0] as never as { name: string }).name).toBe('encoder');
  });
});
