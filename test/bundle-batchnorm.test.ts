// A `kiln build` bundle of a model with BatchNorm carries its buffers: the running statistics and
// num_batches_tracked are in the bundle's initial state, move with every run on the device as with
// compile(), appear in stateDict()/saveState() under PyTorch's keys, and load back (kiln's
// checkpoint loader reads them too). Native only: building and running webgpu here would put two
// LLVMs in one process (the webgpu bundle path is build-package.test.ts's). A non-persistent
// buffer is state of the bundle but no key of its checkpoints.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, defineProgram, manualSeed, nn, optim, tensor, type Tensor } from '../compiler/index.js';
import { buildBundle } from '../compiler/build/bundle.js';
import { loadCheckpoint } from '../compiler/checkpoint.js';
import { Progress } from '../compiler/cli/report.js';
import { loadBundle, type TensorValue } from '../runtime/bundle/index.js';
import { decodeSafetensors, encodeSafetensors } from '../runtime/safetensors.js';

const out = mkdtempSync(path.join(tmpdir(), 'kiln-bn-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** y - offset, offset a non-persistent buffer: state of the program that no checkpoint holds */
class Shift extends nn.Module {
  declare offset: Tensor;
  constructor() {
    super();
    this.registerBuffer('offset', tensor([0.5, -0.5, 0.25, 0]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    return x.sub(this.offset);
  }
}

/** the program: a training step (train mode) and a prediction (eval mode: the running statistics) */
function program() {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4, { momentum: 0.25 }), new Shift());
  const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
  const trainStep = (x: Tensor) => {
    model.train();
    const loss = model.forward(x).sub(1).pow(2).mean();
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  };
  const predict = (x: Tensor) => {
    model.eval();
    const y = model.forward(x);
    model.train();
    return y;
  };
  return { model, opt, trainStep, predict };
}
const X = [{ name: 'x', shape: [6, 3], dtype: 'float32' as const }];
const batch = (i: number) => Float32Array.from({ length: 18 }, (_, j) => Math.sin(i * 7 + j) * 2);
const KEYS = ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'];

describe('a bundle with BatchNorm', () => {
  it("carries the buffers: initial state, updates on the device, PyTorch's keys, save and load", async () => {
    const p = program();
    const def = defineProgram({
      name: 'kiln-bn',
      model: p.model,
      optimizer: p.opt,
      functions: { trainStep: { inputs: X, fn: p.trainStep }, predict: { inputs: X, fn: p.predict } },
    });
    await buildBundle(def, { targets: ['native'], out, progress: new Progress(true) });
    const init = decodeSafetensors(readFileSync(path.join(out, 'model.safetensors')));
    expect(Object.keys(init.tensors)).toEqual(KEYS);
    expect(Array.from(init.tensors['1.running_var'].data as Float32Array)).toEqual([1, 1, 1, 1]);

    // the same program through compile() on the reference target, from the same initial state
    const r = program();
    const refStep = await compile(r.trainStep, { inputs: X, target: 'reference' });
    const refPredict = await compile(r.predict, { inputs: X, target: 'reference' });

    const { manifestSha256 } = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')).kiln;
    const b = await loadBundle(pathToFileURL(out + path.sep), { target: 'native' }, { manifestSha256 });
    for (let i = 0; i < 4; i++) {
      const [got, want] = [await b.functions.trainStep.run(batch(i)), await refStep.run(batch(i))];
      expect((got as TensorValue).data[0]).toBeCloseTo(want.item(), 5);
    }
    const sd = await b.stateDict();
    expect(Object.keys(sd)).toEqual(KEYS);
    expect(sd['1.num_batches_tracked'].data[0]).toBe(4);
    const want = r.model.stateDict();
    for (const k of KEYS) {
      Array.from(sd[k].data).forEach((v, i) => expect(v).toBeCloseTo(want[k].data[i], 5));
    }
    expect(Array.from(sd['1.running_mean'].data).every((v) => v !== 0)).toBe(true);
    const probe = batch(9);
    const pred = Array.from(((await b.functions.predict.run(probe)) as TensorValue).data as Float32Array);
    Array.from((await refPredict.run(probe)).data as Float32Array).forEach((v, i) => expect(pred[i]).toBeCloseTo(v, 4));

    // saveState: a fresh instance resumes from it (running statistics included); kiln reads it too
    const files = await b.saveState();
    const c = await loadBundle(pathToFileURL(out + path.sep), { target: 'native' }, { manifestSha256 });
    await c.loadState(files);
    expect(await c.stateDict()).toEqual(sd);
    expect(Array.from(((await c.functions.predict.run(probe)) as TensorValue).data)).toEqual(pred);
    const ckpt = path.join(out, 'ckpt');
    mkdirSync(ckpt);
    writeFileSync(path.join(ckpt, 'model.safetensors'), files.model);
    writeFileSync(path.join(ckpt, 'optimizer.safetensors'), files.optimizer!);
    const k = program();
    await loadCheckpoint(ckpt, { model: k.model, optimizer: k.opt });
    expect(k.model.stateDict()['1.num_batches_tracked'].data[0]).toBe(4);
    expect(Array.from(k.model.stateDict()['1.running_var'].data)).toEqual(Array.from(sd['1.running_var'].data));
    // a checkpoint without the buffers does not fit
    const partial = decodeSafetensors(files.model).tensors;
    delete partial['1.running_mean'];
    await expect(c.loadState({ model: encodeSafetensors(partial) })).rejects.toThrow(/Missing key "1.running_mean"/);
    b.destroy();
    c.destroy();
  }, 300_000);
});
