// PyTorch's F.conv1d / F.conv2d on existing views (pad + strided slice), no im2col copy: the output is a
// sum over kernel offsets of weight[:, :, kh, kw] @ (strided window view of the padded input). Each term is a
// view feeding a matmul, so no [N, C*K, L] buffer is materialised; a dedicated window view op is future work.
import { KilnError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { checkOptions } from '../../options.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

const pair = (v: number | [number, number] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;

/** PyTorch's F.conv2d(input [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] | null) */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', opts, ['stride', 'padding', 'dilation', 'groups']);
  const [sh, sw] = pair(opts.stride, 1),
    [ph, pw] = pair(opts.padding, 0),
    [dh, dw] = pair(opts.dilation, 1);
  const groups = opts.groups ?? 1;
  const [o, cg, kh, kw] = weight.shape;
  if (input.ndim !== 4 || input.shape[1] !== cg * groups) {
    throw new KilnError(
      `Given groups=${groups}, weight of size ${fmtShape(weight.shape)}, expected input${fmtShape(input.shape)} ` +
        `to have ${cg * groups} channels, but got ${input.shape[1]} channels instead`,
    );
  }
  const [n, , h, w] = input.shape;
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const x =
    ph || pw
      ? input.pad([
          [0, 0],
          [0, 0],
          [ph, ph],
          [pw, pw],
        ])
      : input;
  const og = o / groups;
  const outs: Tensor[] = [];
  for (let g = 0; g < groups; g++) {
    const xg = groups > 1 ? x.slice(1, g * cg, (g + 1) * cg) : x;
    const wg = groups > 1 ? weight.slice(0, g * og, (g + 1) * og) : weight;
    let acc: Tensor | null = null;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // the (i, j) tap of every window: rows i*dh + r*sh, columns j*dw + c*sw
        const win = xg
          .slice(2, i * dh, i * dh + (oh - 1) * sh + 1, sh)
          .slice(3, j * dw, j * dw + (ow - 1) * sw + 1, sw)
          .reshape(n, cg, oh * ow);
        const tap = wg
          .slice(2, i, i + 1)
          .slice(3, j, j + 1)
          .reshape(og, cg);
        const term = tap.matmul(win);
        acc = acc ? acc.add(term) : term;
      }
    }
    outs.push(acc!);
  }
  let y = outs[0];
  if (groups > 1) {
    // concatenate groups along channels by padding each into place (no cat op among the views)
    y = outs
      .map((t, g) =>
        t.pad([
          [0, 0],
          [g * og, (groups - g - 1) * og],
          [0, 0],
        ]),
      )
      .reduce((a, b) => a.add(b));
  }
  y = y.reshape(n, o, oh, ow);
  return bias ? y.add(bias.reshape(o, 1, 1)) : y;
}
