// A compiled function called with another size of an input's leading (batch) dimension traces and
// prepares a variant for it, as jax.jit does for a new shape: a DataLoader's last partial batch
// trains, and an evaluation step takes any batch. Each variant is the program a compile() for that
// shape would make: the weights after mixed batch sizes equal those of one compile per size.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, data, manualSeed, nn, optim, tensor } from 'kiln';
import { trainingStep } from './helpers/seed.js';

const targets = ['reference', ...(availableTargets().includes('native') ? ['native'] : [])];

function setup() {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(4, 6), new nn.ReLU(), new nn.Linear(6, 3));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  return { model, step: trainingStep(model, new nn.CrossEntropyLoss(), opt) };
}
const spec = (b: number) => [
  { shape: [b, 4], dtype: 'float32' as const },
  { shape: [b], dtype: 'int32' as const },
];
const xOf = (b: number, k: number) => Float32Array.from({ length: b * 4 }, (_, i) => Math.sin(i * 0.7 + k));
const yOf = (b: number, k: number) => Int32Array.from({ length: b }, (_, i) => (i + k) % 3);
const weights = (m: nn.Module) => Object.values(m.stateDict()).map((t) => Array.from(t.data));

describe.each(targets)('any batch size on %s', (target) => {
  it('traces one variant per batch size and trains as one compile per size would', async () => {
    const batches = [4, 3, 4, 3];
    const a = setup();
    const f = await compile(a.step, { inputs: spec(4), target });
    const lossesA: number[] = [];
    for (const [k, b] of batches.entries()) lossesA.push((await f.run(xOf(b, k), yOf(b, k))).item());
    await f.sync();
    expect(f.programs.length).toBe(2); // a size seen before reuses its variant
    expect(f.stats().variants).toEqual([
      [[4, 4], [4]],
      [[3, 4], [3]],
    ]);
    expect(f.stats().inputShapes).toEqual([[3, 4], [3]]);

    const b = setup();
    const perSize = new Map<number, Awaited<ReturnType<typeof compile>>>();
    const lossesB: number[] = [];
    for (const [k, n] of batches.entries()) {
      if (!perSize.has(n)) perSize.set(n, await compile(b.step, { inputs: spec(n), target }));
      lossesB.push((await perSize.get(n)!.run(xOf(n, k), yOf(n, k))).item());
    }
    for (const g of perSize.values()) await g.sync();
    expect(lossesA).toEqual(lossesB);
    expect(weights(a.model)).toEqual(weights(b.model));
  });

  it("trains on a DataLoader's last partial batch", async () => {
    const { model, step } = setup();
    const xs = tensor(xOf(10, 0), { shape: [10, 4] });
    const ys = tensor(yOf(10, 0), { dtype: 'int32' });
    const loader = new data.DataLoader(new data.TensorDataset(xs, ys), { batchSize: 4 });
    const f = await compile(step, { inputs: spec(4), target });
    const before = weights(model);
    const sizes: number[] = [];
    for (const [x, y] of loader) {
      sizes.push(x.shape[0]);
      expect(Number.isFinite((await f.run(x, y)).item())).toBe(true);
    }
    await f.sync();
    expect(sizes).toEqual([4, 4, 2]);
    expect(weights(model)).not.toEqual(before);
  });

  it('refuses a length that no batch size gives, and a Tensor of other trailing dims, changing nothing', async () => {
    const { model, step } = setup();
    const f = await compile(step, { inputs: spec(4), target });
    const before = weights(model);
    await expect(f.run(new Float32Array(7), yOf(2, 0))).rejects.toThrow(
      'run: input 0 has 7 elements, expected 16 for shape [4,4] ' +
        '(or a multiple of 4: another size of its leading dimension)',
    );
    await expect(f.run(tensor(new Float32Array(12), { shape: [2, 6] }), yOf(2, 0))).rejects.toThrow(
      'run: input 0 has shape [2, 6], expected [4, 4] or [*, 4]',
    );
    // sizes that disagree with each other fail in the trace with the model's own shape error
    await expect(f.run(xOf(2, 0), yOf(3, 0))).rejects.toThrow(
      'Expected input batch_size (2) to match target batch_size (3).',
    );
    expect(f.programs.length).toBe(1);
    await f.sync();
    expect(weights(model)).toEqual(before);
  });
});
