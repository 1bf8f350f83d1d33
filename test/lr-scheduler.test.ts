// optim.lrScheduler against PyTorch 1.13 (test/fixtures/lr-scheduler/schedulers.json, made by
// schedulers.py there): every scheduler with non-default options over an optimizer of two param
// groups of different lr, each group's lr and momentum (betas[0] for Adam) after construction and
// after each of 30 steps, within 1e-12 relative (float64 on both sides); the final state dict's
// common keys; a state-dict round trip that resumes the schedule; PyTorch's argument errors.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nn, optim, compile, tensor, type Tensor } from '../compiler/index.js';
import { camelOptions } from './helpers/golden.js';

const S = optim.lrScheduler;
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/lr-scheduler');
interface Spec {
  scheduler: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  schedulers?: Spec[];
  milestones?: number[];
}
interface Case extends Spec {
  name: string;
  optimizer: 'sgd' | 'adam';
  metrics: number[] | null;
  trace: { lr: number[]; momentum: number[] }[];
  last_lr: (number[] | null)[];
  state: Record<string, unknown>;
  groups: Record<string, number>[];
}
const golden: { steps: number; cases: Case[] } = JSON.parse(readFileSync(path.join(dir, 'schedulers.json'), 'utf8'));

const LAMBDAS: Record<string, (e: number) => number> = {
  pow095: (e) => 0.95 ** e,
  inv: (e) => 1.0 / (e + 1),
  mul09: () => 0.9,
  mulsq: (e) => 1.0 - 0.01 * e,
};

function makeOpt(kind: 'sgd' | 'adam') {
  const a = new nn.Parameter({ shape: [2], data: [0, 0] }),
    b = new nn.Parameter({ shape: [3], data: [0, 0, 0] });
  return kind === 'sgd'
    ? new optim.SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1, momentum: 0.9 })
    : new optim.Adam([{ params: [a] }, { params: [b], lr: 0.003, betas: [0.8, 0.99] }], { lr: 0.02 });
}

function build(opt: optim.Optimizer<any>, spec: Spec): any {
  if (spec.scheduler === 'SequentialLR') {
    return new S.SequentialLR(
      opt,
      spec.schedulers!.map((s) => build(opt, s)),
      spec.milestones!,
    );
  }
  const args = spec.args.map((a) =>
    typeof a === 'string' ? LAMBDAS[a] : Array.isArray(a) && typeof a[0] === 'string' ? a.map((x) => LAMBDAS[x]) : a,
  );
  const Cls = (S as Record<string, any>)[spec.scheduler];
  return new Cls(opt, ...args, camelOptions(spec.kwargs));
}

const record = (opt: optim.Optimizer<any>) => ({
  lr: opt.paramGroups.map((g: any) => g.lr as number),
  momentum: opt.paramGroups.map((g: any) => (g.betas ? g.betas[0] : g.momentum) as number),
});

/** relative error in float64: 0 when equal */
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));
const TOL = 1e-12;

function expectClose(got: number[], want: number[], label: string): number {
  expect(got.length, label).toBe(want.length);
  let worst = 0;
  got.forEach((g, i) => {
    const e = rel(g, want[i]);
    worst = Math.max(worst, e);
    expect(e, `${label} [${i}]: ${g} vs PyTorch ${want[i]}`).toBeLessThanOrEqual(TOL);
  });
  return worst;
}

