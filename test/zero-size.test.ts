// Zero-size tensors (an empty batch, a zero-length slice, empty matmuls, parameters with no
// elements) and reductions of 0-d tensors, on every target, with PyTorch 1.13's values
// (computed with torch 1.13 on this machine; the messages are its zero_numel_check_dims').
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';

const f32 = (...shape: number[]) => ({ shape, dtype: 'float32' as const });
const empty = new Float32Array(0);
const view = (t: Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });

/** the error's first line (KilnError appends the user's call site) */
async function message(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
  return '(no error)';
}

/** torch 1.13: torch.manual_seed(0), the MLP below, Adam(lr=0.1, weight_decay=0.01), 2 steps */
const TORCH: Record<number, { losses: number[]; params: number[][] }> = {
  4: {
    losses: [0.7020763158798218, 0.6959621906280518],
    params: [
      [],
      [0.1731770634651184, 0.07998336106538773, -0.19875389337539673],
      [
        -0.22646212577819824, -0.35786932706832886, -0.01397114247083664, -0.1825287640094757, 0.2800194323062897,
        -0.22043660283088684, -0.0013271570205688477, -0.29995205998420715, -0.2494720220565796, -0.3525815010070801,
        -0.18425771594047546, -0.04269848018884659,
      ],
      [-0.14482268691062927, 0.1075807586312294, 0.31273025274276733, -0.1932210624217987],
      [
        -0.0383472740650177, 0.025902576744556427, 0.6120097041130066, 0.06617532670497894, 0.18655306100845337,
        0.07331342995166779, -0.14574047923088074, 0.2541428208351135,
      ],
      [-0.4979914724826813, -0.2717996835708618],
      [],
      [],
    ],
  },
  0: {
    losses: [NaN, NaN],
    params: [
      [],
      [0.0, 0.0, 0.0],
      [
        -0.22646212577819824, -0.027782544493675232, -0.03318667411804199, 0.023332320153713226, 0.2591533362865448,
        0.045974161475896835, -0.03486226499080658, 0.01636449247598648, 0.06183478236198425, -0.3525815010070801,
        -0.18425771594047546, -0.04269848018884659,
      ],
      [-0.024385903030633926, 0.03337329626083374, 0.14868426322937012, -0.1932210624217987],
      [
        -0.0233902707695961, -0.01001737266778946, 0.21682608127593994, 0.06617532670497894, 0.17612017691135406,
        0.06711852550506592, -0.04764307662844658, 0.2541428208351135,
      ],
      [-0.2651830315589905, -0.11747421324253082],
      [],
      [],
    ],
  },
};

