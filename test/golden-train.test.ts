// The training golden trajectories (real PyTorch 1.13) through the public API: the seed's loop
// (forward, loss, zeroGrad, backward, step) compiled for each target; every step's loss and the
// final parameters within a relative error of 1e-4 (measured: ~1e-6).
import { describe, expect, it } from 'vitest';
import { compile, nn, optim, type Tensor } from 'kiln';
import { camelOptions, f32, goldenTargets, i32, loadGolden, maxRelErr, relErr, toStateDict } from './helpers/golden.js';

const TOL = 1e-4;

function buildModel(dims: number[]): nn.Sequential {
  const layers: nn.Module[] = [];
  dims.slice(1).forEach((d, i) => {
    if (i > 0) layers.push(new nn.ReLU());
    layers.push(new nn.Linear(dims[i], d));
  });
  return new nn.Sequential(...layers);
}

describe.each(goldenTargets())('training goldens on %s', (target) => {
  for (const name of ['seed_example', 'train_mlp_batch']) {
    it(name, async () => {
      const g = loadGolden(name);
      const model = buildModel(g.dims);
      model.loadStateDict(toStateDict(g.init));
      const criterion = g.loss === 'mse' ? new nn.MSELoss() : new nn.CrossEntropyLoss();
      const optimizer = new optim.Adam(model.parameters(), camelOptions(g.options) as any);
      const x0 = g.inputs[0],
        y0 = g.targets[0];
      const step = await compile(
        (x: Tensor, y: Tensor) => {
          const loss = criterion.forward(model.forward(x), y);
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          return loss;
        },
        {
          inputs: [
            { shape: x0.shape, dtype: 'float32' },
            { shape: y0.shape, dtype: y0.dtype === 'int64' ? 'int64' : 'float32' },
          ],
          target,
        },
      );
      let lossErr = 0;
      for (let k = 0; k < g.losses.length; k++) {
        const y = g.targets[k].dtype === 'int64' ? i32(g.targets[k]) : f32(g.targets[k]);
        const loss = (await step.run(f32(g.inputs[k]), y)).item();
        lossErr = Math.max(lossErr, Math.abs(loss - g.losses[k]) / Math.abs(g.losses[k]));
      }
      await step.sync();
      const fin = model.stateDict();
      let paramErr = 0,
        paramElem = 0;
      for (const [k, t] of Object.entries<any>(g.final)) {
        paramErr = Math.max(paramErr, relErr(fin[k].data, t.data));
        paramElem = Math.max(paramElem, maxRelErr(fin[k].data, t.data));
      }
      console.log(
        `${target} ${name}: loss rel err ${lossErr.toExponential(2)}, ` +
          `params rel err ${paramErr.toExponential(2)} (elementwise ${paramElem.toExponential(2)})`,
      );
      expect(lossErr).toBeLessThanOrEqual(TOL);
      expect(paramErr).toBeLessThanOrEqual(TOL);
      expect(paramElem).toBeLessThanOrEqual(TOL);
    });
  }
});
