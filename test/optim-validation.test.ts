// Constructor validation with PyTorch 1.13's messages (checked against the installed
// torch.optim sources), and the base class's param-group rules.
import { describe, expect, it } from 'vitest';
import { nn, optim } from '../compiler/index.js';

const P = () => [new nn.Parameter({ shape: [2], data: [1, 2] })];
/** the error's first line (KilnError appends the user's call site) */
function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
  return '(no error)';
}

describe('optimizer constructor validation (PyTorch 1.13 messages)', () => {
  const cases: [string, () => unknown, string][] = [
    ['Adam lr', () => new optim.Adam(P(), { lr: -1 }), 'Invalid learning rate: -1'],
    ['Adam eps', () => new optim.Adam(P(), { eps: -1e-8 }), 'Invalid epsilon value: -1e-08'],
    ['Adam beta 0', () => new optim.Adam(P(), { betas: [1, 0.9] }), 'Invalid beta parameter at index 0: 1'],
    ['Adam beta 1', () => new optim.Adam(P(), { betas: [0.9, -0.5] }), 'Invalid beta parameter at index 1: -0.5'],
    ['Adam weight decay', () => new optim.Adam(P(), { weightDecay: -0.1 }), 'Invalid weight_decay value: -0.1'],
    ['Adam NaN lr', () => new optim.Adam(P(), { lr: NaN }), 'Invalid learning rate: nan'],
    ['AdamW lr', () => new optim.AdamW(P(), { lr: -0.001 }), 'Invalid learning rate: -0.001'],
    ['AdamW beta 0', () => new optim.AdamW(P(), { betas: [1.5, 0.9] }), 'Invalid beta parameter at index 0: 1.5'],
    ['Adagrad lr', () => new optim.Adagrad(P(), { lr: -1 }), 'Invalid learning rate: -1'],
    ['Adagrad lr_decay', () => new optim.Adagrad(P(), { lrDecay: -1 }), 'Invalid lr_decay value: -1'],
    ['Adagrad weight decay', () => new optim.Adagrad(P(), { weightDecay: -1 }), 'Invalid weight_decay value: -1'],
    [
      'Adagrad accumulator',
      () => new optim.Adagrad(P(), { initialAccumulatorValue: -0.1 }),
      'Invalid initial_accumulator_value value: -0.1',
    ],
    ['Adagrad eps', () => new optim.Adagrad(P(), { eps: -1e-10 }), 'Invalid epsilon value: -1e-10'],
    ['RMSprop lr', () => new optim.RMSprop(P(), { lr: -1 }), 'Invalid learning rate: -1'],
    ['RMSprop eps', () => new optim.RMSprop(P(), { eps: -0.00001 }), 'Invalid epsilon value: -1e-05'],
    ['RMSprop momentum', () => new optim.RMSprop(P(), { momentum: -0.5 }), 'Invalid momentum value: -0.5'],
    ['RMSprop weight decay', () => new optim.RMSprop(P(), { weightDecay: -1 }), 'Invalid weight_decay value: -1'],
    ['RMSprop alpha', () => new optim.RMSprop(P(), { alpha: -1 }), 'Invalid alpha value: -1'],
    ['SGD lr', () => new optim.SGD(P(), { lr: -1 }), 'Invalid learning rate: -1'],
    ['SGD momentum', () => new optim.SGD(P(), { lr: 0.1, momentum: -0.5 }), 'Invalid momentum value: -0.5'],
    ['SGD weight decay', () => new optim.SGD(P(), { lr: 0.1, weightDecay: -1 }), 'Invalid weight_decay value: -1'],
    [
      'SGD nesterov without momentum',
      () => new optim.SGD(P(), { lr: 0.1, nesterov: true }),
      'Nesterov momentum requires a momentum and zero dampening',
    ],
    [
      'SGD nesterov with dampening',
      () => new optim.SGD(P(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
      'Nesterov momentum requires a momentum and zero dampening',
    ],
    [
      'SGD without lr',
      () => new optim.SGD(P()),
      "parameter group didn't specify a value of required optimization parameter lr",
    ],
    // PyTorch checks the keywords before it looks at the parameters
    ['keywords first', () => new optim.Adam([], { lr: -1 }), 'Invalid learning rate: -1'],
    ['empty parameter list', () => new optim.Adam([]), 'optimizer got an empty parameter list'],
  ];
  for (const [name, make, want] of cases) it(name, () => expect(message(make)).toBe(want));

  it('accepts the boundary values PyTorch accepts', () => {
    expect(() => new optim.Adam(P(), { lr: 0, eps: 0, betas: [0, 0], weightDecay: 0 })).not.toThrow();
    expect(() => new optim.SGD(P(), { lr: 0.1, momentum: 0.9, nesterov: true })).not.toThrow();
    expect(() => new optim.RMSprop(P(), { alpha: 0, momentum: 0 })).not.toThrow();
  });
});

describe('param groups', () => {
  it('fills every group from the defaults, keeping its overrides', () => {
    const [a, b, c] = [P()[0], P()[0], P()[0]];
    const opt = new optim.RMSprop([{ params: [a, b] }, { params: c, lr: 0.5, centered: true }], { alpha: 0.9 });
    expect(opt.paramGroups.map((g) => g.params.length)).toEqual([2, 1]);
    expect(opt.paramGroups[0]).toMatchObject({
      lr: 1e-2,
      alpha: 0.9,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
    });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.5, alpha: 0.9, centered: true });
    // SGD's required lr may come from each group instead of the defaults
    const sgd = new optim.SGD([{ params: [a], lr: 0.1 }]);
    expect(sgd.paramGroups[0].lr).toBe(0.1);
  });

  it('rejects a parameter in two groups, and non-parameters', () => {
    const a = P()[0];
    expect(message(() => new optim.Adam([{ params: [a] }, { params: [a], lr: 0.1 }]))).toBe(
      'some parameters appear in more than one parameter group',
    );
    const opt = new optim.Adam([a]);
    expect(message(() => opt.addParamGroup({ params: [a] }))).toBe(
      'some parameters appear in more than one parameter group',
    );
    expect(opt.paramGroups).toHaveLength(1);
    expect(message(() => new optim.Adam([{ params: new Set(P()) }]))).toMatch(/ordered collections/);
    expect(message(() => new optim.Adam([a.mul(2)] as never))).toBe("can't optimize a non-leaf Tensor");
    expect(message(() => new optim.Adam([{ params: [3] }] as never))).toBe(
      'optimizer can only optimize Tensors, but one of the params is number',
    );
  });
});
