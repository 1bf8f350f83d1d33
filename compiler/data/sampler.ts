// Samplers: the order a DataLoader reads a dataset in. `Sampler` is what its `sampler` option takes
// (PyTorch's Sampler, or any iterable of indices with a length: an array works); DistributedSampler is
// PyTorch 1.13's torch.utils.data.distributed.DistributedSampler, index for index.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Generator, randperm } from '../random.js';
import { processGroup } from '../../runtime/distributed/group.js';
import type { Dataset } from './dataset.js';

/** indices into a dataset, one pass per epoch; `length` is how many a pass yields (PyTorch's __len__) */
export interface Sampler extends Iterable<number> {
  readonly length: number;
}

export interface DistributedSamplerOptions {
  /** the number of processes sharing the dataset (default: the initialized process group's size) */
  numReplicas?: number;
  /** this process's rank among them (default: its rank in the initialized process group) */
  rank?: number;
  /** a permutation per epoch, from a generator seeded `seed + epoch` (default true) */
  shuffle?: boolean;
  seed?: number;
  /** drop the tail that does not divide among the replicas, instead of padding by repeating indices */
  dropLast?: boolean;
}

/** the initialized group, as torch.distributed.get_world_size/get_rank require one */
function defaultGroup() {
  const g = processGroup();
  if (!g) {
    throw new KilnError(
      'DistributedSampler: Default process group has not been initialized, please make sure to call ' +
        'initProcessGroup (or pass numReplicas and rank)',
    );
  }
  return g;
}

/**
 * The share of a dataset one replica reads: every replica shuffles the same way (a permutation from
 * a generator seeded `seed + epoch`, so `setEpoch` must be called, with the same epoch everywhere,
 * before each epoch), pads it by repeating indices from its start (or, with dropLast, cuts it) to a
 * multiple of numReplicas, and takes every numReplicas-th index from position `rank`.
 */
export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** indices per replica per epoch (PyTorch's num_samples) */
  readonly numSamples: number;
  /** indices over all replicas: numSamples * numReplicas */
  readonly totalSize: number;
  epoch = 0;

  constructor(
    readonly dataset: Dataset,
    opts: DistributedSamplerOptions = {},
  ) {
    checkOptions('DistributedSampler', opts, ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast']);
    const numReplicas = opts.numReplicas ?? defaultGroup().size;
    const rank = opts.rank ?? defaultGroup().rank;
    for (const [name, v] of [
      ['numReplicas', numReplicas],
      ['rank', rank],
      ['seed', opts.seed ?? 0],
    ] as const) {
      if (!Number.isSafeInteger(v)) throw new KilnError(`DistributedSampler: ${name} must be an integer, got ${v}`);
    }
    if (rank >= numReplicas || rank < 0) {
      throw new KilnError(`Invalid rank ${rank}, rank should be in the interval [0, ${numReplicas - 1}]`);
    }
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    const n = dataset.length;
    // ceil((n - numReplicas) / numReplicas) is -0 for n < numReplicas: max makes it 0
    this.numSamples =
      this.dropLast && n % numReplicas !== 0
        ? Math.max(0, Math.ceil((n - numReplicas) / numReplicas))
        : Math.ceil(n / numReplicas);
    this.totalSize = this.numSamples * numReplicas;
  }

  get length(): number {
    return this.numSamples;
  }

  /** the epoch the next pass shuffles for (PyTorch's set_epoch) */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch)) throw new KilnError(`DistributedSampler: epoch must be an integer, got ${epoch}`);
    this.epoch = epoch;
  }

  /**
   * This replica's indices for the current epoch. The padded (or cut) list of all replicas is the
   * order repeated to totalSize, so its element k is order[k % n]; this rank's are at rank + i * numReplicas.
   */
  indices(): Int32Array {
    const n = this.dataset.length;
    const order = this.shuffle
      ? randperm(n, new Generator().manualSeed(BigInt(this.seed) + BigInt(this.epoch)))
      : Int32Array.from({ length: n }, (_, i) => i);
    return Int32Array.from({ length: this.numSamples }, (_, i) => order[(this.rank + i * this.numReplicas) % n]);
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
