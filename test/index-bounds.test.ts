// Class and gather indices out of range (issue #9 item 1): PyTorch raises; kiln must too, on every
// target, before anything runs: an index from the host is checked in run() (runtime/index-bounds.ts),
// one known while tracing is checked at once, one computed on the device selects nothing.
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, oneHot, optim, tensor, KilnError, type Tensor } from 'kiln';
import './helpers/fused-backend.js';
import { findIndexViolation } from '../runtime/index-bounds.js';
import { trainingStep } from './helpers/seed.js';

// 'fused': the kernel-IR interpreter (test/helpers/fused-backend.ts), which throws on any access outside a buffer
const TARGETS = ['reference', 'fused', 'native', 'webgpu', 'webgpu:swiftshader'];
const ints = (...v: number[]) => Int32Array.from(v);

describe.each(TARGETS)('host index inputs on %s', (target) => {
  async function trainStep(opts: ConstructorParameters<typeof nn.CrossEntropyLoss>[0] = {}) {
    manualSeed(0);
    const model = new nn.Linear(3, 2);
    const criterion = new nn.CrossEntropyLoss(opts);
    const optimizer = new optim.Adam(model.parameters(), { lr: 0.1 });
    const step = await compile(trainingStep(model, criterion, optimizer), {
      inputs: [
        { shape: [3, 3], dtype: 'float32' },
        { shape: [3], dtype: 'int64' },
      ],
      target,
    });
    return { model, optimizer, step };
  }
  const x = Float32Array.from({ length: 9 }, (_, i) => Math.sin(i));

  it("CrossEntropyLoss: a target out of range throws PyTorch's message and changes no state", async () => {
    const { model, optimizer, step } = await trainStep();
    const before = structuredClone({ m: model.stateDict(), o: optimizer.stateDict() });
    const bad = [
      [ints(0, 7, 1), 7],
      [ints(-1, 0, 1), -1],
      [ints(0, 1, -2), -2],
      [ints(2, 0, 0), 2],
    ] as const;
    for (const [y, v] of bad) await expect(step.run(x, y)).rejects.toThrow(`Target ${v} is out of bounds.`);
    await expect(step.run(x, ints(0, 7, 1))).rejects.toThrow(/input 1, element 1; valid indices are 0\.\.1 or -100/);
    await step.sync();
    expect({ m: model.stateDict(), o: optimizer.stateDict() }).toEqual(before);
    // the same step with valid targets (ignoreIndex included) runs, from the untouched state
    const loss = await step.run(x, ints(0, -100, 1));
    expect(Number.isFinite(loss.item())).toBe(true);
    await step.sync();
    expect(optimizer.stateDict().state[0].step).toBe(1);
  });

  it('CrossEntropyLoss: a non-default ignoreIndex is allowed, and only it', async () => {
    const { step } = await trainStep({ ignoreIndex: -1 });
    expect(Number.isFinite((await step.run(x, ints(-1, 0, 1))).item())).toBe(true);
    await expect(step.run(x, ints(-100, 0, 1))).rejects.toThrow('Target -100 is out of bounds.');
  });

  it('gather and one_hot: host indices out of range (negatives too) throw; a slice checks what it uses', async () => {
    const g = await compile((v: Tensor, i: Tensor) => v.gather(1, i.slice(1, 0, 2)), {
      inputs: [
        { shape: [2, 3], dtype: 'float32' },
        { shape: [2, 3], dtype: 'int32' },
      ],
      target,
    });
    const v = Float32Array.of(1, 2, 3, 4, 5, 6);
    // column 2 of the index input is not used: anything goes there
    expect(Array.from((await g.run(v, ints(2, 0, 99, 1, 1, -99))).data)).toEqual([3, 1, 5, 5]);
    const oob = (i: number) => `index ${i} is out of bounds for dimension 1 with size 3`;
    await expect(g.run(v, ints(0, -1, 0, 0, 0, 0))).rejects.toThrow(oob(-1));
    await expect(g.run(v, ints(0, 0, 0, 3, 0, 0))).rejects.toThrow(oob(3));
    const h = await compile((i: Tensor) => oneHot(i, 3), { inputs: [{ shape: [2], dtype: 'int32' }], target });
    expect(Array.from((await h.run(ints(2, 0))).data)).toEqual([0, 0, 1, 1, 0, 0]);
    await expect(h.run(ints(0, 3))).rejects.toThrow('Class values must be smaller than num_classes.');
    await expect(h.run(ints(-1, 0))).rejects.toThrow('Class values must be non-negative.');
  });

  it('indices computed on the device never read outside memory: out of range selects nothing', async () => {
    const f = await compile(
      (v: Tensor) => {
        const i = v.argmax(1, true);
        return [v.gather(1, i.add(3)), v.gather(1, i.sub(10)), v.gather(1, i)];
      },
      { inputs: [{ shape: [2, 3], dtype: 'float32' }], target },
    );
    const [hi, lo, ok] = await f.run(Float32Array.of(1, 9, 2, 7, 3, 4));
    expect([Array.from(hi.data), Array.from(lo.data), Array.from(ok.data)]).toEqual([
      [0, 0],
      [0, 0],
      [9, 7],
    ]);
  });
});

describe('indices known while tracing are checked at once', () => {
  const x = tensor([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const crit = new nn.CrossEntropyLoss();
  it('eager: a view of a literal target, gather with negatives', () => {
    expect(() => crit.forward(x, tensor(ints(0, 7, 1)).reshape([3]))).toThrow('Target 7 is out of bounds.');
    const rows = tensor(ints(0, 1, 1, 0, 0, 5), { shape: [2, 3] });
    expect(() => crit.forward(x, rows.select(0, 1))).toThrow('Target 5 is out of bounds.');
    expect(() => crit.forward(x, tensor(ints(0, -1, 1)))).toThrow('Target -1 is out of bounds.');
    expect(() => x.gather(1, tensor(ints(0, -1, 1), { shape: [3, 1] }))).toThrow(
      'index -1 is out of bounds for dimension 1 with size 2',
    );
    expect(() => oneHot(tensor(ints(0, -2)))).toThrow('Class values must be non-negative.');
    expect(crit.forward(x, tensor(ints(0, -100, 1)).reshape([3])).item()).toBeCloseTo(0.81326, 4);
  });
  it('inside compile: a captured constant target (through a view) fails the trace', async () => {
    const y = tensor(ints(0, 1, 2));
    const inputs = [{ shape: [3, 2], dtype: 'float32' as const }];
    await expect(compile((v: Tensor) => crit.forward(v, y.reshape([3])), { inputs })).rejects.toThrow(KilnError);
    await expect(compile((v: Tensor) => crit.forward(v, y.flatten()), { inputs })).rejects.toThrow(
      'Target 2 is out of bounds.',
    );
  });
  it('the run-time check reads only the recorded elements', () => {
    const bound = { input: 0, elements: [1], size: 2, kind: 'target' as const };
    expect(findIndexViolation([bound], [ints(9, 1)])).toBeUndefined();
    expect(findIndexViolation([bound], [ints(0, 2)])).toMatchObject({ element: 1, value: 2 });
  });
});
