// Hyperparameter records and the names derived from them: the host program's variables and a
// bundle's host values are keyed by these names, so they must stay exactly as printed here.
import { describe, expect, it } from 'vitest';
import { GUARD_RULES, guardText, hyperName, paramGroupPath } from '../runtime/hyper-ref.js';
import { nn, optim, type Tensor } from '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { HyperCell, HyperGuardCell } from '../compiler/optim/live.js';

describe('hyperparameter records', () => {
  it('derive one printed name each', () => {
    expect(hyperName({ optimizer: 0, group: 1, key: 'lr' })).toBe('opt0.group1.lr');
    expect(hyperName({ optimizer: 2, group: 0, key: 'betas', index: 1 })).toBe('opt2.group0.betas[1]');
    expect(hyperName({ optimizer: 0, group: 1, key: 'amsgrad', rule: 'flag' })).toBe('opt0.group1.amsgrad');
    expect(hyperName({ optimizer: 0, group: 1, key: 'weightDecay', rule: 'nonzero' })).toBe(
      'opt0.group1.weightDecay!=0',
    );
    expect(hyperName({ optimizer: 0, group: 0, key: 'momentum', rule: 'positive' })).toBe('opt0.group0.momentum>0');
    expect(hyperName({ optimizer: 3, layout: 2 })).toBe('opt3.layout@2');
    expect(paramGroupPath({ group: 1, key: 'betas', index: 0 })).toBe('paramGroups[1].betas[0]');
  });

  it('rules and their text', () => {
    expect([GUARD_RULES.flag(0), GUARD_RULES.nonzero(0), GUARD_RULES.positive(-1)]).toEqual([false, false, false]);
    expect([GUARD_RULES.flag(true), GUARD_RULES.nonzero(0.1), GUARD_RULES.positive(0.5)]).toEqual([true, true, true]);
    expect(guardText('amsgrad', 'flag', true)).toBe('amsgrad true');
    expect(guardText('weightDecay', 'nonzero', false)).toBe('weightDecay == 0');
    expect(guardText('momentum', 'positive', false)).toBe('momentum <= 0');
  });

  it('a traced step carries the records on its host cells and guards', async () => {
    const lin = new nn.Linear(2, 1);
    const opt = new optim.Adam(lin.parameters(), { lr: 0.01, weightDecay: 0.1 });
    const t = trace(
      (x: Tensor) => {
        const loss = lin.forward(x).sum();
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      [{ shape: [1, 2], dtype: 'float32' }],
    );
    const refs = t.hostCells
      .map((h) => h.cell)
      .filter((c) => c instanceof HyperCell)
      .map((c) => c.ref);
    expect(refs).toContainEqual({ optimizer: opt.liveId, group: 0, key: 'lr' });
    expect(refs).toContainEqual({ optimizer: opt.liveId, group: 0, key: 'betas', index: 1 });
    const guards = [...t.assumed]
      .filter(([c]) => c instanceof HyperGuardCell)
      .map(([c, holds]) => [(c as HyperGuardCell).ref, holds]);
    expect(guards).toContainEqual([{ optimizer: opt.liveId, group: 0, key: 'weightDecay', rule: 'nonzero' }, true]);
    expect(guards).toContainEqual([{ optimizer: opt.liveId, group: 0, key: 'amsgrad', rule: 'flag' }, false]);
    expect(guards.some(([r]) => 'layout' in (r as object))).toBe(true);
  });
});
