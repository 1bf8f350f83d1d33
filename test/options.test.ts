// Every options object of the public API rejects names it does not know, naming the closest valid
// one: `{ weight_decay }`, `{ targt: 'native' }` or `{ optimiser }` used to be ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compile,
  data,
  defineProgram,
  loadCheckpoint,
  nn,
  optim,
  saveCheckpoint,
  tensor,
  KilnError,
  type Tensor,
} from '../compiler/index.js';
import { closestOption } from '../compiler/options.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function caught(f: () => unknown): KilnError {
  try {
    f();
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  throw new Error('expected a KilnError');
}
async function rejected(p: Promise<unknown>): Promise<KilnError> {
  const e = await p.then(
    () => null,
    (err) => err,
  );
  if (!(e instanceof KilnError)) throw new Error(`expected a KilnError, got ${e}`);
  return e;
}
const first = (e: Error) => e.message.split('\n')[0];

describe('closestOption', () => {
  it('matches case and underscores first, then the nearest name within a third of its length', () => {
    const adam = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'];
    expect(closestOption('weight_decay', adam)).toBe('weightDecay');
    expect(closestOption('WEIGHTDECAY', adam)).toBe('weightDecay');
    expect(closestOption('weightDecy', adam)).toBe('weightDecay');
    expect(closestOption('beta', adam)).toBe('betas');
    expect(closestOption('foreach', adam)).toBeUndefined();
    expect(closestOption('capturable', adam)).toBeUndefined();
  });
});

describe('unknown option names throw, naming the closest valid one', () => {
  const ds = new data.TensorDataset({ shape: [4, 2], data: new Float32Array(8) });
  it.each([
    [
      'CrossEntropyLoss',
      () => new nn.CrossEntropyLoss({ label_smoothing: 0.1 } as never),
      "Unknown option 'label_smoothing' for CrossEntropyLoss; did you mean 'labelSmoothing'?",
    ],
    [
      'CrossEntropyLoss ignore_index',
      () => new nn.CrossEntropyLoss({ ignore_index: 0 } as never),
      "Unknown option 'ignore_index' for CrossEntropyLoss; did you mean 'ignoreIndex'?",
    ],
    [
      'MSELoss',
      () => new nn.MSELoss({ reduce: 'sum' } as never),
      "Unknown option 'reduce' for MSELoss; valid options: 'reduction'",
    ],
    [
      'MSELoss not an object',
      () => new nn.MSELoss('sum' as never),
      'MSELoss: options must be an object of { reduction }, got string',
    ],
    [
      'Linear',
      () => new nn.Linear(4, 2, { Bias: false } as never),
      "Unknown option 'Bias' for Linear; did you mean 'bias'?",
    ],
    [
      'DataLoader',
      () => new data.DataLoader(ds, { batch_size: 2 } as never),
      "Unknown option 'batch_size' for DataLoader; did you mean 'batchSize'?",
    ],
    [
      'tensor',
      () => tensor([1, 2], { requires_grad: true } as never),
      "Unknown option 'requires_grad' for tensor; did you mean 'requiresGrad'?",
    ],
    [
      'defineProgram',
      () =>
        defineProgram({ name: 'p', functions: { f: { fn: () => undefined, inputs: [] } }, descripton: 'x' } as never),
      "Unknown option 'descripton' for defineProgram; did you mean 'description'?",
    ],
    [
      'defineProgram function',
      () => defineProgram({ name: 'p', functions: { f: { fn: () => undefined, inputs: [], docs: 'x' } } } as never),
      "Unknown option 'docs' for defineProgram(p): functions.f; did you mean 'doc'?",
    ],
  ])('%s', (_name, make, want) => expect(first(caught(make))).toBe(want));

  it('compile: a misspelt target no longer runs on the reference target', async () => {
    const e = await rejected(
      compile((x: Tensor) => x.sum(), { inputs: [{ shape: [2], dtype: 'float32' }], targt: 'native' } as never),
    );
    expect(first(e)).toBe("Unknown option 'targt' for compile; did you mean 'target'?");
    const spec = await rejected(
      compile((x: Tensor) => x.sum(), { inputs: [{ shape: [2], dtype: 'float32', nmae: 'x' } as never] }),
    );
    expect(first(spec)).toBe("Unknown option 'nmae' for compile: input 0; did you mean 'name'?");
  });

  it('checkpoints: { optimiser } is not silently left out', async () => {
    const model = new nn.Linear(2, 1);
    const optimiser = new optim.SGD(model.parameters(), { lr: 0.1 });
    const save = await rejected(saveCheckpoint(dir, { model, optimiser } as never));
    expect(first(save)).toBe("Unknown option 'optimiser' for saveCheckpoint; did you mean 'optimizer'?");
    await saveCheckpoint(dir, { model, optimizer: optimiser });
    const load = await rejected(loadCheckpoint(dir, { Model: model } as never));
    expect(first(load)).toBe("Unknown option 'Model' for loadCheckpoint; did you mean 'model'?");
  });
});
