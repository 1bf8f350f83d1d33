// A package built by `kiln build` from a program whose step holds DistributedDataParallel's all-reduce
// (test/fixtures/programs/ddp-mlp.ts) runs under mpirun -np 2 with no compiler: the package's runtime starts
// the process group; both ranks end with the same weights, those of one process training on both ranks'
// rows together (compile() on the reference target, here).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim } from '../compiler/index.js';
import { trainingStep } from './helpers/seed.js';
import { alone, mpirun, records, root, type MpiJob } from './helpers/mpirun.js';
import { mlpBatch } from './helpers/ddp-batch.js';

const RANK = 'test/helpers/distributed-bundle-rank.ts';
const show = (job: MpiJob) => JSON.stringify({ code: job.code, ranks: job.ranks, mpirun: job.stderr.slice(-2000) });
mkdirSync(path.join(root, '.kiln-cache'), { recursive: true });
const out = mkdtempSync(path.join(root, '.kiln-cache', 'ddp-mlp-pkg-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function wholeBatch(): Promise<Record<string, Float32Array>> {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(10, 32), new nn.ReLU(), new nn.Linear(32, 4));
  const crit = new nn.CrossEntropyLoss();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const inputs = [
    { shape: [16, 10], dtype: 'float32' as const },
    { shape: [16], dtype: 'int32' as const },
  ];
  const step = await compile(trainingStep(model, crit, opt), { inputs, target: 'reference' });
  for (let s = 0; s < 10; s++) await step.run(...mlpBatch(s, 16));
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data]));
}

describe('a kiln build package with a data-parallel step', () => {
  it('trains under mpirun -np 2 from the package alone, as one process on the whole batch', async () => {
    const built = await alone(RANK, { args: ['build', out, 'native'], timeoutMs: 180_000 });
    expect(built.code, show(built)).toBe(0);
    const job = await mpirun(RANK, { args: ['train', out, 'native'], timeoutMs: 120_000 });
    expect(job.code, show(job)).toBe(0);
    const weightsOf = (r: number): Record<string, Float32Array> =>
      Object.fromEntries(
        records(job.ranks[r])
          .filter((o) => o.event === 'weight' && o.size === 2)
          .map((o) => [o.key as string, new Float32Array(new Uint8Array(Buffer.from(o.data, 'base64')).buffer)]),
      );
    const [w0, w1] = [weightsOf(0), weightsOf(1)];
    expect(Object.keys(w0), show(job)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(w1).toEqual(w0);
    const whole = await wholeBatch();
    for (const [k, v] of Object.entries(whole)) {
      expect(w0[k].length).toBe(v.length);
      w0[k].forEach((g, i) => expect(Math.abs(g - v[i]), `${k}[${i}]`).toBeLessThan(1e-6));
    }
  }, 300_000);
});
