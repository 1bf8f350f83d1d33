// BatchNorm1d and BatchNorm2d with PyTorch 1.13's parameters, buffers and defaults (weight ones,
// bias zeros, running_mean zeros, running_var ones, num_batches_tracked 0). The buffers keep
// PyTorch's names (they are the state_dict keys, as MultiheadAttention's in_proj_weight is);
// runningMean, runningVar and numBatchesTracked read the same buffers.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { full } from '../tensor-create.js';
import type { Tensor } from '../tensor.js';
import type { Buffer } from './buffer.js';
import { batchNorm } from './functional/batchnorm.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface BatchNormModuleOptions {
  eps?: number;
  /** null: the cumulative moving average (factor 1/num_batches_tracked) */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

const filled = (n: number, value: number) => new Parameter({ shape: [n], data: new Array<number>(n).fill(value) });

/** PyTorch's _BatchNorm: the module around F.batchNorm */
abstract class BatchNorm extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  // set by registerBuffer (declared only, so no class field overwrites them)
  declare readonly running_mean: Buffer | null;
  declare readonly running_var: Buffer | null;
  declare readonly num_batches_tracked: Buffer | null;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormModuleOptions,
  ) {
    super();
    const name = this.constructor.name;
    checkOptions(name, opts, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    if (!Number.isInteger(numFeatures) || numFeatures < 0) {
      throw new KilnError(`${name}: num_features must be a non-negative integer, got ${numFeatures}`);
    }
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', this.affine ? filled(numFeatures, 1) : null);
    this.bias = this.registerParameter('bias', this.affine ? filled(numFeatures, 0) : null);
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? full([numFeatures], 0) : null);
    this.registerBuffer('running_var', track ? full([numFeatures], 1) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, 'int32') : null);
  }

  get runningMean(): Buffer | null {
    return this.running_mean;
  }
  get runningVar(): Buffer | null {
    return this.running_var;
  }
  get numBatchesTracked(): Buffer | null {
    return this.num_batches_tracked;
  }

  /** PyTorch's _check_input_dim */
  protected abstract checkInputDim(x: Tensor): void;

  /** PyTorch 1.13's _BatchNorm.forward */
  forward(x: Tensor): Tensor {
    this.checkInputDim(x);
    let factor: number | Tensor = this.momentum ?? 0;
    const counted = this.training && this.trackRunningStats && this.num_batches_tracked;
    const count = counted ? this.num_batches_tracked!.add(1) : null;
    if (count && this.momentum === null) factor = count.float().reciprocal();
    const useRunning = !this.training || this.trackRunningStats;
    const y = batchNorm(x, useRunning ? this.running_mean : null, useRunning ? this.running_var : null, {
      weight: this.weight,
      bias: this.bias,
      training: this.training || (!this.running_mean && !this.running_var),
      momentum: factor,
      eps: this.eps,
    });
    // after F.batchNorm's checks, so a rejected input changes no state
    if (count) this.num_batches_tracked!.assign(count);
    return y;
  }
}

/** PyTorch's nn.BatchNorm1d: [N, C] or [N, C, L], statistics per channel C */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new KilnError(`expected 2D or 3D input (got ${x.ndim}D input)`);
  }
}

/** PyTorch's nn.BatchNorm2d: [N, C, H, W], statistics per channel C */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 4) throw new KilnError(`expected 4D input (got ${x.ndim}D input)`);
  }
}