describe('lr schedulers match PyTorch 1.13, step by step', () => {
  let worstAll = 0;
  for (const c of golden.cases) {
    it(c.name, () => {
      const opt = makeOpt(c.optimizer);
      const sched = build(opt, c);
      let worst = 0;
      const check = (k: number) => {
        const want = c.trace[k],
          got = record(opt);
        worst = Math.max(worst, expectClose(got.lr, want.lr, `${c.name} lr after step ${k}`));
        worst = Math.max(worst, expectClose(got.momentum, want.momentum, `${c.name} momentum after step ${k}`));
        if (c.last_lr[k]) worst = Math.max(worst, expectClose(sched.getLastLr(), c.last_lr[k]!, `${c.name} getLastLr`));
      };
      check(0);
      for (let k = 0; k < golden.steps; k++) {
        if (c.metrics) sched.step(c.metrics[k]);
        else sched.step();
        check(k + 1);
      }
      const sd = sched.stateDict();
      for (const [k, v] of Object.entries(c.state)) {
        if (Array.isArray(v)) expectClose(sd[k] as number[], v as number[], `${c.name} stateDict ${k}`);
        else expect(sd[k], `${c.name} stateDict ${k}`).toBe(v);
      }
      c.groups.forEach((want, i) => {
        for (const [k, v] of Object.entries(want)) {
          expect(rel((opt.paramGroups[i] as any)[k], v), `${c.name} group ${i} ${k}`).toBeLessThanOrEqual(TOL);
        }
      });
      worstAll = Math.max(worstAll, worst);
      console.log(`${c.name}: worst relative difference from PyTorch ${worst.toExponential(2)}`);
    });
  }
  it('(summary)', () => console.log(`all schedulers: worst relative difference ${worstAll.toExponential(2)}`));
});

describe('lr scheduler state dicts', () => {
  // halfway through, save optimizer and scheduler, load both into fresh ones: the rest of the
  // schedule is PyTorch's (the resumed scheduler is built with lastEpoch, as PyTorch requires)
  for (const name of ['step', 'cosine', 'onecycle_adam_linear', 'sequential', 'plateau_min', 'lambda']) {
    it(`${name}: resumes from stateDict()`, () => {
      const c = golden.cases.find((x) => x.name === name)!;
      const opt = makeOpt(c.optimizer);
      const sched = build(opt, c);
      const stepOnce = (s: any, k: number) => (c.metrics ? s.step(c.metrics[k]) : s.step());
      for (let k = 0; k < 13; k++) stepOnce(sched, k);
      const optSd = JSON.parse(JSON.stringify(opt.stateDict()));
      const sd = structuredClone(sched.stateDict());
      const opt2 = makeOpt(c.optimizer);
      const sched2 = build(opt2, c); // a fresh schedule at epoch 0 ...
      opt2.loadStateDict(optSd); // ... then the saved groups (lr, initialLr, momentum) and schedule
      sched2.loadStateDict(sd);
      expect(record(opt2)).toEqual(c.trace[13]);
      for (let k = 13; k < golden.steps; k++) {
        stepOnce(sched2, k);
        expectClose(record(opt2).lr, c.trace[k + 1].lr, `${name} resumed step ${k}`);
        expectClose(record(opt2).momentum, c.trace[k + 1].momentum, `${name} resumed momentum ${k}`);
      }
    });
  }

  it('use camelCased PyTorch keys', () => {
    const s = new S.StepLR(makeOpt('sgd'), 3, { gamma: 0.5 });
    expect(Object.keys(s.stateDict()).sort()).toEqual(
      [
        '_getLrCalledWithinStep',
        '_lastLr',
        '_stepCount',
        'baseLrs',
        'gamma',
        'lastEpoch',
        'stepSize',
        'verbose',
      ].sort(),
    );
    expect(s.stateDict()).toMatchObject({ stepSize: 3, gamma: 0.5, lastEpoch: 0, _stepCount: 1, baseLrs: [0.1, 0.01] });
    const opt = makeOpt('adam');
    new S.OneCycleLR(opt, 0.1, { totalSteps: 10 });
    expect(Object.keys(opt.paramGroups[0]).filter((k) => /Lr|Momentum/.test(k))).toEqual([
      'initialLr',
      'maxLr',
      'minLr',
      'maxMomentum',
      'baseMomentum',
    ]);
    expect(() => s.loadStateDict({ last_epoch: 4 })).toThrow("Unknown option 'last_epoch'");
    expect(s.lastEpoch).toBe(0);
  });
});

