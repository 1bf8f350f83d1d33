// data.DistributedSampler and DataLoader's `sampler` option against PyTorch 1.13
// (fixtures/distributed_sampler.py): the same indices per rank and epoch, the same batches, and the
// global generator left where torch leaves it.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { data, manualSeed, tensor, Generator, KilnError } from 'kiln';
import { randomInt64 } from '../compiler/random.js';
import { SOLO_GROUP, setProcessGroup, type ProcessGroup } from '../runtime/distributed/group.js';

interface SamplerCase {
  n: number;
  numReplicas: number;
  rank: number;
  shuffle: boolean;
  seed: number;
  epoch: number;
  dropLast: boolean;
  length: number;
  indices: number[];
}
interface LoaderCase {
  n: number;
  numReplicas?: number;
  rank?: number;
  shuffle?: boolean;
  seed?: number;
  dropLast?: boolean;
  list?: number[];
  batchSize: number;
  loaderDropLast: boolean;
  generator: number | null;
  manualSeed: number;
  epochs: number[];
  length: number;
  batches: number[][][];
  after: { globalInt64: string; generatorInt64?: string };
}
const ref: { samplers: SamplerCase[]; loaders: LoaderCase[] } = JSON.parse(
  readFileSync(new URL('./fixtures/distributed_sampler.json', import.meta.url), 'utf8'),
);

/** a dataset of n rows whose row i is i */
const arange = (n: number) =>
  new data.TensorDataset(
    tensor(
      Int32Array.from({ length: n }, (_, i) => i),
      { shape: [n], dtype: 'int32' },
    ),
  );
const label = (c: SamplerCase) =>
  `n=${c.n} replicas=${c.numReplicas} rank=${c.rank} shuffle=${c.shuffle} ` +
  `seed=${c.seed} epoch=${c.epoch} dropLast=${c.dropLast}`;

describe('DistributedSampler', () => {
  afterEach(() => setProcessGroup(undefined));

  it.each(ref.samplers.map((c) => [label(c), c] as const))('%s: the indices of torch', (_, c) => {
    const s = new data.DistributedSampler(arange(c.n), {
      numReplicas: c.numReplicas,
      rank: c.rank,
      shuffle: c.shuffle,
      seed: c.seed,
      dropLast: c.dropLast,
    });
    s.setEpoch(c.epoch);
    expect(s.length).toBe(c.length);
    expect(Object.is(s.length, -0)).toBe(false);
    expect([...s]).toEqual(c.indices);
    expect([...s]).toEqual(c.indices); // a pass draws only from its own generator: the next is the same
  });

  it('covers the cases it should: padding, cutting, n below the replicas, every rank', () => {
    const by = (f: (c: SamplerCase) => boolean) => ref.samplers.some(f);
    expect(by((c) => c.n % c.numReplicas !== 0 && !c.dropLast && c.numReplicas - (c.n % c.numReplicas) > 1)).toBe(true);
    expect(by((c) => c.n % c.numReplicas !== 0 && c.dropLast && c.length > 0)).toBe(true);
    expect(by((c) => c.n < c.numReplicas && c.dropLast && c.length === 0)).toBe(true);
    expect(by((c) => c.n > 0 && c.n < c.numReplicas && !c.dropLast)).toBe(true);
    expect(by((c) => !c.shuffle)).toBe(true);
  });

  it('the ranks of one epoch partition the padded permutation', () => {
    const shares = [0, 1, 2].map((rank) => {
      const s = new data.DistributedSampler(arange(10), { numReplicas: 3, rank, seed: 4 });
      s.setEpoch(2);
      return [...s];
    });
    expect(shares.map((s) => s.length)).toEqual([4, 4, 4]);
    const all = shares.flat().sort((a, b) => a - b);
    expect(new Set(all).size).toBe(10); // all 10 indices, two of them twice (the padding)
  });

  it('rank and numReplicas default to the initialized process group', () => {
    expect(() => new data.DistributedSampler(arange(5))).toThrow(
      /Default process group has not been initialized, please make sure to call initProcessGroup/,
    );
    expect(() => new data.DistributedSampler(arange(5), { numReplicas: 2 })).toThrow(/process group has not been/);
    expect(() => new data.DistributedSampler(arange(5), { rank: 0 })).toThrow(/process group has not been/);
    const group: ProcessGroup = { ...SOLO_GROUP, backend: 'test', rank: 2, size: 4 };
    setProcessGroup(group);
    const s = new data.DistributedSampler(arange(10));
    expect([s.numReplicas, s.rank, s.length, s.shuffle, s.seed, s.dropLast]).toEqual([4, 2, 3, true, 0, false]);
    const explicit = new data.DistributedSampler(arange(10), { numReplicas: 4, rank: 2 });
    expect([...s]).toEqual([...explicit]);
    expect(new data.DistributedSampler(arange(10), { rank: 0 }).numReplicas).toBe(4);
  });

  it('rejects a rank outside the replicas, as torch does', () => {
    const make = (numReplicas: number, rank: number) => () =>
      new data.DistributedSampler(arange(5), { numReplicas, rank });
    expect(make(2, 2)).toThrow(KilnError);
    expect(make(2, 2)).toThrow('Invalid rank 2, rank should be in the interval [0, 1]');
    expect(make(2, -1)).toThrow('Invalid rank -1, rank should be in the interval [0, 1]');
    expect(make(0, 0)).toThrow('Invalid rank 0, rank should be in the interval [0, -1]');
    expect(make(1.5, 0)).toThrow(/numReplicas must be an integer, got 1.5/);
    expect(() => new data.DistributedSampler(arange(5), { numReplicas: 2, rank: 0, drop_last: true } as never)).toThrow(
      /Unknown option 'drop_last' for DistributedSampler; did you mean 'dropLast'\?/,
    );
    const s = new data.DistributedSampler(arange(5), { numReplicas: 2, rank: 0 });
    expect(() => s.setEpoch(0.5)).toThrow(/epoch must be an integer/);
  });
});

