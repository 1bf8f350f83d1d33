// Every optimizer golden (real PyTorch 1.13 trajectories, test/fixtures/golden) driven through the
// public API: gradients are the compiled function's inputs, set by hand with `p.grad = g`; the step
// where PyTorch saw `grad is None` runs a second compiled function over the same parameters and
// optimizer that sets that grad to null (so both functions share state). Targets are a parameter.
import { describe, expect, it } from 'vitest';
import { optim, compile, type Tensor, type CompiledFunction } from '../compiler/index.js';
import {
  camelOptions,
  f32,
  goldenCheck,
  goldenNames,
  goldenTargets,
  loadGolden,
  toParameter,
  type GoldenTensor,
} from './helpers/golden.js';

// Reference and native: every element equal to PyTorch's (its CPU add-with-alpha and addcmul are
// fused multiply-adds, which kiln's fma reproduces; before fma the worst element was 4.3e-5 off,
// sgd_nesterov). WebGPU: norm-wise 1e-5 (llvmpipe and SwiftShader run WGSL fma unfused).
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

interface OptimizerGolden {
  optimizer: 'Adam' | 'AdamW' | 'Adagrad' | 'RMSprop' | 'SGD';
  options: Record<string, unknown>;
  init: GoldenTensor[];
  grads: (GoldenTensor | null)[][];
  params_after_each_step: GoldenTensor[][];
  final_state: Record<string, number | GoldenTensor>[];
}

/** one compiled step per pattern of missing grads, all over the same parameters and optimizer */
async function stepper(params: ReturnType<typeof toParameter>[], opt: optim.Optimizer<any>, target: string) {
  const fns = new Map<string, CompiledFunction>();
  return async (grads: (GoldenTensor | null)[]) => {
    const present = grads.map((g) => g !== null);
    const key = present.map(Number).join('');
    let fn = fns.get(key);
    if (!fn) {
      const specs = grads
        .filter((g): g is GoldenTensor => g !== null)
        .map((g) => ({ shape: g.shape, dtype: 'float32' as const }));
      fn = await compile(
        (...gs: Tensor[]) => {
          let j = 0;
          params.forEach((p, i) => {
            p.grad = present[i] ? gs[j++] : null;
          });
          opt.step();
        },
        { inputs: specs, target },
      );
      fns.set(key, fn);
    }
    await fn.run(...grads.filter((g): g is GoldenTensor => g !== null).map(f32));
    await fn.sync();
    return fns.size;
  };
}

for (const target of goldenTargets()) {
  describe(`optimizer goldens (PyTorch 1.13) on ${target}`, () => {
    const { err: relErr, tol: TOL } = goldenCheck(target);
    for (const name of goldenNames('adam_', 'adamw_', 'adagrad_', 'rmsprop_', 'sgd_')) {
      it(name, async () => {
        const g = loadGolden<OptimizerGolden>(name);
        const params = g.init.map(toParameter);
        const Cls = optim[g.optimizer] as unknown as new (p: unknown, o: unknown) => optim.Optimizer<any>;
        const opt = new Cls(params, camelOptions(g.options));
        const step = await stepper(params, opt, target);
        for (let k = 0; k < g.grads.length; k++) {
          await step(g.grads[k]);
          params.forEach((p, i) => {
            const err = relErr(p.data, g.params_after_each_step[k][i].data);
            expect(err, `${name} step ${k} param ${i}`).toBeLessThanOrEqual(TOL);
          });
        }
        // the final state, key by key, in PyTorch's layout with camelCase names
        const sd = opt.stateDict();
        g.final_state.forEach((want, i) => {
          const got = sd.state[i];
          expect(Object.keys(got).map(snake).sort(), `${name} state keys of param ${i}`).toEqual(
            Object.keys(want).sort(),
          );
          for (const [k, v] of Object.entries(want)) {
            const mine = got[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
            if (typeof v === 'number') expect(mine, `${name} param ${i} ${k}`).toBe(v);
            else expect(relErr(mine.data, v.data), `${name} param ${i} ${k}`).toBeLessThanOrEqual(TOL);
          }
        });
        // parameter 3 skipped one step: its step count is one behind
        if (g.final_state[3].step !== undefined) expect(g.final_state[3].step).toBe(g.grads.length - 1);
      });
    }
  });
}
