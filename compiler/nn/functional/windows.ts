// What convolution and pooling share: per-dim arguments (an int or one per spatial dim, as PyTorch's
// _single/_pair) and the sliding windows of the last spatial dims, as one strided-slice view per
// kernel offset ("tap"). A tap t is the input element every window reads at offset t, for all
// windows at once: a consumer combining the taps (a matmul, a max, a sum) is a reduction over
// kernel offsets fed by views, with no im2col buffer.
import { KilnError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { checkInt, checkInts } from '../../view-args.js';

/** PyTorch's _single/_pair: `v` as one int per spatial dim (`nd` of them) */
export function perDim(op: string, name: string, v: number | readonly number[], nd: number): number[] {
  if (typeof v === 'number') {
    checkInt(op, name, v);
    return new Array<number>(nd).fill(v);
  }
  checkInts(op, name, v);
  if (v.length === 1) return new Array<number>(nd).fill(v[0]);
  if (v.length !== nd) {
    throw new KilnError(
      `${op}: expected ${name} to be a single integer value or a list of ${nd} values to match the ` +
        `${nd}-d spatial dims, but got ${name}=[${v.join(', ')}]`,
    );
  }
  return [...v];
}

/** the kernel offsets of a kernel of sizes `kernel`, in row-major order (the order PyTorch scans a window) */
export function offsets(kernel: number[]): number[][] {
  let out: number[][] = [[]];
  for (const k of kernel) out = out.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i]));
  return out;
}

/**
 * The tap of offset `at` of the windows over the last `kernel.length` dims of `x` (already padded):
 * element [..., o0, o1] is x[..., o0 * stride0 + at0 * dilation0, o1 * stride1 + at1 * dilation1].
 */
export function tap(x: Tensor, at: number[], stride: number[], dilation: number[], out: number[]): Tensor {
  const first = x.ndim - at.length;
  let v = x;
  at.forEach((i, d) => {
    const start = i * dilation[d];
    v = v.slice(first + d, start, start + (out[d] - 1) * stride[d] + 1, stride[d]);
  });
  return v;
}

/** pads the last `before.length` dims of `x` by `before[d]` and `after[d]`, with zeros */
export function padLast(x: Tensor, before: number[], after: number[]): Tensor {
  const lead = x.ndim - before.length;
  return x.pad(x.shape.map((_, i): [number, number] => (i < lead ? [0, 0] : [before[i - lead], after[i - lead]])));
}