describe('lr scheduler errors and checks (PyTorch messages)', () => {
  it('rejects invalid arguments', () => {
    const opt = makeOpt('sgd');
    expect(() => new S.OneCycleLR(opt, 0.1)).toThrow(
      'You must define either total_steps OR (epochs AND steps_per_epoch)',
    );
    expect(() => new S.OneCycleLR(opt, 0.1, { totalSteps: 0 })).toThrow(
      'Expected positive integer total_steps, but got 0',
    );
    expect(() => new S.OneCycleLR(opt, 0.1, { epochs: 2 })).toThrow('Expected positive integer steps_per_epoch');
    expect(() => new S.OneCycleLR(opt, 0.1, { totalSteps: 5, pctStart: 1.5 })).toThrow(
      'Expected float between 0 and 1 pct_start, but got 1.5',
    );
    expect(() => new S.OneCycleLR(opt, 0.1, { totalSteps: 5, annealStrategy: 'exp' as any })).toThrow(
      "anneal_strategy must by one of 'cos' or 'linear', instead got exp",
    );
    expect(() => new S.OneCycleLR(opt, [0.1], { totalSteps: 5 })).toThrow('expected 2 values for max_lr, got 1');
    const ada = new optim.Adagrad([new nn.Parameter({ shape: [1], data: [0] })]);
    expect(() => new S.OneCycleLR(ada, 0.1, { totalSteps: 5 })).toThrow(
      'optimizer must support momentum with `cycle_momentum` option enabled',
    );
    expect(opt.paramGroups[0]).not.toHaveProperty('maxLr'); // rejected: the groups are untouched
    expect(() => new S.LinearLR(opt, { startFactor: 2 })).toThrow(
      'Starting multiplicative factor expected to be between 0 and 1.',
    );
    expect(() => new S.StepLR(opt, 2, { gama: 0.5 } as any)).toThrow("did you mean 'gamma'?");
    expect(() => new S.StepLR({} as any, 2)).toThrow('Object is not an Optimizer');
    expect(() => new S.LambdaLR(opt, [LAMBDAS.inv])).toThrow('Expected 2 lr_lambdas, but got 1');
    expect(() => new S.ReduceLROnPlateau(opt, { factor: 1 })).toThrow('Factor should be < 1.0.');
    expect(() => new S.ReduceLROnPlateau(opt, { mode: 'up' as any })).toThrow('mode up is unknown!');
    expect(() => new S.ReduceLROnPlateau(opt, { minLr: [0] })).toThrow('expected 2 min_lrs, got 1');
    expect(() => new S.StepLR(makeOpt('sgd'), 2, { lastEpoch: 3 })).toThrow(
      "param 'initialLr' is not specified in paramGroups[0] when resuming an optimizer",
    );
    const s1 = new S.StepLR(opt, 2);
    expect(() => new S.SequentialLR(opt, [s1], [3])).toThrow(
      'expects number of schedulers provided to be one more than the number of milestone points',
    );
    expect(() => new S.SequentialLR(makeOpt('sgd'), [s1], [])).toThrow('to be different than the optimizer passed in');
  });

  it('OneCycleLR past its total steps throws and changes nothing', () => {
    const opt = makeOpt('sgd');
    const s = new S.OneCycleLR(opt, 0.1, { totalSteps: 3 });
    for (let k = 0; k < 3; k++) s.step();
    const before = { lr: opt.paramGroups[0].lr, sd: s.stateDict() };
    expect(() => s.step()).toThrow('Tried to step 5 times. The specified number of total steps is 3');
    expect(s.stateDict()).toEqual(before.sd);
    expect(opt.paramGroups[0].lr).toBe(before.lr);
  });

  it('ReduceLROnPlateau reads a 0-d Tensor metric', () => {
    const opt = makeOpt('sgd');
    const s = new S.ReduceLROnPlateau(opt, { patience: 0 });
    s.step(tensor([2]).sum());
    s.step(tensor([3]).sum()); // worse: patience 0 reduces at once
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1 * 0.1, 0.01 * 0.1]);
    expect(s.best).toBe(2);
    expect(() => s.step(tensor([1, 2]))).toThrow('only one element tensors can be converted to Python scalars');
  });

  it('step() inside a compiled function is an error (it belongs between runs)', async () => {
    const p = new nn.Parameter({ shape: [1], data: [1] });
    const opt = new optim.SGD([p], { lr: 0.1 });
    const s = new S.StepLR(opt, 1);
    await expect(
      compile(
        (g: Tensor) => {
          p.grad = g;
          opt.step();
          s.step();
        },
        { inputs: [{ shape: [1], dtype: 'float32' }] },
      ),
    ).rejects.toThrow('lr_scheduler.step() runs on the host between compiled steps');
  });
});
