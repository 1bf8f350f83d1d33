// TensorDataset / DataLoader (batching, seeded shuffle, dropLast) and save/load of state dicts.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, data, load, manualSeed, nn, optim, save, tensor, KilnError, type Tensor } from 'kiln';

const xs = tensor(
  Float32Array.from({ length: 20 }, (_, i) => i),
  { shape: [10, 2] },
);
const ys = tensor(
  Int32Array.from({ length: 10 }, (_, i) => i % 3),
  { dtype: 'int32' },
);

describe('data', () => {
  it('TensorDataset indexes rows and checks lengths', () => {
    const ds = new data.TensorDataset(xs, ys);
    expect(ds.length).toBe(10);
    const [x3, y3] = ds.get(3);
    expect(x3.tolist()).toEqual([6, 7]);
    expect(y3.item()).toBe(0);
    expect(() => new data.TensorDataset(xs, tensor([1, 2, 3]))).toThrow(
      /Size mismatch between tensors: \[10, 2\], \[3\]/,
    );
  });

  it('DataLoader batches in order, keeps or drops the last batch', () => {
    const ds = new data.TensorDataset(xs, ys);
    const batches = [...new data.DataLoader(ds, { batchSize: 4 })];
    expect(batches.map(([x]) => x.shape)).toEqual([
      [4, 2],
      [4, 2],
      [2, 2],
    ]);
    expect(batches[1][1].dtype).toBe('int32');
    expect(batches[1][0].tolist()).toEqual([
      [8, 9],
      [10, 11],
      [12, 13],
      [14, 15],
    ]);
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect([...dropped]).toHaveLength(2);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/batch_size should be a positive integer/);
  });

  it('shuffles with a permutation per epoch, reproducible with manualSeed', () => {
    const ds = new data.TensorDataset(xs, ys);
    const epoch = (l: data.DataLoader) =>
      [...l].flatMap(([x]) =>
        Array.from(x.data)
          .filter((_, i) => i % 2 === 0)
          .map((v) => v / 2),
      );
    const loader = new data.DataLoader(ds, { batchSize: 3, shuffle: true });
    manualSeed(7);
    const a1 = epoch(loader),
      a2 = epoch(loader);
    manualSeed(7);
    expect(epoch(loader)).toEqual(a1);
    expect([...a1].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a2).not.toEqual(a1);
  });

  it('batches feed a compiled step directly', async () => {
    const lin = new nn.Linear(2, 3);
    const crit = new nn.CrossEntropyLoss();
    const opt = new optim.Adam(lin.parameters(), { lr: 0.01 });
    const step = await compile(
      (x: Tensor, y: Tensor) => {
        const loss = crit.forward(lin.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      {
        inputs: [
          { shape: [5, 2], dtype: 'float32' },
          { shape: [5], dtype: 'int32' },
        ],
      },
    );
    for (const [x, y] of new data.DataLoader(new data.TensorDataset(xs, ys), { batchSize: 5 })) {
      expect(Number.isFinite((await step.run(x, y)).item())).toBe(true);
    }
  });
});

describe('save / load', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-io-'));

  it('round-trips a model state dict (and an optimizer state dict) exactly', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
    const file = path.join(dir, 'model.kiln');
    save(m.stateDict(), file);
    const back = load(file);
    expect(back).toEqual(m.stateDict());
    expect(back['0.weight'].data).toBeInstanceOf(Float32Array);
    const m2 = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
    m2.loadStateDict(back);
    expect(m2.stateDict()).toEqual(m.stateDict());
    const other = {
      state: { 0: { step: 3, expAvg: { shape: [2], data: Float32Array.of(1, NaN) } } },
      paramGroups: [{ lr: 0.1, betas: [0.9, 0.999], params: [0] }],
    };
    save(other, file);
    expect(load(file)).toEqual(other);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]); // temp file renamed away
  });

  it('a truncated or foreign file fails clearly; loading it into a model changes nothing', () => {
    const m = new nn.Linear(4, 2);
    const before = m.stateDict();
    const file = path.join(dir, 'lin.kiln');
    save(before, file);
    const bytes = readFileSync(file);
    const cut = path.join(dir, 'cut.kiln');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    expect(() => m.loadStateDict(load(cut))).toThrow(
      /load: .*cut.kiln is truncated: expected 40 bytes of tensor data, found 35/,
    );
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] ^= 0xff;
    writeFileSync(cut, flipped);
    expect(() => load(cut)).toThrow(/is corrupted: the checksum/);
    writeFileSync(cut, 'not a checkpoint');
    expect(() => load(cut)).toThrow(KilnError);
    expect(() => load(cut)).toThrow(/is not a kiln checkpoint/);
    expect(m.stateDict()).toEqual(before);
  });

  it('a checkpoint of another model is rejected by loadStateDict and nothing changes', () => {
    const file = path.join(dir, 'big.kiln');
    save(new nn.Linear(5, 2).stateDict(), file);
    const m = new nn.Linear(4, 2);
    const before = m.stateDict();
    expect(() => m.loadStateDict(load(file))).toThrow(
      new RegExp(
        /size mismatch for weight: copying a param with shape \[2, 5\] from checkpoint, /.source +
          /the shape in current model is \[2, 4\]\./.source,
      ),
    );
    expect(m.stateDict()).toEqual(before);
  });

  it('saving over an existing checkpoint replaces it atomically', () => {
    const file = path.join(dir, 'over.kiln');
    save({ a: { shape: [1], data: Float32Array.of(1) } }, file);
    save({ a: { shape: [1], data: Float32Array.of(2) } }, file);
    expect(load(file).a.data[0]).toBe(2);
    expect(() => save({ f: () => 1 }, file)).toThrow(/cannot save a function/);
    expect(load(file).a.data[0]).toBe(2); // a failed save leaves the old file
  });
});
