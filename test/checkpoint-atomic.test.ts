// saveCheckpoint's model and optimizer files are one unit: a save killed at any point leaves the
// old pair or (completed on the next load) the new one, never a model from step k+1 with an
// optimizer from step k; a torn pair is refused; dead writers' temporaries are removed.
// A kill is simulated by a rename that throws (nothing after it in the save runs).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { compile, manualSeed, nn, optim } from '../compiler/index.js';
import { loadCheckpoint, saveCheckpoint } from '../compiler/checkpoint.js';
import { trainingStep } from './helpers/seed.js';

const fault = vi.hoisted(() => ({ renameTo: undefined as RegExp | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const renameSync: typeof fs.renameSync = (from, to) => {
    if (fault.renameTo?.test(String(to))) throw new Error(`simulated kill before renaming to ${String(to)}`);
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, renameSync }, renameSync };
});

const tmp = () => mkdtempSync(path.join(tmpdir(), 'kiln-pair-'));
const x = Float32Array.of(0.5, -1, 2, 0.25),
  y = Int32Array.of(1);

async function setup() {
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const crit = new nn.CrossEntropyLoss();
  const step = await compile(trainingStep(model, crit, opt), {
    inputs: [
      { shape: [1, 4], dtype: 'float32' },
      { shape: [1], dtype: 'int32' },
    ],
  });
  const snapshot = async () => {
    await step.sync();
    return JSON.stringify([model.stateDict(), opt.stateDict()], (_, v) =>
      v instanceof Float32Array ? Array.from(v) : v,
    );
  };
  return { model, opt, step, snapshot };
}

/** a fresh model + optimizer loaded from `dir` */
async function loaded(dir: string): Promise<string> {
  const b = await setup();
  await loadCheckpoint(dir, { model: b.model, optimizer: b.opt });
  return b.snapshot();
}

const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

beforeEach(() => {
  fault.renameTo = undefined;
  manualSeed(3);
});

describe('checkpoint pairs', () => {
  it('creates the folder (and its parents) a first save names', async () => {
    const a = await setup();
    await a.step.run(x, y);
    const dir = path.join(tmp(), 'runs', 'exp1');
    await saveCheckpoint(dir, { model: a.model, optimizer: a.opt });
    expect(await loaded(dir)).toBe(await a.snapshot());
  });

  it('a kill after the commit (model renamed, optimizer not) is completed by the next load', async () => {
    const a = await setup();
    const dir = tmp();
    await a.step.run(x, y);
    await saveCheckpoint(dir, { model: a.model, optimizer: a.opt });
    await a.step.run(x, y);
    const stepK1 = await a.snapshot();
    fault.renameTo = /optimizer\.safetensors$/;
    await expect(saveCheckpoint(dir, { model: a.model, optimizer: a.opt })).rejects.toThrow(/simulated kill/);
    fault.renameTo = undefined;
    expect(await loaded(dir)).toBe(stepK1); // both from step k+1
    expect(temps(dir)).toEqual([]);
  });

  it('a kill before the commit leaves the old pair; its temporaries are removed', async () => {
    const a = await setup();
    const dir = tmp();
    await a.step.run(x, y);
    await saveCheckpoint(dir, { model: a.model, optimizer: a.opt });
    const stepK = await a.snapshot();
    await a.step.run(x, y);
    fault.renameTo = /kiln-checkpoint\.json$/;
    await expect(saveCheckpoint(dir, { model: a.model, optimizer: a.opt })).rejects.toThrow(/simulated kill/);
    fault.renameTo = undefined;
    // what a SIGKILL at that moment leaves: the new files as temporaries of a process that is gone
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      writeFileSync(path.join(dir, `.${f}.${dead}.1a2b.tmp`), 'partial');
    }
    expect(temps(dir)).toHaveLength(2);
    expect(await loaded(dir)).toBe(stepK);
    expect(temps(dir)).toEqual([]);
  });

  it('refuses a model from one save with an optimizer from another, changing nothing', async () => {
    const a = await setup();
    const [dirK, dirK1] = [tmp(), tmp()];
    await a.step.run(x, y);
    await saveCheckpoint(dirK, { model: a.model, optimizer: a.opt });
    await a.step.run(x, y);
    await saveCheckpoint(dirK1, { model: a.model, optimizer: a.opt });
    copyFileSync(path.join(dirK1, 'model.safetensors'), path.join(dirK, 'model.safetensors'));
    const b = await setup();
    await b.step.run(x, y);
    const before = await b.snapshot();
    await expect(loadCheckpoint(dirK, { model: b.model, optimizer: b.opt })).rejects.toThrow(
      /model\.safetensors does not match kiln-checkpoint\.json .*not from one saveCheckpoint/,
    );
    expect(await b.snapshot()).toBe(before);
    // a model-only save does not pair with the optimizer file it leaves behind
    await saveCheckpoint(dirK1, { model: a.model });
    await expect(loadCheckpoint(dirK1, { model: b.model, optimizer: b.opt })).rejects.toThrow(
      new RegExp(
        /optimizer\.safetensors is not part of the last saveCheckpoint /.source +
          /\(kiln-checkpoint\.json names only model\.safetensors\)/.source,
      ),
    );
    expect(existsSync(path.join(dirK1, 'optimizer.safetensors'))).toBe(true);
  });
});
