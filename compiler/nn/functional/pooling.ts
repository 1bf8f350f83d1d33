// PyTorch's pooling functions on views: the taps of the (padded) windows (windows.ts) stacked on a
// new last dim feed a max or a sum. Max pool pads with -inf, so a padded position never wins, and
// its gradient is max(dim)'s: all of it to the first maximum of the window in row-major scan order,
// the element PyTorch's CPU kernel picks. Avg pool pads with zeros and divides by PyTorch's divisor
// of each window (a constant). Adaptive avg pool is separable: a mean over each window's columns,
// then over its rows, each window a slice (PyTorch's floor/ceil start and end indices).
import { KilnError, fmtShape } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { cat, full, stack, tensor, where, type Tensor } from '../../tensor.js';
import { checkInt } from '../../view-args.js';
import { offsets, padLast, perDim, tap } from './windows.js';

type Ints = number | number[];
export interface MaxPoolOptions {
  stride?: Ints | null;
  padding?: Ints;
  dilation?: Ints;
  ceilMode?: boolean;
}
export interface AvgPoolOptions {
  stride?: Ints | null;
  padding?: Ints;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** PyTorch's pooling_output_shape: a last window must start inside the input or its left padding */
function outputSize(size: number, k: number, pad: number, stride: number, dilation: number, ceil: boolean): number {
  const span = dilation * (k - 1) + 1;
  let out = Math.floor((size + 2 * pad - span + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}

interface Windows {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  out: number[];
  spatial: number[];
}

/** the checked window geometry of a pooling call over the last `nd` dims, with PyTorch's messages */
function windows(op: string, nd: number, x: Tensor, kernelSize: Ints, o: MaxPoolOptions, max: boolean): Windows {
  if (x.ndim !== nd + 1 && x.ndim !== nd + 2) {
    const got = fmtShape(x.shape);
    if (nd === 2) throw new KilnError('non-empty 3D or 4D (batch mode) tensor expected for input');
    throw new KilnError(
      max
        ? `max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:${got}`
        : `Expected 2 to 3 dimensions, but got ${x.ndim}-dimensional tensor for argument #1 'self' ` +
            '(while checking arguments for avg_pool1d)',
    );
  }
  const kernel = perDim(op, 'kernel_size', kernelSize, nd);
  const stride =
    o.stride === undefined || o.stride === null || (Array.isArray(o.stride) && o.stride.length === 0)
      ? kernel
      : perDim(op, 'stride', o.stride, nd);
  const padding = perDim(op, 'padding', o.padding ?? 0, nd),
    dilation = perDim(op, 'dilation', o.dilation ?? 1, nd);
  const hw = (v: number[], a: string, b: string) => (nd === 2 ? `${a}H: ${v[0]} ${a}W: ${v[1]}` : `${b}: ${v[0]}`);
  if (kernel.some((k) => k <= 0)) {
    throw new KilnError(`kernel size should be greater than zero, but got ${hw(kernel, 'k', 'kW')}`);
  }
  if (stride.some((s) => s <= 0)) throw new KilnError('stride should not be zero');
  if (dilation.some((d) => d <= 0)) {
    throw new KilnError(`dilation should be greater than zero, but got ${hw(dilation, 'dilation', 'dilationW')}`);
  }
  if (padding.some((p) => p < 0)) throw new KilnError(`pad must be non-negative, but got pad: ${Math.min(...padding)}`);
  const bad = padding.findIndex((p, d) => p > Math.floor(kernel[d] / 2));
  if (bad >= 0) {
    const [what, p] = op === 'max_pool1d' ? ['max_pool1d() padding', 'padding'] : ['pad', 'pad'];
    throw new KilnError(
      `${what} should be at most half of kernel size, but got ${p}=${padding[bad]} and kernel_size=${kernel[bad]}`,
    );
  }
  const spatial = x.shape.slice(-nd);
  const out = spatial.map((s, d) => outputSize(s, kernel[d], padding[d], stride[d], dilation[d], !!o.ceilMode));
  if (out.some((v) => v < 1)) {
    // PyTorch prints (C x H x W); its 1-d pools run as 2-d ones over a height of 1
    const lead = x.ndim === nd + 2 ? x.shape[1] : x.shape[0];
    const dims = (v: number[]) => [lead, ...(nd === 1 ? [1] : []), ...v].join('x');
    throw new KilnError(
      `Given input size: (${dims(spatial)}). Calculated output size: (${dims(out)}). Output size is too small`,
    );
  }
  return { kernel, stride, padding, dilation, out, spatial };
}

/** the input padded for every window: `padding` before, and after it as far as ceil mode's last window reaches */
function padded(x: Tensor, w: Windows): { x: Tensor; inside: Tensor } {
  const after = w.spatial.map((s, d) =>
    Math.max(w.padding[d], (w.out[d] - 1) * w.stride[d] + w.dilation[d] * (w.kernel[d] - 1) + 1 - s - w.padding[d]),
  );
  const inside = padLast(full(w.spatial, 1), w.padding, after).gt(0);
  return { x: padLast(x, w.padding, after), inside };
}

function maxPoolNd(op: string, nd: number, input: Tensor, kernelSize: Ints, opts: MaxPoolOptions): Tensor {
  checkOptions(op, opts, ['stride', 'padding', 'dilation', 'ceilMode']);
  const w = windows(op, nd, input, kernelSize, opts, true);
  const p = padded(input, w);
  const x = p.x !== input ? where(p.inside, p.x, -Infinity) : input;
  const taps = offsets(w.kernel).map((at) => tap(x, at, w.stride, w.dilation, w.out));
  return taps.length === 1 ? taps[0] : stack(taps, -1).max(-1).values;
}

/** PyTorch's divisor of each avg-pool window (avg_pool2d's CPU kernel), as a constant [...out] */
function avgDivisors(
  w: Windows,
  countIncludePad: boolean,
  divisorOverride: number | null | undefined,
): Tensor | number {
  if (divisorOverride !== undefined && divisorOverride !== null) return divisorOverride;
  // separable: each dim's window length, then their products
  const lengths = w.out.map((n, d) =>
    Array.from({ length: n }, (_, i) => {
      const start = i * w.stride[d] - w.padding[d];
      const end = Math.min(start + w.kernel[d], w.spatial[d] + w.padding[d]);
      return countIncludePad ? end - start : Math.min(end, w.spatial[d]) - Math.max(start, 0);
    }),
  );
  let div = [1];
  for (const l of lengths) div = div.flatMap((a) => l.map((b) => a * b));
  return tensor(Float32Array.from(div), { shape: w.out });
}

function avgPoolNd(op: string, nd: number, input: Tensor, kernelSize: Ints, opts: AvgPoolOptions): Tensor {
  // PyTorch's avg_pool1d has no divisor_override
  const valid = ['stride', 'padding', 'ceilMode', 'countIncludePad', ...(nd === 2 ? ['divisorOverride'] : [])];
  checkOptions(op, opts, valid);
  const w = windows(op, nd, input, kernelSize, { ...opts, dilation: 1 }, false);
  const override = opts.divisorOverride;
  if (override !== undefined && override !== null) {
    checkInt(op, 'divisor_override', override);
    if (override === 0) throw new KilnError('divisor must be not zero');
  }
  const x = input.dtype === 'float32' ? input : input.float();
  const xp = padded(x, w).x;
  const taps = offsets(w.kernel).map((at) => tap(xp, at, w.stride, w.dilation, w.out));
  const sum = taps.length === 1 ? taps[0] : stack(taps, -1).sum(-1);
  return sum.div(avgDivisors(w, opts.countIncludePad ?? true, override));
}

/** PyTorch's F.max_pool1d over the last dim of [N, C, L] or [C, L] */
export function maxPool1d(input: Tensor, kernelSize: Ints, opts: MaxPoolOptions = {}): Tensor {
  return maxPoolNd('max_pool1d', 1, input, kernelSize, opts);
}
/** PyTorch's F.max_pool2d over the last two dims of [N, C, H, W] or [C, H, W] */
export function maxPool2d(input: Tensor, kernelSize: Ints, opts: MaxPoolOptions = {}): Tensor {
  return maxPoolNd('max_pool2d', 2, input, kernelSize, opts);
}
/** PyTorch's F.avg_pool1d */
export function avgPool1d(input: Tensor, kernelSize: Ints, opts: Omit<AvgPoolOptions, 'divisorOverride'> = {}): Tensor {
  return avgPoolNd('avg_pool1d', 1, input, kernelSize, opts);
}
/** PyTorch's F.avg_pool2d */
export function avgPool2d(input: Tensor, kernelSize: Ints, opts: AvgPoolOptions = {}): Tensor {
  return avgPoolNd('avg_pool2d', 2, input, kernelSize, opts);
}

export type AdaptiveSize = number | null | (number | null)[];

function adaptiveAvgPoolNd(op: string, nd: number, input: Tensor, outputSize: AdaptiveSize): Tensor {
  if (input.ndim !== nd + 1 && input.ndim !== nd + 2) {
    throw new KilnError(`${op}(): Expected ${nd + 1}D or ${nd + 2}D tensor, but got ${fmtShape(input.shape)}`);
  }
  const spatial = input.shape.slice(-nd);
  const given = Array.isArray(outputSize) ? outputSize : new Array<number | null>(nd).fill(outputSize);
  if (given.length !== nd) throw new KilnError(`${op}: output_size must be ${nd}`);
  // None keeps the input's size (PyTorch's _list_with_default)
  const out = given.map((v, d) => (v === null ? spatial[d] : v));
  out.forEach((v) => checkInt(op, 'output_size', v));
  if (out.some((v) => v < 0)) {
    throw new KilnError(
      `${op}: elements of output_size must be greater than or equal to 0 but received {${out.join(', ')}}`,
    );
  }
  let x = input.dtype === 'float32' ? input : input.float();
  // the last dim first, then the one before it: a mean of means over the same rectangle
  for (let d = nd - 1; d >= 0; d--) {
    const dim = x.ndim - nd + d,
      size = spatial[d],
      n = out[d];
    if (n === size) continue;
    if (n === 0) {
      x = x.slice(dim, 0, 0);
      continue;
    }
    const parts = Array.from({ length: n }, (_, i) =>
      x.slice(dim, Math.floor((i * size) / n), Math.ceil(((i + 1) * size) / n)).mean(dim, true),
    );
    x = cat(parts, dim);
  }
  return x;
}

/** PyTorch's F.adaptive_avg_pool1d: output L' windows of [N, C, L] or [C, L] */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number | [number]): Tensor {
  return adaptiveAvgPoolNd('adaptive_avg_pool1d', 1, input, outputSize);
}
/** PyTorch's F.adaptive_avg_pool2d: an int or [h, w] (null keeps that input size) */
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPoolNd('adaptive_avg_pool2d', 2, input, outputSize);
}
