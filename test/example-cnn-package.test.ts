// The digits CNN as `kiln build` packages it (examples/programs/digits-cnn.ts, native): the package ships
// torch.manual_seed(0)'s initial weights, and its trainStep (dropout on, as the program trains) gives the
// losses that compile() gives for the same definition in this process, step for step: the same kernels, the
// same dropout stream from the same shipped generator state. Its predict() agrees with the compiled model's
// evaluation-mode logits after training.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableTargets, compile } from '../compiler/index.js';
import { loadDefinitions } from '../compiler/build/program.js';
import { gather, loadDigits } from '../examples/digits-cnn-model.js';
import { maxRelErr, type GoldenTensor } from './helpers/golden.js';
import { root, withBuiltPackage } from './helpers/package.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/examples/digits-cnn.json', import.meta.url), 'utf8')) as {
  rows: number[][];
  init: Record<string, GoldenTensor>;
};
const STEPS = 6;
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe.runIf(availableTargets().includes('native'))('the digits CNN package', () => {
  it('trains as compile() does and predicts as the compiled model does', async () => {
    await withBuiltPackage('examples/programs/digits-cnn.ts', 'native', async (program) => {
      const shipped = await program.stateDict();
      for (const [k, t] of Object.entries(golden.init)) expect(bits(shipped[k].data), k).toEqual(bits(t.data));

      const [def] = await loadDefinitions(path.join(root, 'examples/programs/digits-cnn.ts'));
      const specs = (name: string) => def.functions[name].inputs.map(({ shape, dtype }) => ({ shape, dtype }));
      const trainStep = await compile(def.functions.trainStep.fn, { inputs: specs('trainStep'), target: 'native' });
      const digits = loadDigits();
      const fromPackage: number[] = [],
        fromCompile: number[] = [];
      for (let k = 0; k < STEPS; k++) {
        const batch = gather(digits, golden.rows[k]);
        fromPackage.push((await program.trainStep.run(...batch)).item());
        fromCompile.push((await trainStep.run(...batch)).item());
      }
      expect(fromPackage).toEqual(fromCompile);
      expect(fromPackage.at(-1)!).toBeLessThan(fromPackage[0]);

      await trainStep.sync();
      const predict = await compile(def.functions.predict.fn, { inputs: specs('predict'), target: 'native' });
      const [x] = gather(digits, [golden.rows[0][0]]);
      const logits = (await program.predict.run(x)).data as Float32Array;
      expect(logits.length).toBe(10);
      expect(maxRelErr(Array.from(logits), Array.from((await predict.run(x)).data))).toBeLessThan(1e-6);
      program.destroy();
    });
  }, 240_000);
});