describe('DataLoader with a sampler', () => {
  it.each(ref.loaders.map((c, i) => [i, c] as const))('case %i: the batches and draws of torch', (_, c) => {
    manualSeed(c.manualSeed);
    const ds = arange(c.n);
    const sampler =
      c.list ??
      new data.DistributedSampler(ds, {
        numReplicas: c.numReplicas,
        rank: c.rank,
        shuffle: c.shuffle,
        seed: c.seed,
        dropLast: c.dropLast,
      });
    const g = c.generator === null ? undefined : new Generator().manualSeed(c.generator);
    const loader = new data.DataLoader(ds, {
      batchSize: c.batchSize,
      sampler,
      dropLast: c.loaderDropLast,
      generator: g,
    });
    expect(loader.length).toBe(c.length);
    const batches = c.epochs.map((e) => {
      if (sampler instanceof data.DistributedSampler) sampler.setEpoch(e);
      return [...loader].map(([x]) => Array.from(x.data));
    });
    expect(batches).toEqual(c.batches);
    expect(randomInt64().toString()).toBe(c.after.globalInt64);
    if (g) expect(randomInt64(g).toString()).toBe(c.after.generatorInt64);
  });

  it('a sampler excludes shuffle; its indices must be rows of the dataset', () => {
    const ds = arange(4);
    const sampler = new data.DistributedSampler(ds, { numReplicas: 2, rank: 0 });
    expect(() => new data.DataLoader(ds, { sampler, shuffle: true })).toThrow(
      'sampler option is mutually exclusive with shuffle',
    );
    expect(new data.DataLoader(ds, { sampler, shuffle: false }).sampler).toBe(sampler);
    expect(() => new data.DataLoader(ds, { sampler: 3 as never })).toThrow(/sampler must be an iterable of indices/);
    expect(() => [...new data.DataLoader(ds, { sampler: [1, 4] })]).toThrow(
      /the sampler's index 4 is out of range for a dataset of 4 samples/,
    );
    expect(() => [...new data.DataLoader(ds, { sampler: [0.5] })]).toThrow(/the sampler's index 0.5 is out of range/);
    expect([...new data.DataLoader(ds, { sampler: [-1, 0], batchSize: 2 })][0][0].tolist()).toEqual([3, 0]);
    const noLength = {
      *[Symbol.iterator]() {
        yield 2;
      },
    } as never;
    expect([...new data.DataLoader(ds, { sampler: noLength })][0][0].tolist()).toEqual([2]);
    expect(() => new data.DataLoader(ds, { sampler: noLength }).length).toThrow(/the sampler has no length/);
  });

  it('reads a custom Dataset through get() in the sampler order', () => {
    const ds: data.Dataset = { length: 5, get: (i) => [tensor([i, 10 * i])] };
    const loader = new data.DataLoader(ds, { sampler: [4, 1, 3], batchSize: 2 });
    expect([...loader].map(([x]) => x.tolist())).toEqual([
      [
        [4, 40],
        [1, 10],
      ],
      [[3, 30]],
    ]);
  });
});
