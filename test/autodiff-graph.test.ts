// What backward() walks: clone() stays in the graph (only detach() cuts it), and a graph whose
// saved values a backward() freed cannot be walked again unless retainGraph kept them, as in
// PyTorch. Eagerly and inside compile()'d functions, on every target.
import { describe, expect, it } from 'vitest';
import { compile, nn, tensor, KilnError, type Tensor } from '../compiler/index.js';

const SECOND =
  'Trying to backward through the graph a second time (or directly access saved tensors after they ' +
  'have already been freed). Saved intermediate values of the graph are freed when you call .backward() or ' +
  'autograd.grad(). Specify retainGraph: true if you need to backward through the graph a second time or if you ' +
  'need to access saved tensors after calling backward.';

const param = () => new nn.Parameter({ shape: [3], data: [1, -2, 3] });
const gradOf = (p: nn.Parameter) => Array.from(p.grad!.data);

async function runOn(target: string, p: nn.Parameter, fn: () => Tensor): Promise<void> {
  const step = await compile(
    () => {
      p.grad = null;
      return fn();
    },
    { inputs: [], target },
  );
  await step.run();
  await step.sync();
}

describe('backward() eagerly', () => {
  it('flows through clone() and not through detach()', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    x.clone().mul(x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([2, -4, 6]);
    const y = tensor([1, -2, 3], { requiresGrad: true });
    y.detach().mul(y).sum().backward();
    expect(Array.from(y.grad!.data)).toEqual([1, -2, 3]);
  });

  it("a second backward() through the same graph throws PyTorch's error and changes no gradient", () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward();
    let err: unknown;
    try {
      loss.backward();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KilnError);
    expect((err as Error).message.split('\n')[0]).toBe(SECOND);
    expect(Array.from(x.grad!.data)).toEqual([2, -4, 6]);
  });

  it('with retainGraph: true a second backward() accumulates, then the graph is freed', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward({ retainGraph: true });
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expect(Array.from(x.grad!.data)).toEqual([6, -12, 18]);
    expect(() => loss.backward()).toThrow(SECOND);
  });

  it('walks again what saves nothing (sum, add, views), as PyTorch does', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    const loss = x.add(1).reshape([3, 1]).sum();
    loss.backward();
    loss.backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 2, 2]);
    // add with alpha multiplies by a constant: nothing saved either
    const y = tensor([1, 2], { requiresGrad: true });
    const l2 = y.add(y, 2).sum();
    l2.backward();
    l2.backward();
    expect(Array.from(y.grad!.data)).toEqual([6, 6]);
  });

  it('a new forward pass is a new graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([4, 8]);
  });

  it('rejects an unknown option naming the valid one', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.sum().backward({ retain_graph: true } as never)).toThrow(
      "Unknown option 'retain_graph' for backward; did you mean 'retainGraph'?",
    );
  });
});

describe.each(['reference', 'native', 'webgpu'])('backward() inside compile() on %s', (target) => {
  it('flows through clone(): d/dp sum(clone(p) * p) = 2p', async () => {
    const p = param();
    await runOn(target, p, () => {
      const l = p.clone().mul(p).sum();
      l.backward();
      return l;
    });
    expect(gradOf(p)).toEqual([2, -4, 6]);
  }, 60_000);

  it('retainGraph: true makes a second backward() accumulate', async () => {
    const p = param();
    await runOn(target, p, () => {
      const l = p.mul(p).sum();
      l.backward({ retainGraph: true });
      l.backward();
      return l;
    });
    expect(gradOf(p)).toEqual([4, -8, 12]);
  }, 60_000);

  it("a second backward() without it fails to compile with PyTorch's error", async () => {
    const p = param();
    await expect(
      runOn(target, p, () => {
        const l = p.mul(p).sum();
        l.backward();
        l.backward();
        return l;
      }),
    ).rejects.toThrow(SECOND);
    expect(p.grad).toBeNull();
  }, 60_000);
});
