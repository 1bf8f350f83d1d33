// PyTorch's F.conv1d / F.conv2d on views (pad + strided slice), no im2col copy: the output is a sum
// over kernel offsets of weight[:, :, k] times (the tap of offset k of the padded input, windows.ts),
// summed over input channels.
// Each term is a view feeding a matmul, so no [N, C*K, L] buffer is materialised. Groups are a batch
// dim of that matmul ([G, O/G, C/G] @ [N, G, C/G, L]), so every group is in the same product and the
// result is already in PyTorch's channel order: no per-group slices to join.
import { KilnError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { checkOptions } from '../../options.js';
import { offsets, padLast, perDim, tap } from './windows.js';

export type ConvPadding = number | number[] | 'valid' | 'same';
export interface ConvOptions {
  stride?: number | number[];
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
}
/** F.conv2d's options (pairs, or one int for both dims) */
export type Conv2dOptions = ConvOptions;

/**
 * The zero padding before and after each spatial dim. PyTorch's 'same' pads d (k - 1) in all, half
 * (rounded down) before and the rest after: an even kernel with odd dilation gets the extra one after.
 */
export function convPadding(
  op: string,
  padding: ConvPadding,
  kernel: number[],
  stride: number[],
  dilation: number[],
): { before: number[]; after: number[] } {
  const nd = kernel.length;
  if (padding === 'valid') return { before: new Array<number>(nd).fill(0), after: new Array<number>(nd).fill(0) };
  if (padding === 'same') {
    if (stride.some((s) => s !== 1)) throw new KilnError("padding='same' is not supported for strided convolutions");
    const total = kernel.map((k, d) => dilation[d] * (k - 1));
    const before = total.map((t) => Math.floor(t / 2));
    return { before, after: total.map((t, d) => t - before[d]) };
  }
  if (typeof padding === 'string') throw new KilnError(`Invalid padding string: '${String(padding)}'`);
  const p = perDim(op, 'padding', padding, nd);
  if (p.some((v) => v < 0)) throw new KilnError('negative padding is not supported');
  return { before: p, after: p };
}

function convNd(op: string, nd: number, input: Tensor, weight: Tensor, bias: Tensor | null, opts: ConvOptions): Tensor {
  checkOptions(op, opts, ['stride', 'padding', 'dilation', 'groups']);
  if (input.ndim !== nd + 1 && input.ndim !== nd + 2) {
    throw new KilnError(
      `Expected ${nd + 1}D (unbatched) or ${nd + 2}D (batched) input to ${op}, ` +
        `but got input of size: ${fmtShape(input.shape)}`,
    );
  }
  const batched = input.ndim === nd + 2;
  const x = batched ? input : input.unsqueeze(0);
  const stride = perDim(op, 'stride', opts.stride ?? 1, nd),
    dilation = perDim(op, 'dilation', opts.dilation ?? 1, nd);
  const groups = opts.groups ?? 1;
  if (stride.some((s) => s <= 0)) throw new KilnError('non-positive stride is not supported');
  if (dilation.some((s) => s <= 0))
    throw new KilnError(`dilation should be greater than zero, but got ${fmtShape(dilation)}`);
  if (!Number.isInteger(groups) || groups <= 0) throw new KilnError('non-positive groups is not supported');
  if (weight.ndim !== nd + 2) {
    throw new KilnError(
      `Expected ${nd + 2}-dimensional weight for ${op}, but got ${weight.ndim}-dimensional weight ` +
        `of size ${fmtShape(weight.shape)} instead`,
    );
  }
  const [o, cg, ...kernel] = weight.shape;
  if (o % groups !== 0) {
    // PyTorch 1.13's message prints the size in double brackets
    throw new KilnError(
      `Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, ` +
        `but got weight of size [${fmtShape(weight.shape)}] instead`,
    );
  }
  if (x.shape[1] !== cg * groups) {
    throw new KilnError(
      `Given groups=${groups}, weight of size ${fmtShape(weight.shape)}, expected input${fmtShape(x.shape)} ` +
        `to have ${cg * groups} channels, but got ${x.shape[1]} channels instead`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== o)) {
    throw new KilnError(
      `Given weight of size ${fmtShape(weight.shape)}, expected bias to be 1-dimensional with ${o} elements, ` +
        `but got bias of size ${fmtShape(bias.shape)} instead`,
    );
  }
  const { before, after } = convPadding(op, opts.padding ?? 0, kernel, stride, dilation);
  const spatial = x.shape.slice(2);
  const padded = spatial.map((s, d) => s + before[d] + after[d]);
  const span = kernel.map((k, d) => dilation[d] * (k - 1) + 1);
  if (padded.some((p, d) => p < span[d])) {
    throw new KilnError(
      `Calculated padded input size per channel: (${padded.join(' x ')}). Kernel size: (${span.join(' x ')}). ` +
        "Kernel size can't be greater than actual input size",
    );
  }
  const out = padded.map((p, d) => Math.floor((p - span[d]) / stride[d]) + 1);
  const n = x.shape[0],
    og = o / groups,
    ones = out.map(() => 1);
  // [N, G, C/G, *spatial] and [G, O/G, C/G, *kernel]: the group is a batch dim of each tap's product
  const xg = padLast(x, before, after).reshape([n, groups, cg, ...padded]);
  const wg = weight.reshape([groups, og, cg, ...kernel]);
  let acc: Tensor | null = null;
  for (const at of offsets(kernel)) {
    // [N, G, 1, C/G, *out] * [1, G, O/G, C/G, 1...] summed over C/G: a matmul whose spatial dims stay dims,
    // so the weight gradient's sum over them is a loop per dim over affine indices (a flattened [cells]
    // axis would be unflattened by division and remainder at every term)
    const win = tap(xg, at, stride, dilation, out).reshape([n, groups, 1, cg, ...out]);
    let w = wg;
    at.forEach((i, d) => (w = w.slice(3 + d, i, i + 1)));
    const term = w
      .reshape([1, groups, og, cg, ...ones])
      .mul(win)
      .sum(3);
    acc = acc ? acc.add(term) : term;
  }
  let y = acc!.reshape([n, o, ...out]);
  if (bias) y = y.add(bias.reshape([o, ...out.map(() => 1)]));
  return batched ? y : y.squeeze(0);
}

/** PyTorch's F.conv1d(input [N, C, L] or [C, L], weight [O, C/groups, K], bias [O] | null) */
export function conv1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  return convNd('conv1d', 1, input, weight, bias, opts);
}

/** PyTorch's F.conv2d(input [N, C, H, W] or [C, H, W], weight [O, C/groups, KH, KW], bias [O] | null) */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  return convNd('conv2d', 2, input, weight, bias, opts);
}
