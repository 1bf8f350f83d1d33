// `kiln build` with several shapes per function (FunctionSpec.shapes): the bundle holds one traced
// variant per shape, `run` takes the one whose shapes the arrays' lengths fit (one shared state, in
// call order), index.d.ts types each as an overload, and kiln inspect lists every variant. The losses
// equal compile()'s on 'reference', which traces a variant per batch size at run time.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, defineProgram, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import { buildBundle } from '../compiler/build/bundle.js';
import { traceDefinition } from '../compiler/build/program.js';
import { Progress } from '../compiler/cli/report.js';
import { inspectDefinition } from '../compiler/inspect/report.js';
import { renderText } from '../compiler/inspect/render.js';
import { createLowering } from '../compiler/inspect/pipeline.js';
import { trainingStep } from './helpers/seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const x1 = (n: number, k: number) => Float32Array.from({ length: n * 10 }, (_, j) => Math.sin(k * 7 + j));
const y1 = (n: number, k: number) => Int32Array.from({ length: n }, (_, j) => (k + j) % 2);
const BATCHES = [1, 4, 4, 1, 4, 1];

function seedProgram(shapes?: number[][][]) {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const fn = trainingStep(model, new nn.CrossEntropyLoss(), optimizer);
  const inputs = [
    { name: 'x', shape: [1, 10], dtype: 'float32' as const },
    { name: 'y', shape: [1], dtype: 'int32' as const },
  ];
  const def = defineProgram({
    name: 'kiln-variants',
    model,
    optimizer,
    functions: { trainStep: { inputs, fn, ...(shapes ? { shapes } : {}) } },
  });
  return { def, model, optimizer, fn, inputs };
}

mkdirSync(path.join(root, '.kiln-cache'), { recursive: true });
const out = mkdtempSync(path.join(root, '.kiln-cache', 'variants-')); // under the repository: koffi resolves
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('kiln build with several shapes per function', () => {
  it('runs each variant from one shared state, as compile() does', async () => {
    const { def } = seedProgram([[[4, 10], [4]]]);
    await buildBundle(def, { targets: ['native'], out: path.join(out, 'pkg'), progress: new Progress(true) });
    const { load } = await import(path.join(out, 'pkg', 'index.js'));
    const program = await load({ target: 'native' });
    expect(program.trainStep.variants.map((v: { shape: number[] }[]) => v.map((i) => i.shape))).toEqual([
      [[1, 10], [1]],
      [[4, 10], [4]],
    ]);
    const got: number[] = [];
    for (const [k, n] of BATCHES.entries()) got.push((await program.trainStep.run(x1(n, k), y1(n, k))).item());

    const ref = seedProgram();
    const step = await compile(ref.fn, { inputs: ref.inputs, target: 'reference' });
    const want: number[] = [];
    for (const [k, n] of BATCHES.entries()) want.push((await step.run(x1(n, k), y1(n, k))).item());
    for (const [k, w] of want.entries()) expect(Math.abs(got[k] - w)).toBeLessThan(1e-6 * Math.abs(w));

    // a shape that was not built names the ones that were, and runs nothing
    const before = (await program.stateDict())['0.weight'].data.slice();
    await expect(program.trainStep.run(x1(3, 0), y1(3, 0))).rejects.toThrow(
      'trainStep: no variant takes inputs of lengths 30, 3; this bundle has [1, 10] [1]; [4, 10] [4] ' +
        "(kiln build: add the shapes to the function's `shapes`)",
    );
    expect((await program.stateDict())['0.weight'].data).toEqual(before);

    const dts = readFileSync(path.join(out, 'pkg', 'index.d.ts'), 'utf8');
    expect(dts).toContain('run(x: Shaped<Float32Array, [1, 10]>, y: Shaped<Int32Array, [1]>)');
    expect(dts).toContain('run(x: Shaped<Float32Array, [4, 10]>, y: Shaped<Int32Array, [4]>)');
    program.destroy();
  }, 120_000);

  it('kiln inspect lists every variant', () => {
    const { def } = seedProgram([[[4, 10], [4]]]);
    const { report } = inspectDefinition(traceDefinition(def), 'prog.ts', createLowering());
    expect(report.functions.map((f) => f.inputs.map((i) => i.shape))).toEqual([
      [[1, 10], [1]],
      [[4, 10], [4]],
    ]);
    const text = renderText(report, 'none');
    expect(text.match(/^function trainStep/gm)).toHaveLength(2);
  });

  it('refuses shapes that do not give one shape per input, or repeat one', () => {
    expect(() => seedProgram([[[4, 10]]])).toThrow(
      'defineProgram(kiln-variants): functions.trainStep: shapes must be a list of input shape lists, ' +
        'each with 2 shape(s) (one per input), e.g. [[[1,10],[1]]]; got [[[4,10]]]',
    );
    expect(() => seedProgram([[[1, 10], [1]]])).toThrow(
      'defineProgram(kiln-variants): functions.trainStep: the input shapes [[1,10],[1]] are listed twice',
    );
  });
});
