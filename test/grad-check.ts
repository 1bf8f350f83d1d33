// Central finite differences for eager kiln functions: d/dx sum(f(x) * w) for a fixed random w,
// compared with what backward() puts in x.grad. Values are float32 (the reference interpreter
// rounds every op), so the step is large-ish and the tolerance fits float32.
import { tensor, type Tensor } from 'kiln';

export interface Input {
  shape: number[];
  data: number[];
}

let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
export const randData = (n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => lo + (hi - lo) * rnd());

/** returns the worst |analytic - numeric| / (atol + rtol * |numeric|) over every input element (<= 1 passes) */
export function gradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Input[],
  opts: { h?: number; atol?: number; rtol?: number } = {},
): number {
  const h = opts.h ?? 1e-2,
    atol = opts.atol ?? 2e-3,
    rtol = opts.rtol ?? 1e-2;
  const xs = inputs.map((x) => tensor(x.data, { shape: x.shape, requiresGrad: true }));
  const y = f(...xs);
  const w = tensor(randData(y.numel(), 0.5, 1.5), { shape: y.shape });
  y.mul(w).sum().backward();
  const value = (k: number, j: number, v: number): number => {
    const args = inputs.map((x, i) => {
      const d = Float32Array.from(x.data);
      if (i === k) d[j] = v;
      return tensor(d, { shape: x.shape });
    });
    return f(...args)
      .mul(w)
      .sum()
      .item();
  };
  let worst = 0;
  inputs.forEach((x, k) => {
    const g = xs[k].grad;
    if (!g) throw new Error(`input ${k} got no gradient`);
    const analytic = g.data;
    for (let j = 0; j < x.data.length; j++) {
      const hi = Math.fround(x.data[j] + h),
        lo = Math.fround(x.data[j] - h);
      const numeric = (value(k, j, hi) - value(k, j, lo)) / (hi - lo);
      worst = Math.max(worst, Math.abs(analytic[j] - numeric) / (atol + rtol * Math.abs(numeric)));
    }
  });
  return worst;
}
