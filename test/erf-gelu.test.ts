// erf and GELU against PyTorch 1.13 (torch.erf, F.gelu with approximate 'none' and 'tanh', and
// their gradients, computed by PyTorch in float32 at the points below) on every target. erf has no
// WGSL builtin or LLVM intrinsic: the op catalog expands it into float32 operations every target
// has (compiler/ir/erf.ts), within about one ulp of the true erf, as PyTorch's is.
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor } from 'kiln';
import './helpers/fused-backend.js';

// 'fused': the kernel-IR interpreter (test/helpers/fused-backend.ts)
const TARGETS = ['reference', 'fused', 'native', 'webgpu', 'webgpu:swiftshader'];
const MAGNITUDES = [1e-8, 1e-4, 0.1, 0.5, 0.9, 0.921875, 0.95, 1, 1.5, 2, 3, 3.9, 4.5, 10];
const XS = Float32Array.from([0, ...MAGNITUDES.flatMap((m) => [m, -m])]);

// PyTorch 1.13's float32 results at XS
const ERF = [
  0.0, 1.1283791678806665e-8, -1.1283791678806665e-8, 0.00011283791536698118, -0.00011283791536698118,
  0.11246291548013687, -0.11246291548013687, 0.5204998850822449, -0.5204998850822449, 0.7969081997871399,
  -0.7969081997871399, 0.8076736927032471, -0.8076736927032471, 0.8208907842636108, -0.8208907842636108,
  0.8427007794380188, -0.8427007794380188, 0.9661051630973816, -0.9661051630973816, 0.9953222870826721,
  -0.9953222870826721, 0.9999778866767883, -0.9999778866767883, 0.9999999403953552, -0.9999999403953552, 1.0, -1.0, 1.0,
  -1.0,
];
const ERF_GRAD = [
  1.128379225730896, 1.128379225730896, 1.128379225730896, 1.128379225730896, 1.128379225730896, 1.1171516180038452,
  1.1171516180038452, 0.8787826299667358, 0.8787826299667358, 0.5019686222076416, 0.5019686222076416,
  0.4823567867279053, 0.4823567867279053, 0.457619309425354, 0.457619309425354, 0.41510751843452454,
  0.41510751843452454, 0.11893029510974884, 0.11893029510974884, 0.02066698670387268, 0.02066698670387268,
  0.00013925305393058807, 0.00013925305393058807, 2.7979217520623934e-7, 2.7979217520623934e-7, 1.8113059940816356e-9,
  1.8113059940816356e-9, 4.203895392974451e-44, 4.203895392974451e-44,
];
const GELU = [
  0.0, 4.999999969612645e-9, -4.999999969612645e-9, 5.0003982323687524e-5, -4.999601515009999e-5, 0.05398279055953026,
  -0.04601721093058586, 0.3457311987876892, -0.1542687863111496, 0.7343459129333496, -0.16565407812595367,
  0.7575075626373291, -0.1643674522638321, 0.7874966263771057, -0.16250334680080414, 0.8413447141647339,
  -0.1586552858352661, 1.3997890949249268, -0.10021086037158966, 1.9544999599456787, -0.045500099658966064,
  2.995950222015381, -0.004049867391586304, 3.8998124599456787, -0.00018759370141196996, 4.4999847412109375,
  -1.5288591384887695e-5, 10.0, 0.0,
];
const GELU_GRAD = [
  0.5, 0.5, 0.5, 0.5000796914100647, 0.4999202489852905, 0.5795231461524963, 0.4204768240451813, 0.867495059967041,
  0.1325049102306366, 1.0554165840148926, -0.055416643619537354, 1.062160849571228, -0.06216081976890564,
  1.0702999830245972, -0.07029995322227478, 1.083315372467041, -0.08331543207168579, 1.1274691820144653,
  -0.12746915221214294, 1.085231900215149, -0.08523187041282654, 1.0119456052780151, -0.011945605278015137,
  1.0007266998291016, -0.0007266700267791748, 1.0000685453414917, -6.851553916931152e-5, 1.0, 0.0,
];
const GELU_TANH = [
  0.0, 4.999999969612645e-9, -4.999999969612645e-9, 5.000398596166633e-5, -4.999600787414238e-5, 0.053982753306627274,
  -0.046017248183488846, 0.3457140028476715, -0.1542859971523285, 0.7342284917831421, -0.1657715141773224,
  0.7573824524879456, -0.16449253261089325, 0.7873616814613342, -0.1626383662223816, 0.8411920070648193,
  -0.15880799293518066, 1.3995715379714966, -0.10042843222618103, 1.9545977115631104, -0.04540228843688965,
  2.9963626861572266, -0.0036374330520629883, 3.899888038635254, -0.00011216104030609131, 4.49999475479126,
  -5.0961971282958984e-6, 10.0, -0.0,
];
const GELU_TANH_GRAD = [
  0.5, 0.5, 0.5, 0.5000797510147095, 0.49992018938064575, 0.5795217752456665, 0.4204781949520111, 0.8673698902130127,
  0.1326301097869873, 1.0550671815872192, -0.05506722629070282, 1.0618078708648682, -0.06180781126022339,
  1.0699448585510254, -0.06994481384754181, 1.0829640626907349, -0.08296409249305725, 1.1277108192443848,
  -0.12771081924438477, 1.0860992670059204, -0.08609922230243683, 1.0115842819213867, -0.011584296822547913,
  1.0005154609680176, -0.0005153956590220332, 1.0000290870666504, -2.909085560531821e-5, 1.0, 0.0,
];