// native before webgpu: Mesa's llvmpipe and llvm-bindings each bring an LLVM, and only this order
// lets both register their options in one process
describe.each(['reference', 'native', 'webgpu'])('%s: zero-size tensors', (target) => {
  it('an empty batch: elementwise, sums (0), means (NaN), zero-length slices', async () => {
    const f = await compile(
      (x: Tensor, y: Tensor) => {
        const s = y.slice(0, 2, 2); // [0, 3]
        return [x.mul(2).add(1), x.sum(), x.sum(0), x.mean(), x.mean(0), x.sum(1), s, s.exp().sum(0), y.sum(0)];
      },
      { inputs: [f32(0, 3), f32(4, 3)], target },
    );
    const outs: Tensor[] = await f.run(
      empty,
      Float32Array.from({ length: 12 }, (_, i) => i),
    );
    expect(outs.map(view)).toEqual([
      { shape: [0, 3], data: [] },
      { shape: [], data: [0] },
      { shape: [3], data: [0, 0, 0] },
      { shape: [], data: [NaN] },
      { shape: [3], data: [NaN, NaN, NaN] },
      { shape: [0], data: [] },
      { shape: [0, 3], data: [] },
      { shape: [3], data: [0, 0, 0] },
      { shape: [3], data: [18, 22, 26] },
    ]);
    expect(outs[0].data).toBeInstanceOf(Float32Array);
  });

  it('an empty value several kernels read (at batch > 0 it is stored in scratch once)', async () => {
    const f = await compile(
      (x: Tensor, y: Tensor) => {
        const u = x.add(y).mul(y);
        return [u.sum(0), u.sum(1), u.mul(2).sum(), x.matmul(y.transpose(0, 1)).exp().matmul(y)];
      },
      { inputs: [f32(0, 4), f32(0, 4)], target },
    );
    const outs: Tensor[] = await f.run(empty, empty);
    expect(outs.map(view)).toEqual([
      { shape: [4], data: [0, 0, 0, 0] },
      { shape: [0], data: [] },
      { shape: [], data: [0] },
      { shape: [0, 4], data: [] },
    ]);
  });

  const matmuls = [
    [
      [0, 64],
      [64, 0],
      [0, 0],
    ],
    [
      [2, 0],
      [0, 3],
      [2, 3],
    ],
    [
      [5, 3],
      [3, 0],
      [5, 0],
    ],
  ];
  it.each(matmuls)('matmul %j @ %j is zeros %j', async (a, b, c) => {
    const f = await compile((x: Tensor, w: Tensor) => x.matmul(w), { inputs: [f32(...a), f32(...b)], target });
    const x = Float32Array.from({ length: a[0] * a[1] }, (_, i) => i);
    expect(view(await f.run(x, new Float32Array(b[0] * b[1])))).toEqual({ shape: c, data: Array(c[0] * c[1]).fill(0) });
  });

  it('a function whose outputs are all empty returns them, with their shapes, as empty arrays', async () => {
    const one = await compile((x: Tensor) => x.mul(2), { inputs: [f32(0, 3)], target });
    const t: Tensor = await one.run(empty);
    expect(view(t)).toEqual({ shape: [0, 3], data: [] });
    const many = await compile((x: Tensor) => [x.exp(), x.sum(1), x.int()], { inputs: [f32(0, 3)], target });
    const outs: Tensor[] = await many.run(empty);
    expect(outs.map((o) => [o.shape, o.dtype, o.data.constructor.name, o.data.length])).toEqual([
      [[0, 3], 'float32', 'Float32Array', 0],
      [[0], 'float32', 'Float32Array', 0],
      [[0, 3], 'int32', 'Int32Array', 0],
    ]);
  });

  it('0-d tensors reduce over dim 0 / -1 as one element: sum, mean, amax, argmax, softmax, logSoftmax', async () => {
    const f = await compile(
      (x: Tensor) => [
        x.sum(0),
        x.sum(-1),
        x.mean(-1),
        x.amax(-1),
        x.max(0, true).values,
        x.argmax(0),
        x.softmax(0),
        x.logSoftmax(-1),
        x.gt(0).sum(0),
      ],
      { inputs: [f32()], target },
    );
    const outs: Tensor[] = await f.run(new Float32Array([3]));
    expect(outs.map((o) => [o.shape, o.dtype, o.item()])).toEqual([
      [[], 'float32', 3],
      [[], 'float32', 3],
      [[], 'float32', 3],
      [[], 'float32', 3],
      [[], 'float32', 3],
      [[], 'int32', 0],
      [[], 'float32', 1],
      [[], 'float32', 0],
      [[], 'int32', 1],
    ]);
  });

  it('a 0-d parameter trains through sum(0) and softmax(-1)', async () => {
    const p = new nn.Parameter({ shape: [], data: [1.5] });
    const opt = new optim.SGD([p], { lr: 0.1 });
    const step = await compile(
      (x: Tensor) => {
        const loss = p.mul(p).sum(0).add(p.softmax(-1).mul(x).sum(-1));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      { inputs: [f32()], target },
    );
    const losses = [(await step.run(new Float32Array([2]))).item(), (await step.run(new Float32Array([2]))).item()];
    await step.sync();
    // torch 1.13, p = Parameter(tensor(1.5)), SGD(lr=0.1): softmax over one element has gradient 0
    expect(losses).toEqual([4.25, 3.440000057220459]);
    expect(p.data[0]).toBe(0.9600000381469727);
  });

  // an MLP with a [3,0] weight (Linear(0, 3)), [0] and [3,0] parameters, Adam with weight decay:
  // 2 steps at batch 4 and at batch 0 (empty: loss NaN, gradients 0, weight decay still moves);
  // the loss adds x @ e30, a [B, 0] matmul (0, as e30.sum() would be: the values are torch's)
  it.each([4, 0])('training steps at batch %i with [3,0], [0] and [3,0] parameters: as PyTorch', async (B) => {
    manualSeed(0);
    const l1 = new nn.Linear(0, 3),
      l2 = new nn.Linear(3, 4),
      l3 = new nn.Linear(4, 2);
    const e0 = new nn.Parameter({ shape: [0], data: [] }),
      e30 = new nn.Parameter({ shape: [3, 0], data: [] });
    const params = [...l1.parameters(), ...l2.parameters(), ...l3.parameters(), e0, e30];
    const opt = new optim.Adam(params, { lr: 0.1, weightDecay: 0.01 });
    const crit = new nn.CrossEntropyLoss();
    const step = await compile(
      (x: Tensor, z: Tensor, y: Tensor) => {
        const out = l3.forward(l2.forward(x.add(l1.forward(z))).relu());
        const loss = crit.forward(out, y).add(e0.sum()).add(x.matmul(e30).sum()); // x @ e30 is [B, 0]
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      { inputs: [f32(B, 3), f32(B, 0), { shape: [B], dtype: 'int32' }], target },
    );
    const x = Float32Array.from({ length: B * 3 }, (_, i) => i / 7);
    const y = Int32Array.from({ length: B }, (_, i) => i % 2);
    const losses = [(await step.run(x, empty, y)).item(), (await step.run(x, empty, y)).item()];
    await step.sync();
    const want = TORCH[B];
    if (B === 0) expect(losses.every(Number.isNaN)).toBe(true);
    else losses.forEach((l, i) => expect(Math.abs(l - want.losses[i])).toBeLessThanOrEqual(1e-6));
    params.forEach((p, i) => {
      expect(p.data.length).toBe(want.params[i].length);
      const w = want.params[i];
      p.data.forEach((v, k) => expect(Math.abs(v - w[k])).toBeLessThanOrEqual(1e-6 * Math.abs(w[k]) + 1e-7));
    });
    expect([l1.weight.shape, e0.shape, e30.shape]).toEqual([[3, 0], [0], [3, 0]]);
  });
});

describe('max-like reductions of empty tensors (PyTorch 1.13 messages)', () => {
  const UNSPECIFIED =
    'Expected reduction dim to be specified for input.numel() == 0.' +
    " Specify the reduction dim with the 'dim' argument.";
  const cases: [string, number[], (x: Tensor) => Tensor, string][] = [
    ['amax(0)', [0, 3], (x) => x.amax(0), 'amax(): Expected reduction dim 0 to have non-zero size.'],
    [
      'amax(-2) names the dim as given',
      [0, 3],
      (x) => x.amax(-2),
      'amax(): Expected reduction dim -2 to have non-zero size.',
    ],
    ['amin(-1)', [3, 0], (x) => x.amin(-1), 'amin(): Expected reduction dim -1 to have non-zero size.'],
    [
      'max(-1) names it wrapped',
      [3, 0],
      (x) => x.max(-1).values,
      'max(): Expected reduction dim 1 to have non-zero size.',
    ],
    ['min(-1)', [3, 0], (x) => x.min(-1).values, 'min(): Expected reduction dim 1 to have non-zero size.'],
    ['argmax(-1)', [3, 0], (x) => x.argmax(-1), 'argmax(): Expected reduction dim 1 to have non-zero size.'],
    [
      'amax([0, 1]) checks in order',
      [3, 0],
      (x) => x.amax([0, 1]),
      'amax(): Expected reduction dim 1 to have non-zero size.',
    ],
    ['max()', [0, 3], (x) => x.max(), `max(): ${UNSPECIFIED}`],
    ['amin()', [0, 3], (x) => x.amin(), `amin(): ${UNSPECIFIED}`],
  ];
  it.each(cases)('%s', async (_, shape, fn, want) => {
    expect(await message(() => compile(fn, { inputs: [f32(...shape)], target: 'reference' }))).toBe(want);
  });

  it('a max over a non-empty dim of an empty tensor, and softmax over an empty one, are empty', async () => {
    const f = await compile((x: Tensor) => [x.amax(1), x.max(1).values, x.softmax(0), x.logSoftmax(1)], {
      inputs: [f32(0, 3)],
      target: 'reference',
    });
    expect((await f.run(empty)).map((o: Tensor) => o.shape)).toEqual([[0], [0], [0, 3], [0, 3]]);
  });
});
