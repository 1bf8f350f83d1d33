// Elementwise ops against float64 truth and PyTorch 1.13's rules (issue #9 item 4), on every
// target: tanh and sigmoid and their gradients from |x| = 1e-8 to 100 (tanh was NaN from 44.4,
// its gradient 2 for x in 22..44, sigmoid's gradient NaN below -89, tanh(1e-6) 1.3% off);
// clamp's gradient at its bounds (1, as PyTorch; maximum/minimum split it); dim=[] reduces all.
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor, type Tensor } from 'kiln';
import './helpers/fused-backend.js';

// 'fused': the kernel-IR interpreter (test/helpers/fused-backend.ts), which throws on any access outside a buffer
const TARGETS = ['reference', 'fused', 'native', 'webgpu', 'webgpu:swiftshader'];
const MAGNITUDES = [1e-8, 1e-6, 1e-3, 0.3, 0.6249, 0.6251, 1, 5, 9, 20, 30, 44.4, 50, 89, 100];
const XS = Float32Array.from(MAGNITUDES.flatMap((m) => [m, -m]));

// float64 truth at the float32 points; the derivatives in forms that do not cancel
const tanhTruth = (x: number) => Math.tanh(x);
const tanhGradTruth = (x: number) => 1 / Math.cosh(x) ** 2;
const sigmoidTruth = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const sigmoidGradTruth = (x: number) => Math.exp(-Math.abs(x)) / (1 + Math.exp(-Math.abs(x))) ** 2;

/**
 * elements failing |got - truth| <= rtol |truth| + atol (NaN fails). The gradients use PyTorch's
 * formulas on the float32 result (1 - y*y, (1 - y) * y): an ulp of y near 1 is 6e-8 absolute, and
 * where y rounds to 1 (tanh from x = 9, sigmoid from 17) the gradient is 0, in PyTorch too.
 */
type Tol = (x: number) => number;
function misses(got: ArrayLike<number>, truth: (x: number) => number, rtol: Tol, atol: number): string[] {
  const out: string[] = [];
  XS.forEach((x, i) => {
    const t = truth(x);
    if (!(Math.abs(got[i] - t) <= rtol(x) * Math.abs(t) + atol)) out.push(`x=${x}: ${got[i]} vs ${t}`);
  });
  return out;
}

describe.each(TARGETS)('tanh, sigmoid and clamp on %s', (target) => {
  // WGSL allows exp(x) 3 + 2|x| ulp of error, which sigmoid(-50) = e/(1 + e) passes on whole
  const ulp = 2 ** -23;
  const rtol: Tol = target.startsWith('webgpu') ? (x) => Math.max(4e-6, 1.5 * (3 + 2 * Math.abs(x)) * ulp) : () => 1e-6;

  it('tanh and sigmoid match float64 truth for |x| in [1e-8, 100], their gradients too', async () => {
    const pt = new nn.Parameter({ shape: [XS.length], data: XS });
    const ps = new nn.Parameter({ shape: [XS.length], data: XS });
    const f = await compile(
      () => {
        pt.grad = null;
        ps.grad = null;
        const t = pt.tanh(),
          s = ps.sigmoid();
        t.sum().add(s.sum()).backward();
        return [t, s, pt.grad!, ps.grad!];
      },
      { inputs: [], target },
    );
    const [t, s, gt, gs] = await f.run();
    expect(misses(t.data, tanhTruth, rtol, 1e-37)).toEqual([]);
    expect(misses(s.data, sigmoidTruth, rtol, 1e-37)).toEqual([]);
    expect(misses(gt.data, tanhGradTruth, rtol, 2.5e-7)).toEqual([]);
    expect(misses(gs.data, sigmoidGradTruth, rtol, 1e-7)).toEqual([]);
  });

  it('clamp passes the whole gradient at its bounds; dim=[] reduces every dim', async () => {
    const data = Float32Array.of(0.5, 1, 2, 3, 3.5);
    const p = new nn.Parameter({ shape: [5], data }),
      q = new nn.Parameter({ shape: [5], data });
    const f = await compile(
      (m: Tensor) => {
        p.grad = null;
        q.grad = null;
        p.clamp(1, 3).sum().add(q.clamp(1).sum()).backward();
        return [p.grad!, q.grad!, m.sum([]), m.mean([]), m.amax([]), m.sum([], true)];
      },
      { inputs: [{ shape: [2, 3], dtype: 'float32' }], target },
    );
    const [gp, gq, sum, mean, amax, kept] = await f.run(Float32Array.of(1, 2, 3, 4, 5, 9));
    expect(Array.from(gp.data)).toEqual([0, 1, 1, 1, 0]);
    expect(Array.from(gq.data)).toEqual([0, 1, 1, 1, 1]);
    expect([sum.shape, sum.item(), mean.item(), amax.item(), kept.shape]).toEqual([[], 24, 4, 9, [1, 1]]);
  });
});

describe('eager', () => {
  it('tanh(1e-6) and tanh(50) are right; clamp needs a bound; dim=[] reduces all', () => {
    expect(tensor([1e-6]).tanh().item()).toBeCloseTo(Math.fround(1e-6), 12);
    expect(tensor([50, -50]).tanh().tolist()).toEqual([1, -1]);
    expect(() => tensor([1]).clamp()).toThrow("At least one of 'min' or 'max' must not be None");
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ])
        .sum([])
        .item(),
    ).toBe(10);
  });
});
