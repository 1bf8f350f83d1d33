// Dropout: masks from kiln's own generator (not PyTorch's), so the test checks the properties
// PyTorch's dropout has: fraction dropped near p, kept values scaled 1/(1-p), a fresh mask every
// run, the same mask in the forward and the gradient, identity in eval, zeros at p = 1.
import { describe, expect, it } from 'vitest';
import { compile, KilnError, manualSeed, nn, type Tensor } from 'kiln';

const F = nn.functional;
const N = 4096;

describe.each(['reference', 'native', 'webgpu'])('Dropout on %s', (target) => {
  it('drops about p, scales by 1/(1-p), fresh every run, same mask in forward and gradient', async () => {
    manualSeed(3);
    const p = 0.3;
    const x = new nn.Parameter({ shape: [N], data: Array.from({ length: N }, (_, i) => 1 + (i % 7)) });
    const drop = new nn.Dropout(p);
    const f = await compile(
      () => {
        x.grad = null;
        const y = drop.forward(x);
        y.sum().backward();
        return [y, x.grad as unknown as Tensor];
      },
      { inputs: [], target },
    );
    const masks: boolean[][] = [];
    for (let run = 0; run < 2; run++) {
      const [y, g] = await f.run();
      const kept = Array.from(g.data, (v) => v !== 0);
      const dropped = kept.filter((k) => !k).length / N;
      expect(Math.abs(dropped - p)).toBeLessThan(0.03);
      g.data.forEach((v: number, i: number) => {
        expect(v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-6).toBe(true);
        expect(y.data[i]).toBeCloseTo(v * (1 + (i % 7)), 5);
      });
      masks.push(kept);
    }
    expect(masks[0].filter((k, i) => k !== masks[1][i]).length).toBeGreaterThan(N / 10);
  });

  it('is the identity in eval and zeros at p = 1', async () => {
    const x = new nn.Parameter({ shape: [8], data: [1, -2, 3, -4, 5, -6, 7, -8] });
    const evalDrop = new nn.Dropout(0.9).eval();
    const f = await compile(() => [evalDrop.forward(x), new nn.Dropout(1).forward(x), F.dropout(x, { p: 0 })], {
      inputs: [],
      target,
    });
    const [same, zeros, p0] = await f.run();
    expect(Array.from(same.data)).toEqual([1, -2, 3, -4, 5, -6, 7, -8]);
    // -0 for negative inputs, as PyTorch's input * 0
    expect(Array.from(zeros.data, (v) => v === 0)).toEqual(new Array(8).fill(true));
    expect(Array.from(p0.data)).toEqual([1, -2, 3, -4, 5, -6, 7, -8]);
  });
});

describe('Dropout errors', () => {
  it("rejects p outside [0, 1] with PyTorch's message", () => {
    expect(() => new nn.Dropout(1.5)).toThrow(KilnError);
    expect(() => new nn.Dropout(1.5)).toThrow('dropout probability has to be between 0 and 1, but got 1.5');
    expect(() => new nn.Dropout(0.5, { p: 1 } as never)).toThrow(/Unknown option 'p'/);
  });
});
