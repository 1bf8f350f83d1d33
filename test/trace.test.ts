import { describe, expect, it } from 'vitest';
import { compile, nn, optim, tensor, type Tensor } from '../compiler/index.js';
import { printGraph } from '../compiler/ir/graph.js';
import { runHostProgram } from '../runtime/host.js';

describe('tracing', () => {
  it('turns a function into a printable graph program with inputs and outputs', async () => {
    const f = await compile((x: Tensor) => x.mul(2).add(1).sum(), { inputs: [{ shape: [3], dtype: 'float32' }] });
    const text = printGraph(f.programs[0].graph);
    expect(text).toMatch(/= input\(#0\) : float32\[3\]/);
    expect(text).toMatch(/= mul\(/);
    expect(text).toMatch(/= sum\(.*axes:\[0\]/);
    expect((await f.run(Float32Array.of(1, 2, 3))).item()).toBe(15);
  });

  it('records in-place parameter updates as state assignments that read the entry state', async () => {
    const p = new nn.Parameter({ shape: [2], data: [1, 2] });
    const f = await compile(
      () => {
        const before = p.mul(1);
        p.assign(p.add(10));
        return [before, p.mul(1)];
      },
      { inputs: [] },
    );
    const [before, after] = await f.run();
    expect(before.tolist()).toEqual([1, 2]);
    expect(after.tolist()).toEqual([11, 12]);
    expect(f.programs[0].graph.updates).toHaveLength(1);
    await f.run();
    expect(Array.from(p.data)).toEqual([21, 22]);
  });

  it('re-traces when a gradient that was None becomes defined (a guard on the trace)', async () => {
    const p = new nn.Parameter({ shape: [1], data: [3] });
    // no zeroGrad: backward accumulates into whatever p.grad is on entry
    const f = await compile(
      () => {
        const l = p.mul(p).sum();
        l.backward();
        return l;
      },
      { inputs: [] },
    );
    await f.run();
    expect(Array.from(p.grad!.data)).toEqual([6]);
    await f.run();
    expect(Array.from(p.grad!.data)).toEqual([12]);
    expect(f.programs).toHaveLength(2);
  });

  it('computes host scalars in float64 and rounds them to float32 once, as PyTorch casts Python floats', async () => {
    const p = new nn.Parameter({ shape: [1], data: [1] });
    const opt = new optim.Adam([p], { lr: 0.1 });
    const f = await compile(
      (g: Tensor) => {
        p.grad = g;
        opt.step();
      },
      { inputs: [{ shape: [1], dtype: 'float32' }] },
    );
    const { host } = f.programs[0].graph;
    const vars = Float64Array.from(host.vars.map((v) => v.init));
    const scalars = new Float32Array(host.scalarCount);
    runHostProgram(host, vars, scalars);
    // step 1: step_size = lr / (1 - 0.9) and sqrt(1 - 0.999)
    expect(Array.from(scalars)).toContain(Math.fround(-0.1 / (1 - 0.9)));
    expect(Array.from(scalars)).toContain(Math.fround(Math.sqrt(1 - 0.999)));
  });

  it('shares state between compiled functions over the same parameters', async () => {
    const lin = new nn.Linear(2, 1);
    lin.loadStateDict({ weight: { shape: [1, 2], data: [1, 1] }, bias: { shape: [1], data: [0] } });
    const evalStep = await compile((x: Tensor) => lin.forward(x), { inputs: [{ shape: [1, 2], dtype: 'float32' }] });
    const bump = await compile(
      () => {
        lin.bias!.assign(lin.bias!.add(1));
      },
      { inputs: [] },
    );
    expect((await evalStep.run(Float32Array.of(1, 1))).item()).toBe(2);
    await bump.run();
    await bump.run();
    expect((await evalStep.run(Float32Array.of(1, 1))).item()).toBe(4);
  });

  it('rejects inputs of the wrong dtype or length before changing any state', async () => {
    const p = new nn.Parameter({ shape: [1], data: [0] });
    const f = await compile(
      (x: Tensor) => {
        p.assign(p.add(x.sum()));
      },
      { inputs: [{ shape: [2, 2], dtype: 'float32' }] },
    );
    // (another multiple of 2 is another batch size: test/any-batch.test.ts)
    await expect(f.run(Float32Array.of(1, 2, 3))).rejects.toThrow(/input 0 has 3 elements, expected 4/);
    await expect(f.run(Int32Array.of(1, 2, 3, 4))).rejects.toThrow(/input 0 must be a Float32Array/);
    expect(Array.from(p.data)).toEqual([0]);
  });

  it('evaluates concrete tensors eagerly outside a trace', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(x.matmul(x).tolist()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(x.sum(1).tolist()).toEqual([3, 7]);
  });
});
