// BatchNorm1d/2d and F.batchNorm against PyTorch 1.13 (test/fixtures/layers/batchnorm.py) on every
// target: outputs, gradients, and the running statistics after several compiled steps; their errors.
import { describe, expect, it } from 'vitest';
import { KilnError, nn, tensor, zeros } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const rm = tensor([-0.5, 0.25, 1.0]),
  rv = tensor([0.5, 2.0, 1.5]);
const SPECS: Record<string, LayerCaseSpec> = {
  'bn1d [N,C] momentum 0.3': { module: () => new nn.BatchNorm1d(4, { momentum: 0.3 }) },
  'bn1d [N,C,L] momentum 0.3': { module: () => new nn.BatchNorm1d(3, { momentum: 0.3 }) },
  'bn2d eps affine': { module: () => new nn.BatchNorm2d(3, { eps: 1e-3 }) },
  'bn2d momentum None': { module: () => new nn.BatchNorm2d(2, { momentum: null }) },
  'bn1d eval': { module: () => new nn.BatchNorm1d(4, { eps: 1e-2 }).eval() },
  'bn2d no affine': { module: () => new nn.BatchNorm2d(3, { affine: false, momentum: 0.5 }) },
  'bn1d no running stats': { module: () => new nn.BatchNorm1d(3, { trackRunningStats: false }) },
  'bn1d no running stats eval': { module: () => new nn.BatchNorm1d(3, { trackRunningStats: false }).eval() },
  'f.batch_norm eval': { fn: (x, w, b) => F.batchNorm(x, rm, rv, { weight: w, bias: b, eps: 1e-2 }) },
  'f.batch_norm training no stats': {
    fn: (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true, eps: 1e-3 }),
  },
};

describeLayerGoldens('batch norms on %s', 'batchnorm', SPECS);

describe('BatchNorm', () => {
  it("has PyTorch's state_dict keys, buffers and defaults", () => {
    const bn = new nn.BatchNorm2d(2);
    expect(Object.keys(bn.stateDict())).toEqual([
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    expect([...bn.namedBuffers()].map(([k]) => k)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.stateDict().num_batches_tracked).toEqual({ shape: [], data: Float32Array.of(0), dtype: 'int32' });
    expect(Array.from(bn.runningVar!.data)).toEqual([1, 1]);
    expect([bn.eps, bn.momentum, bn.affine, bn.trackRunningStats]).toEqual([1e-5, 0.1, true, true]);
    const plain = new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false });
    expect(Object.keys(plain.stateDict())).toEqual([]);
    expect([plain.running_mean, plain.weight, plain.buffers().length]).toEqual([null, null, 0]);
    expect(Object.keys(new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3)).stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
    ]);
  });

  it('updates the running statistics eagerly too, and eval uses them', () => {
    const bn = new nn.BatchNorm1d(2, { momentum: 0.5 });
    const x = tensor([
      [1, 10],
      [3, 20],
    ]);
    bn.forward(x);
    expect(Array.from(bn.running_mean!.data)).toEqual([1, 7.5]); // 0.5 * 0 + 0.5 * [2, 15]
    expect(Array.from(bn.running_var!.data)).toEqual([1.5, 25.5]); // 0.5 * 1 + 0.5 * [2, 50] (unbiased)
    expect(bn.num_batches_tracked!.data[0]).toBe(1);
    bn.eval();
    const y = bn.forward(x).data;
    expect(y[0]).toBeCloseTo(0 / Math.sqrt(1.5 + 1e-5), 6);
    expect(y[3]).toBeCloseTo(12.5 / Math.sqrt(25.5 + 1e-5), 6);
    expect(bn.num_batches_tracked!.data[0]).toBe(1); // eval counts nothing
  });

  it("rejects bad inputs with PyTorch's messages and changes no state", () => {
    const bn1 = new nn.BatchNorm1d(3);
    expect(() => bn1.forward(zeros([2, 3, 4, 5]))).toThrow(KilnError);
    expect(() => bn1.forward(zeros([2, 3, 4, 5]))).toThrow('expected 2D or 3D input (got 4D input)');
    expect(() => bn1.forward(zeros([1, 3]))).toThrow(
      'Expected more than 1 value per channel when training, got input size [1, 3]',
    );
    expect(() => bn1.forward(zeros([2, 4]))).toThrow('running_mean should contain 4 elements not 3');
    expect(bn1.num_batches_tracked!.data[0]).toBe(0);
    expect(() => new nn.BatchNorm2d(3).forward(zeros([2, 3, 4]))).toThrow('expected 4D input (got 3D input)');
    expect(() => new nn.BatchNorm1d(3, { momentun: 0.2 } as never)).toThrow(/Unknown option 'momentun'/);
    expect(() => F.batchNorm(zeros([2, 3]), tensor([0, 0, 0]), tensor([1, 1, 1]), { training: true })).toThrow(
      /must be a module buffer/,
    );
    expect(() => F.batchNorm(zeros([2, 3]), null, null)).toThrow(/must be defined when training is false/);
  });
});
