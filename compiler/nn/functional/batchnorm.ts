// nn.functional.batchNorm: the one formula of BatchNorm1d/2d (compiler/nn/batchnorm.ts calls it).
import { KilnError, fmtShape } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { Tensor } from '../../tensor.js';
import { Buffer } from '../buffer.js';

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** PyTorch's default is false: normalise with the running statistics */
  training?: boolean;
  /** the running statistics' update factor; a 0-d tensor too (BatchNorm's cumulative average, 1/n) */
  momentum?: number | Tensor;
  eps?: number;
}

/**
 * PyTorch's F.batch_norm over the channel dim 1 of [N, C, *]. Training: each channel's batch mean
 * and biased variance normalise, rstd = 1/sqrt(var + eps), and the running statistics (if given)
 * become (1 - momentum) * running + momentum * batch, with the unbiased variance, as PyTorch's CPU
 * kernel updates them in place (here: a state assignment of their Buffers). Otherwise the running
 * statistics normalise. Then * weight + bias per channel; the gradient is autodiff's.
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  checkOptions('batchNorm', opts, ['weight', 'bias', 'training', 'momentum', 'eps']);
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (input.ndim < 2) {
    throw new KilnError(`batchNorm: expected an input of shape [N, C, *], got ${fmtShape(input.shape)}`);
  }
  const c = input.shape[1];
  const given = { running_mean: runningMean, running_var: runningVar, weight: opts.weight, bias: opts.bias };
  for (const [name, t] of Object.entries(given)) {
    if (t && t.numel() !== c) throw new KilnError(`${name} should contain ${c} elements not ${t.numel()}`);
  }
  if (!training && (!runningMean || !runningVar)) {
    throw new KilnError('batchNorm: running_mean and running_var must be defined when training is false');
  }
  const perChannel = input.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
  if (training && perChannel === 1) {
    throw new KilnError(
      `Expected more than 1 value per channel when training, got input size ${fmtShape(input.shape)}`,
    );
  }
  const updates = training && (runningMean || runningVar);
  for (const [name, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
  ] as const) {
    if (updates && t && !(t instanceof Buffer)) {
      throw new KilnError(
        `batchNorm: ${name} is updated in place in training, so it must be a module buffer (registerBuffer)`,
      );
    }
  }
  const bshape = input.shape.map((d, i) => (i === 1 ? d : 1)); // [1, C, 1, ...]
  const dims = input.shape.map((_, i) => i).filter((i) => i !== 1);
  let y: Tensor;
  if (training) {
    const mean = input.mean(dims, true);
    const centred = input.sub(mean);
    const variance = centred.mul(centred).mean(dims, true);
    y = centred.mul(variance.add(eps).sqrt().reciprocal());
    const m = typeof momentum === 'number' ? momentum : momentum.float();
    const keep = typeof m === 'number' ? 1 - m : m.neg().add(1);
    // statistics carry no gradient; the unbiased variance is PyTorch's running_var
    const update = (run: Tensor, batch: Tensor) => run.mul(keep).add(batch.detach().reshape([c]).mul(m));
    const newMean = runningMean && update(runningMean, mean);
    const newVar = runningVar && update(runningVar, variance.mul(perChannel / (perChannel - 1)));
    if (newMean) (runningMean as Buffer).assign(newMean);
    if (newVar) (runningVar as Buffer).assign(newVar);
  } else {
    const rm = runningMean!.detach().reshape(bshape),
      rv = runningVar!.detach().reshape(bshape);
    y = input.sub(rm).mul(rv.add(eps).sqrt().reciprocal());
  }
  if (opts.weight) y = y.mul(opts.weight.reshape(bshape));
  if (opts.bias) y = y.add(opts.bias.reshape(bshape));
  return y;
}
