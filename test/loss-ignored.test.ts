// CrossEntropyLoss edge cases against PyTorch 1.13 (issue #9): a mean over a batch whose targets
// are all ignoreIndex is NaN with a zero gradient, so training goes on (the gradient was NaN and
// poisoned every weight); probability targets take any negative ignoreIndex.
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, tensor, type Tensor } from 'kiln';
import './helpers/fused-backend.js';

// 'fused': the kernel-IR interpreter (test/helpers/fused-backend.ts), which throws on any access outside a buffer
const TARGETS = ['reference', 'fused', 'native', 'webgpu', 'webgpu:swiftshader'];
const OPTIONS = [{}, { weight: [1, 2, 0.5] }, { labelSmoothing: 0.1 }, { weight: [1, 2, 0.5], labelSmoothing: 0.2 }];
const x = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i));

describe.each(TARGETS)('all targets ignored on %s', (target) => {
  for (const opts of OPTIONS) {
    it(`mean ${JSON.stringify(opts)}: NaN loss, zero gradient, the next step trains`, async () => {
      manualSeed(0);
      const model = new nn.Linear(4, 3);
      const criterion = new nn.CrossEntropyLoss({ ...opts, weight: opts.weight ? tensor(opts.weight) : undefined });
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.5 });
      const step = await compile(
        (xs: Tensor, y: Tensor) => {
          const loss = criterion.forward(model.forward(xs), y);
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          return [loss, model.weight.grad!, model.bias!.grad!];
        },
        {
          inputs: [
            { shape: [3, 4], dtype: 'float32' },
            { shape: [3], dtype: 'int32' },
          ],
          target,
        },
      );
      const before = model.stateDict();
      const [loss, gw, gb] = await step.run(x, Int32Array.of(-100, -100, -100));
      expect(loss.item()).toBeNaN();
      const grads = [...gw.data, ...gb.data];
      expect(grads.length === 15 && grads.every((v) => v === 0), `gradients ${grads}`).toBe(true); // -0 counts as 0
      await step.sync();
      expect(model.stateDict()).toEqual(before); // a zero gradient leaves SGD's weights as they were
      const [next, ngw] = await step.run(x, Int32Array.of(0, -100, 2));
      expect(Number.isFinite(next.item())).toBe(true);
      expect(ngw.data.every((v: number) => Number.isFinite(v)) && ngw.data.some((v: number) => v !== 0)).toBe(true);
    });
  }
});

describe('probability targets and ignoreIndex', () => {
  const input = tensor([
    [1, 2, 3],
    [0, -1, 1],
  ]);
  const probs = tensor([
    [0.2, 0.3, 0.5],
    [1, 0, 0],
  ]);
  it('any negative ignoreIndex is accepted and changes nothing; a non-negative one is refused as PyTorch does', () => {
    const plain = new nn.CrossEntropyLoss().forward(input, probs).item();
    expect(new nn.CrossEntropyLoss({ ignoreIndex: -5 }).forward(input, probs).item()).toBe(plain);
    expect(plain).toBeCloseTo(1.2576, 4); // torch 1.13: F.cross_entropy(input, probs)
    expect(() => new nn.CrossEntropyLoss({ ignoreIndex: 3 }).forward(input, probs)).toThrow(
      'ignore_index is not supported for floating point target',
    );
  });
});
