// PyTorch 1.13's NLLLoss, BCELoss, BCEWithLogitsLoss and KLDivLoss (layers and F forms) on every target
// (test/fixtures/layers/losses3.py): class weights and ignoreIndex (4-D and unbatched NLL inputs), BCE
// weights and posWeight broadcast over the last dim, every reduction, logTarget and batchmean.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nn, tensor } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'nll 4d weight mean': { fn: (x, t, w) => new nn.NLLLoss({ weight: w.detach() }).forward(x, t) },
  'F nll 3d ignore none': { fn: (x, t) => F.nllLoss(x, t, { ignoreIndex: 2, reduction: 'none' }) },
  'F nll unbatched': { fn: (x, t) => F.nllLoss(x, t) },
  'F bce default': { fn: (p, y) => F.binaryCrossEntropy(p, y) },
  'F bce small probabilities none': { fn: (p, y) => F.binaryCrossEntropy(p, y, { reduction: 'none' }) },
  'bce logits weight pos weight mean': {
    fn: (z, y, w, pw) => new nn.BCEWithLogitsLoss({ weight: w.detach(), posWeight: pw.detach() }).forward(z, y),
  },
  'F bce logits weight sum': {
    fn: (z, y, w) => F.binaryCrossEntropyWithLogits(z, y, { weight: w.detach(), reduction: 'sum' }),
  },
  'F bce logits default': { fn: (z, y) => F.binaryCrossEntropyWithLogits(z, y) },
  'kl zero target sum': { fn: (x, y) => new nn.KLDivLoss({ reduction: 'sum' }).forward(x, y.detach()) },
  'kl log target none': { fn: (x, y) => new nn.KLDivLoss({ reduction: 'none', logTarget: true }).forward(x, y) },
  'F kl log target batchmean': { fn: (x, y) => F.klDiv(x, y, { reduction: 'batchmean', logTarget: true }) },
};
for (const reduction of ['mean', 'sum', 'none'] as const) {
  SPECS[`nll weight ignore ${reduction}`] = {
    fn: (x, t, w) => new nn.NLLLoss({ weight: w.detach(), ignoreIndex: 1, reduction }).forward(x, t),
  };
  SPECS[`bce weight ${reduction}`] = {
    fn: (p, y, w) => new nn.BCELoss({ weight: w.detach(), reduction }).forward(p, y),
  };
  SPECS[`bce logits pos weight ${reduction}`] = {
    fn: (z, y, pw) => new nn.BCEWithLogitsLoss({ posWeight: pw.detach(), reduction }).forward(z, y),
  };
}
for (const reduction of ['batchmean', 'mean', 'sum', 'none'] as const) {
  SPECS[`kl ${reduction}`] = { fn: (x, y) => new nn.KLDivLoss({ reduction }).forward(x, y) };
}

describeLayerGoldens('probability losses on %s', 'losses3', SPECS);

describe('probability loss errors and warnings', () => {
  afterEach(() => vi.restoreAllMocks());
  const x = tensor(
    Float32Array.from({ length: 15 }, (_, i) => Math.sin(i)),
    { shape: [3, 5] },
  );
  const idx = (...v: number[]) => tensor(Int32Array.from(v), { dtype: 'int32' });

  it("NLLLoss uses PyTorch's batch size sentence and checks weights and targets", () => {
    expect(() => new nn.NLLLoss().forward(x, idx(0, 1))).toThrow(
      'NLLLoss: Expected input batch_size (3) to match target batch_size (2).',
    );
    expect(() => new nn.NLLLoss({ weight: [1, 2] }).forward(x, idx(0, 1, 2))).toThrow(
      'weight tensor should be defined either for all 5 classes or no classes',
    );
    expect(() => new nn.NLLLoss().forward(x, idx(0, 1, 5))).toThrow(/Target 5 is out of bounds/);
    expect(() => new nn.NLLLoss().forward(x, tensor([0, 1, 2]))).toThrow(/int32 class indices of shape \[3\]/);
    expect(() => new nn.NLLLoss({ ignore_index: 1 } as never)).toThrow(/ignoreIndex/);
    // ignoreIndex may be out of range; all ignored is 0/0 as in PyTorch
    expect(new nn.NLLLoss({ ignoreIndex: 7 }).forward(x, idx(7, 7, 7)).item()).toBeNaN();
  });

  it("BCE losses refuse a target of another size with PyTorch's sentences", () => {
    const p = x.sigmoid();
    expect(() => F.binaryCrossEntropy(p, p.reshape([15]))).toThrow(
      'BCELoss: Using a target size ([15]) that is different to the input size ([3, 5]) is deprecated. ' +
        'Please ensure they have the same size.',
    );
    expect(() => new nn.BCEWithLogitsLoss().forward(x, p.slice(0, 0, 2))).toThrow(
      'BCEWithLogitsLoss: Target size ([2, 5]) must be the same as input size ([3, 5])',
    );
    expect(() => new nn.BCEWithLogitsLoss({ posWeight: [1, 2, 3] }).forward(x, p)).toThrow(
      /pos_weight must be a float32 tensor that broadcasts to the input's shape \[3, 5\]/,
    );
    expect(() => new nn.BCELoss({ reduction: 'batchmean' as never })).toThrow(
      'batchmean is not a valid value for reduction',
    );
  });

  it("KLDivLoss warns for 'mean' with PyTorch's text and only then", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const lq = x.logSoftmax(1),
      pt = x.mul(2).softmax(1);
    new nn.KLDivLoss({ reduction: 'batchmean' }).forward(lq, pt);
    expect(warn).not.toHaveBeenCalled();
    const mean = new nn.KLDivLoss().forward(lq, pt).item();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("reduction: 'mean' divides the total loss by both"));
    // 'mean' divides by every element, 'batchmean' by the batch
    expect(mean * 5).toBeCloseTo(new nn.KLDivLoss({ reduction: 'batchmean' }).forward(lq, pt).item(), 6);
    expect(() => new nn.KLDivLoss({ reduction: 'avg' as never })).toThrow('avg is not a valid value for reduction');
  });
});
