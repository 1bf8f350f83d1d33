// Programs with many inputs and outputs: past a bound they share one buffer per dtype, so a
// native entry point stays within koffi's 64 arguments, and results are unchanged.
import { describe, expect, it } from 'vitest';
import { compile, nn, optim, type Tensor } from '../compiler/index.js';

const N = 40;
const specs = Array.from({ length: N }, (_, i) => ({ shape: [(i % 3) + 1], dtype: 'float32' as const }));
const inputs = specs.map((s, i) => Float32Array.from({ length: s.shape[0] }, (_, k) => i - k * 0.5));

// one describe, native before the WebGPU adapters: llvm-bindings, Mesa and SwiftShader each bring
// an LLVM, and native code compiled after a WebGPU adapter has loaded can crash the process
describe.each(['reference', 'native', 'webgpu', 'webgpu:swiftshader'])('%s: many inputs and outputs', (target) => {
  // 16 values, each in a buffer of its own, with state and scratch: past what one WebGPU kernel
  // may bind (maxStorageBuffersPerShaderStage: 16 on llvmpipe, 12 on SwiftShader), so there they
  // share a buffer per dtype; native keeps one buffer each (below koffi's argument limit)
  const M = 16;
  const spec3 = { shape: [3], dtype: 'float32' as const };
  it('sums 16 inputs into one output', async () => {
    const sum = (...xs: Tensor[]) => xs.reduce((a, b, i) => a.add(b.mul(i)));
    const f = await compile(sum, { inputs: Array(M).fill(spec3), target });
    const out: Tensor = await f.run(...Array.from({ length: M }, (_, i) => Float32Array.from([i, 1, -i])));
    const want = (f: (i: number) => number) =>
      Array.from({ length: M }, (_, i) => (i ? i * f(i) : f(0))).reduce((a, b) => a + b);
    expect(Array.from(out.data)).toEqual([want((i) => i), want(() => 1), want((i) => -i)]);
  });

  it('returns 16 outputs of one input and a parameter', async () => {
    const w = new nn.Parameter({ shape: [3], data: [1, -2, 3] });
    const outputs = (x: Tensor) => Array.from({ length: M }, (_, i) => x.mul(w).add(i));
    const f = await compile(outputs, { inputs: [spec3], target });
    const outs: Tensor[] = await f.run(Float32Array.from([0.5, 1, 2]));
    expect(outs.map((o) => Array.from(o.data))).toEqual(Array.from({ length: M }, (_, i) => [0.5 + i, -2 + i, 6 + i]));
  });

  it('returns each output from its own input', async () => {
    const f = await compile((...xs: Tensor[]) => xs.map((x, i) => x.mul(2).add(i)), { inputs: specs, target });
    const outs = await f.run(...inputs);
    expect(outs).toHaveLength(N);
    outs.forEach((o: Tensor, i: number) =>
      expect(Array.from(o.data)).toEqual(Array.from(inputs[i], (v) => Math.fround(v * 2 + i))),
    );
  });

  it('steps an optimizer over many parameters with hand-set gradients in one update kernel', async () => {
    const make = () =>
      Array.from(
        { length: N },
        (_, i) =>
          new nn.Parameter({
            shape: specs[i].shape,
            data: new Float32Array(specs[i].shape[0]).fill(1),
          }),
      );
    const ps = make(),
      ref = make();
    const run = async (params: nn.Parameter[], t: string) => {
      const opt = new optim.Adam(params, { lr: 0.1 });
      const step = await compile(
        (...gs: Tensor[]) => {
          params.forEach((p, i) => {
            p.grad = gs[i];
          });
          opt.step();
        },
        { inputs: specs, target: t },
      );
      await step.run(...inputs);
      await step.run(...inputs);
      await step.sync();
      return step;
    };
    const step = await run(ps, target);
    await run(ref, 'reference');
    // bit-exact on the CPU targets; WGSL's fma and sqrt are not exactly rounded on every driver
    const tol = target.startsWith('webgpu') ? 1e-6 : 0;
    ps.forEach((p, i) =>
      p.data.forEach((v, k) =>
        expect(Math.abs(v - ref[i].data[k])).toBeLessThanOrEqual(tol * Math.abs(ref[i].data[k])),
      ),
    );
    // one update kernel (a fast/general pair counts once)
    if (target !== 'reference') expect(step.stats().launchesPerRun).toBe(1);
  });
});
