// The proof, through the example itself: `mpirun -np 2 examples/char-gpt.ts --distributed` (AdamW,
// warm-up and cosine schedule, clipGradNorm_ on the averaged gradients, dropout off) trains as one process
// on both ranks' batches together: losses, gradient norms and validation losses per step within 1e-5, final
// weights (rank 0's checkpoint) within 1e-5. Then both resume from the checkpoint, each rank loading it: the
// continuations agree again (a rank that skipped the optimizer state would drift from rank 0 and its loss
// would pull the mean away). Native target; test/distributed-mpi.test.ts covers webgpu.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, toFloat32 } from '../runtime/safetensors.js';
import { alone, mpirun, type MpiJob } from './helpers/mpirun.js';

const SCRIPT = 'examples/char-gpt.ts';
const ARGS = ['--target', 'native', '--dim', '16', '--heads', '2', '--blocks', '2'];
const MORE = ['--block-size', '8', '--dropout', '0', '--log-every', '1', '--digits', '9'];
const FIRST = ['--steps', '20', '--samples', '8'];
const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'kiln-ddp-gpt-'));
  dirs.push(d);
  return path.join(d, 'ck');
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Log {
  loss: number[];
  norm: number[];
  val: number[];
  sample: string;
}
function logOf(job: MpiJob): Log {
  const lines = job.ranks[0]?.stdout ?? [];
  const out: Log = { loss: [], norm: [], val: [], sample: '' };
  for (const l of lines) {
    const m = /^step \d+: loss ([\d.]+), grad norm ([\d.]+), lr \S+, val loss ([\d.]+)$/.exec(l.trim());
    if (m) [out.loss, out.norm, out.val].forEach((a, i) => a.push(Number(m[i + 1])));
  }
  const s = lines.findIndex((l) => l.startsWith('--- sample'));
  if (s >= 0) out.sample = lines[s + 1] ?? '';
  return out;
}
const show = (job: MpiJob) => JSON.stringify({ code: job.code, ranks: job.ranks, mpirun: job.stderr.slice(-2000) });
const weights = (ck: string) => {
  const f = decodeSafetensors(readFileSync(path.join(ck, 'model.safetensors')));
  return Object.fromEntries(Object.entries(f.tensors).map(([k, t]) => [k, toFloat32(t)]));
};
function expectClose(a: number[], b: number[], tol: number, what: string) {
  expect(a.length, what).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]), `${what} at step ${i}: ${v} vs ${b[i]}`).toBeLessThan(tol));
}

describe('examples/char-gpt.ts --distributed under mpirun -np 2', () => {
  it('equals one process on the concatenated batch, and every rank resumes from the checkpoint', async () => {
    const [one, two] = [fresh(), fresh()];
    const single = await alone(SCRIPT, { args: [...ARGS, ...MORE, ...FIRST, '--batch', '4', '--checkpoint', one] });
    expect(single.code, show(single)).toBe(0);
    const ddp = await mpirun(SCRIPT, {
      args: [...ARGS, ...MORE, ...FIRST, '--batch', '2', '--distributed', '--checkpoint', two],
      timeoutMs: 180_000,
    });
    expect(ddp.code, show(ddp)).toBe(0);
    const [a, b] = [logOf(single), logOf(ddp)];
    expect(a.loss.length).toBe(20);
    expectClose(b.loss, a.loss, 1e-5, 'loss');
    expectClose(b.norm, a.norm, 1e-5, 'grad norm');
    expectClose(b.val, a.val, 1e-5, 'val loss');
    expect(b.sample).toBe(a.sample);
    expect((ddp.ranks[1]?.stdout ?? []).filter((l) => l.startsWith('step'))).toEqual([]); // rank 0 logs
    const [wa, wb] = [weights(one), weights(two)];
    for (const k of Object.keys(wa)) expectClose(Array.from(wb[k]), Array.from(wa[k]), 1e-5, k);

    const resume = ['--steps', '5', '--samples', '0'];
    const [single2, ddp2] = [
      await alone(SCRIPT, { args: [...ARGS, ...MORE, ...resume, '--batch', '4', '--resume', one] }),
      await mpirun(SCRIPT, {
        args: [...ARGS, ...MORE, ...resume, '--batch', '2', '--distributed', '--resume', two],
        timeoutMs: 180_000,
      }),
    ];
    expect(ddp2.code, show(ddp2)).toBe(0);
    const [c, d] = [logOf(single2), logOf(ddp2)];
    expect(c.loss.length).toBe(5);
    expect(c.loss[0]).toBeLessThan(a.loss[0] - 0.05); // resumed: not a fresh start
    expectClose(d.loss, c.loss, 1e-5, 'resumed loss');
  }, 400_000);
});
