// Schedulers driving a compiled training step, against PyTorch 1.13 (test/fixtures/lr-scheduler/
// train.json, made by schedulers.py there): Linear(3,4)-Tanh-Linear(4,1), MSE, 10 steps of
// SGD(momentum 0.9)+StepLR and of Adam+OneCycleLR (which also cycles betas[0]); the weights after
// every step within 1e-5 of PyTorch's, and the step never re-traced by the schedule (the lr and
// betas are live hyperparameters). Then gradient accumulation: two backward() in one compiled step,
// and across two compiled calls without zeroGrad, give p.grad = g1 + g2 and PyTorch's update.
// Targets: KILN_TARGETS (default reference); lr-scheduler-native/-webgpu.test.ts set it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, nn, optim, type Tensor } from '../compiler/index.js';
import { f32, goldenTargets, relErr, toStateDict, type GoldenTensor } from './helpers/golden.js';
import { trainingStep } from './helpers/seed.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/lr-scheduler');
const golden = JSON.parse(readFileSync(path.join(dir, 'train.json'), 'utf8'));
type Sd = Record<string, GoldenTensor>;
interface Trajectory {
  init: Sd;
  inputs: GoldenTensor[];
  targets: GoldenTensor[];
  losses: number[];
  lrs: number[];
  after: Sd[];
}
const TOL = 1e-5;
const spec = (t: GoldenTensor) => ({ shape: t.shape, dtype: 'float32' as const });

function worstErr(sd: Record<string, { data: ArrayLike<number> }>, want: Sd): number {
  return Math.max(...Object.entries(want).map(([k, t]) => relErr(sd[k].data, t.data)));
}

for (const target of goldenTargets()) {
  describe(`schedulers in a compiled training step on ${target}`, () => {
    for (const name of ['sgd_steplr', 'adam_onecycle'] as const) {
      it(`${name}: PyTorch's weights after each step, no re-trace when the lr changes`, async () => {
        const g: Trajectory = golden[name];
        const model = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 1));
        model.loadStateDict(toStateDict(g.init));
        const criterion = new nn.MSELoss();
        let optimizer: optim.Optimizer<any>, scheduler: optim.lrScheduler.LRScheduler;
        if (name === 'sgd_steplr') {
          optimizer = new optim.SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });
          scheduler = new optim.lrScheduler.StepLR(optimizer, 3, { gamma: 0.5 });
        } else {
          optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
          scheduler = new optim.lrScheduler.OneCycleLR(optimizer, 0.05, { totalSteps: 10, pctStart: 0.3 });
        }
        const step = await compile(trainingStep(model, criterion, optimizer), {
          inputs: [spec(g.inputs[0]), spec(g.targets[0])],
          target,
        });
        let worst = 0,
          tracesAfterFirst = 0;
        const betas: number[] = [];
        for (let k = 0; k < g.losses.length; k++) {
          expect(optimizer.paramGroups[0].lr, `lr before step ${k}`).toBe(g.lrs[k]);
          if (name === 'adam_onecycle') betas.push((optimizer.paramGroups[0] as any).betas[0]);
          const loss = (await step.run(f32(g.inputs[k]), f32(g.targets[k]))).item();
          scheduler.step();
          await step.sync();
          // SGD's momentum buffer is None before the first step: one re-trace when it is set
          if (k === 1) tracesAfterFirst = step.programs.length;
          const err = worstErr(model.stateDict(), g.after[k]);
          worst = Math.max(worst, err);
          expect(err, `${name} weights after step ${k}`).toBeLessThanOrEqual(TOL);
          expect(Math.abs(loss - g.losses[k]) / Math.abs(g.losses[k]), `${name} loss ${k}`).toBeLessThanOrEqual(1e-5);
        }
        expect(new Set(g.lrs).size, 'the schedule changed the lr').toBeGreaterThan(2);
        if (name === 'adam_onecycle') expect(new Set(betas).size, 'betas[0] cycled').toBeGreaterThan(2);
        expect(step.programs.length, 'programs traced: the schedule must not re-trace').toBe(tracesAfterFirst);
        console.log(
          `${target} ${name}: weights vs PyTorch, worst norm-wise relative error ${worst.toExponential(2)}; ` +
            `${step.programs.length} program(s) traced for 10 steps`,
        );
      });
    }

    describe('gradient accumulation (several backward() before one step(), as PyTorch)', () => {
      const a = golden.accumulation as {
        init: Sd;
        inputs: GoldenTensor[];
        targets: GoldenTensor[];
        grad_first: Sd;
        grad_sum: Sd;
        after: Sd;
      };
      const setup = () => {
        const model = new nn.Linear(3, 2);
        model.loadStateDict(toStateDict(a.init));
        const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
        const loss = (x: Tensor, y: Tensor) => new nn.MSELoss().forward(model.forward(x), y);
        return { model, optimizer, loss };
      };
      const xy = (i: number) => [f32(a.inputs[i]), f32(a.targets[i])];
      const specs = [spec(a.inputs[0]), spec(a.targets[0])];

      it('two backward() calls inside one compiled step', async () => {
        const { model, optimizer, loss } = setup();
        const step = await compile(
          (x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor) => {
            optimizer.zeroGrad();
            loss(x1, y1).backward();
            loss(x2, y2).backward();
            const grads = [model.weight.grad!, model.bias!.grad!];
            optimizer.step();
            return grads;
          },
          { inputs: [...specs, ...specs], target },
        );
        const [gw, gb] = await step.run(...xy(0), ...xy(1));
        await step.sync();
        expect(relErr(gw.data, a.grad_sum.weight.data), 'weight grad = g1 + g2').toBeLessThanOrEqual(TOL);
        expect(relErr(gb.data, a.grad_sum.bias.data), 'bias grad = g1 + g2').toBeLessThanOrEqual(TOL);
        expect(worstErr(model.stateDict(), a.after), 'weights after the step').toBeLessThanOrEqual(TOL);
      });

      it('across two compiled calls without zeroGrad between', async () => {
        const { model, optimizer, loss } = setup();
        const first = await compile(
          (x: Tensor, y: Tensor) => {
            optimizer.zeroGrad();
            loss(x, y).backward();
          },
          { inputs: specs, target },
        );
        const accumulate = await compile(
          (x: Tensor, y: Tensor) => {
            loss(x, y).backward(); // adds to the grads the first call left
            optimizer.step();
          },
          { inputs: specs, target },
        );
        await first.run(...xy(0));
        await first.sync();
        expect(relErr(model.weight.grad!.data, a.grad_first.weight.data), 'g1').toBeLessThanOrEqual(TOL);
        await accumulate.run(...xy(1));
        await accumulate.sync();
        expect(relErr(model.weight.grad!.data, a.grad_sum.weight.data), 'weight grad g1 + g2').toBeLessThanOrEqual(TOL);
        expect(relErr(model.bias!.grad!.data, a.grad_sum.bias.data), 'bias grad g1 + g2').toBeLessThanOrEqual(TOL);
        expect(worstErr(model.stateDict(), a.after), 'weights after the step').toBeLessThanOrEqual(TOL);
      });
    });
  });
}
