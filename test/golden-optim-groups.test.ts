// param_groups.json: Adam with two parameter groups (group 1 overrides lr, betas and amsgrad).
// After step 6 PyTorch saved state_dict() and loaded it into a fresh optimizer over the same
// parameters: the round trip must not change the trajectory.
import { describe, expect, it } from 'vitest';
import { optim, compile, type Tensor, type nn } from '../compiler/index.js';
import {
  camelOptions,
  f32,
  goldenCheck,
  goldenTargets,
  loadGolden,
  toParameter,
  type GoldenTensor,
} from './helpers/golden.js';

interface GroupsGolden {
  groups: ({ params: number[] } & Record<string, unknown>)[];
  defaults: Record<string, unknown>;
  init: GoldenTensor[];
  grads: GoldenTensor[][];
  params_after_each_step: GoldenTensor[][];
  state_dict_roundtrip_after_step: number;
}

function makeAdam(g: GroupsGolden, params: nn.Parameter[]): optim.Adam {
  const groups = g.groups.map(({ params: ids, ...o }) => ({ ...camelOptions(o), params: ids.map((i) => params[i]) }));
  return new optim.Adam(groups, camelOptions(g.defaults));
}

async function compiledStep(params: nn.Parameter[], opt: optim.Adam, target: string) {
  return compile(
    (...gs: Tensor[]) => {
      params.forEach((p, i) => {
        p.grad = gs[i];
      });
      opt.step();
    },
    { inputs: params.map((p) => ({ shape: p.shape, dtype: 'float32' as const })), target },
  );
}

for (const target of goldenTargets()) {
  describe(`param groups golden (PyTorch 1.13) on ${target}`, () => {
    it('follows PyTorch through a state-dict round trip into a fresh optimizer', async () => {
      const { err: relErr, tol } = goldenCheck(target); // exact on CPU targets, 1e-5 norm-wise on WebGPU
      const g = loadGolden<GroupsGolden>('param_groups');
      const params = g.init.map(toParameter);
      let opt = makeAdam(g, params);
      expect(opt.paramGroups[0]).toMatchObject({ lr: 0.01, betas: [0.9, 0.999], weightDecay: 0.01, amsgrad: false });
      expect(opt.paramGroups[1]).toMatchObject({ lr: 0.05, betas: [0.7, 0.9], weightDecay: 0.01, amsgrad: true });
      let step = await compiledStep(params, opt, target);
      for (let k = 0; k < g.grads.length; k++) {
        await step.run(...g.grads[k].map(f32));
        await step.sync();
        params.forEach((p, i) => {
          expect(relErr(p.data, g.params_after_each_step[k][i].data), `step ${k} param ${i}`).toBeLessThanOrEqual(tol);
        });
        if (k + 1 === g.state_dict_roundtrip_after_step) {
          const saved = structuredClone(opt.stateDict());
          expect(saved.paramGroups.map((pg) => pg.params)).toEqual([[0, 1], [2]]);
          expect(Object.keys(saved.state[2]).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
          expect(saved.state[0].step).toBe(k + 1);
          opt = makeAdam(g, params);
          opt.loadStateDict(saved);
          expect(opt.stateDict()).toEqual(saved);
          step = await compiledStep(params, opt, target);
        }
      }
    });
  });
}
