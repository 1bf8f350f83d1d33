// nn.utils: PyTorch 1.13's gradient clipping (torch/nn/utils/clip_grad.py), line for line. Inside
// a compiled step, between backward() and optimizer.step(), each `p.grad` is a traced value:
// reading it gives the gradient backward() assigned, and assigning it records a new gradient that
// the optimizer then reads. The total norm stays a tensor (no host round trip), as in PyTorch,
// where the clamped coefficient avoids a `clip_coef < 1` branch for the same reason.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Tensor, full, noGrad, norm, stack } from '../tensor.js';
import { currentTrace } from '../trace-context.js';

export interface ClipGradNormOptions {
  /** the p of the p-norm over all gradients as one vector (PyTorch's default 2); Infinity or 'inf': max |g| */
  normType?: number | 'inf';
  /** throw when the total norm is NaN or infinite (PyTorch's default false) */
  errorIfNonfinite?: boolean;
}

type Tensors = Tensor | Iterable<Tensor>;

function gradsOf(name: string, parameters: Tensors): { p: Tensor; g: Tensor }[] {
  if (parameters === null || typeof parameters !== 'object') {
    throw new KilnError(`${name}: parameters must be a Tensor or an iterable of Tensors, got ${String(parameters)}`);
  }
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  const bad = list.find((p) => !(p instanceof Tensor));
  if (bad !== undefined) throw new KilnError(`${name}: parameters must be Tensors, got ${String(bad)}`);
  return list.flatMap((p) => {
    const g = p.grad;
    return g ? [{ p, g }] : [];
  });
}

function checkNumber(name: string, arg: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new KilnError(`${name}: ${arg} must be a number, got ${String(v)}`);
}

/**
 * PyTorch's `clip_grad_norm_`: scales every gradient by min(1, maxNorm / (total + 1e-6)), where
 * total is the normType-norm of all gradients together; returns total (a 0-d tensor).
 */
export function clipGradNorm_(parameters: Tensors, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  checkOptions('clipGradNorm_', opts, ['normType', 'errorIfNonfinite']);
  checkNumber('clipGradNorm_', 'maxNorm', maxNorm);
  const normType = opts.normType === 'inf' ? Infinity : (opts.normType ?? 2);
  checkNumber('clipGradNorm_', 'normType', normType);
  const errorIfNonfinite = opts.errorIfNonfinite ?? false;
  if (errorIfNonfinite && currentTrace()) {
    // the check needs the norm's value on the host before the step goes on, which a compiled step has not
    throw new KilnError(
      'clipGradNorm_: errorIfNonfinite: true reads the total norm on the host and cannot run inside compile(); ' +
        'return the total norm from the step and check it there',
    );
  }
  const grads = gradsOf('clipGradNorm_', parameters);
  if (grads.length === 0) return full([], 0);
  return noGrad(() => {
    let total: Tensor;
    if (normType === Infinity) {
      const norms = grads.map(({ g }) => g.detach().abs().max());
      total = norms.length === 1 ? norms[0] : stack(norms).max();
    } else {
      total = norm(stack(grads.map(({ g }) => norm(g.detach(), normType))), normType);
    }
    if (errorIfNonfinite && !Number.isFinite(total.item())) {
      // Python's str(float(norm_type)): 2.0, inf
      const order = Number.isFinite(normType)
        ? Number.isInteger(normType)
          ? normType.toFixed(1)
          : String(normType)
        : normType > 0
          ? 'inf'
          : '-inf';
      throw new KilnError(
        `The total norm of order ${order} for gradients from \`parameters\` is non-finite, so it cannot be ` +
          'clipped. To disable this error and scale the gradients by the non-finite norm anyway, ' +
          'set `error_if_nonfinite=False`',
      );
    }
    // Python's `max_norm / tensor` is PyTorch's __rdiv__: reciprocal() * max_norm
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(undefined, 1);
    for (const { p, g } of grads) p.grad = g.detach().mul(coef);
    return total;
  });
}

/** PyTorch's `clip_grad_value_`: every gradient clamped to [-clipValue, clipValue] */
export function clipGradValue_(parameters: Tensors, clipValue: number): void {
  checkNumber('clipGradValue_', 'clipValue', clipValue);
  const grads = gradsOf('clipGradValue_', parameters);
  noGrad(() => {
    for (const { p, g } of grads) p.grad = g.detach().clamp(-clipValue, clipValue);
  });
}