/** indices failing |got - want| <= rtol(x) |want| + atol(x) (NaN fails) */
type Tol = (x: number) => number;
function misses(got: ArrayLike<number>, want: readonly number[], rtol: Tol, atol: Tol): string[] {
  const out: string[] = [];
  XS.forEach((x, i) => {
    if (!(Math.abs(got[i] - want[i]) <= rtol(x) * Math.abs(want[i]) + atol(x))) {
      out.push(`x=${x}: ${got[i]} vs ${want[i]}`);
    }
  });
  return out;
}
const ULP1 = 2 ** -24; // half the spacing of float32s just below 1
/**
 * GELU's 1 + erf(x/√2) cancels for x << 0, in PyTorch too: an ulp of erf there is ULP1 absolute,
 * which GELU multiplies by |x|/2 (its gradient's Φ(x) by 1/2)
 */
const geluAtol: Tol = (x) => 2 * ULP1 * Math.abs(x) + 1e-37;
const gradAtol: Tol = () => 2 * ULP1;
/** the tanh form's gradient cancels in 1 - tanh², an ulp of tanh scaled by |x|/2 √(2/π) (1 + 3κx²) */
const tanhGradAtol: Tol = (x) => 2 * Math.abs(x) * (1 + 3 * 0.044715 * x * x) * 2 * ULP1;

describe.each(TARGETS)('erf and GELU on %s', (target) => {
  // WGSL allows exp(y) 3 + 2|y| ulp of error; erf's gradient is exp(-x^2)
  const rtol: Tol = target.startsWith('webgpu') ? (x) => Math.max(1e-6, 1.5 * (3 + 2 * x * x) * 2 ** -23) : () => 1e-6;

  it('erf, GELU (exact and tanh) and their gradients match PyTorch', async () => {
    const pe = new nn.Parameter({ shape: [XS.length], data: XS });
    const pg = new nn.Parameter({ shape: [XS.length], data: XS });
    const pt = new nn.Parameter({ shape: [XS.length], data: XS });
    const gelu = new nn.GELU(),
      geluTanh = new nn.GELU({ approximate: 'tanh' });
    const f = await compile(
      () => {
        pe.grad = null;
        pg.grad = null;
        pt.grad = null;
        const e = pe.erf(),
          g = gelu.forward(pg),
          t = geluTanh.forward(pt);
        e.sum().add(g.sum()).add(t.sum()).backward();
        return [e, g, t, pe.grad!, pg.grad!, pt.grad!];
      },
      { inputs: [], target },
    );
    const [e, g, t, ge, gg, gt] = await f.run();
    expect(misses(e.data, ERF, rtol, () => 1e-37)).toEqual([]);
    expect(misses(ge.data, ERF_GRAD, rtol, () => 1e-37)).toEqual([]);
    expect(misses(g.data, GELU, rtol, geluAtol)).toEqual([]);
    expect(misses(gg.data, GELU_GRAD, rtol, gradAtol)).toEqual([]);
    expect(misses(t.data, GELU_TANH, rtol, geluAtol)).toEqual([]);
    expect(misses(gt.data, GELU_TANH_GRAD, rtol, tanhGradAtol)).toEqual([]);
  });
});

describe('eager', () => {
  it('erf keeps NaN, its sign at ±0 and ±inf; an integer tensor is computed in float32', () => {
    expect(tensor([NaN, 0, -0, Infinity, -Infinity]).erf().tolist()).toEqual([NaN, 0, -0, 1, -1]);
    expect(tensor(Int32Array.of(1, -2)).erf().tolist()).toEqual([0.8427007794380188, -0.9953222870826721]);
  });
  it('GELU checks its approximate option as PyTorch does', () => {
    expect(() => new nn.GELU({ approximate: 'erf' as 'none' })).toThrow(
      'approximate argument must be either none or tanh',
    );
  });
});
