// examples/char-gpt-model.ts against its PyTorch twin (examples/char_gpt.py --golden): a 4-block character
// GPT built from kiln's own manualSeed init (nanoGPT's N(0, 0.02) and scaled residual projections), trained
// 20 steps on the GPL-3 text with AdamW's two groups, warm-up + cosine schedule and clipGradNorm_ in the
// compiled step, then 20 characters sampled through a compiled inference function. The golden's config is
// small (D16, 2 heads, T8, B2) so that each target runs in seconds; the example's default is larger.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { maxRelErr } from './helpers/golden.js';
import { byTorchKey, expectMatchesTwin, floats, gptGolden, gptModel, gptText, runGpt } from './helpers/example-gpt.js';
import { CharCodec } from '../examples/char-gpt-model.js';
import { withBuiltPackage } from './helpers/package.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const golden = gptGolden();

describe('char GPT example against PyTorch', () => {
  it("builds PyTorch's initial weights from the same seed, bit for bit, tied or not", () => {
    const untied = byTorchKey(gptModel(golden, 'untied').stateDict());
    const tied = byTorchKey(gptModel(golden, 'tied').stateDict());
    expect(Object.keys(untied)).toEqual(Object.keys(golden.init)); // PyTorch's keys in PyTorch's order
    for (const [k, t] of Object.entries(golden.init)) expect(untied[k], k).toEqual(floats(t));
    // tying shares one tensor under both keys (as PyTorch's state_dict); the head's init is the last one drawn
    expect(tied['wte.weight']).toEqual(floats(golden.init['lm_head.weight']));
    expect(tied['lm_head.weight']).toEqual(tied['wte.weight']);
  });

  it('trains on reference as PyTorch does (untied head)', async () => {
    expectMatchesTwin(await runGpt('reference', 'untied'), 'untied');
  }, 120_000);

  it('trains on native as PyTorch does (tied head)', async () => {
    expectMatchesTwin(await runGpt('native', 'tied'), 'tied');
  }, 180_000);

  it('runs from the package `kiln build` makes of examples/programs/char-gpt.ts, as PyTorch does', async () => {
    // the LLVM cache the native test above filled makes this build cheap (the same kernels)
    await withBuiltPackage('examples/programs/char-gpt.ts', 'native', async (program) => {
      const text = gptText();
      const data = new CharCodec(text).encode(text);
      const want = golden.variants.tied,
        T = golden.config.block_size,
        B = golden.train.batch_size;
      const losses: number[] = [];
      for (const [k, ix] of want.ix.entries()) {
        const x = new Int32Array(B * T),
          y = new Int32Array(B * T);
        ix.forEach((i, b) => (x.set(data.subarray(i, i + T), b * T), y.set(data.subarray(i + 1, i + 1 + T), b * T)));
        for (const group of program.optimizer.paramGroups) group.lr = want.lrs[k]; // the schedule, on the host
        const [loss] = await program.trainStep.run(x, y);
        losses.push(loss.item());
      }
      expect(maxRelErr(losses, want.losses)).toBeLessThan(1e-5);
    });
  }, 180_000);

  it('npm run example:gpt trains, validates, samples and writes a checkpoint (a tiny config on reference)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-gpt-cli-'));
    try {
      const args = [
        '--steps',
        '3',
        '--dim',
        '16',
        '--heads',
        '2',
        '--blocks',
        '1',
        '--block-size',
        '8',
        '--batch',
        '2',
      ];
      const out = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=kiln-source',
          'examples/char-gpt.ts',
          ...args,
          '--samples',
          '12',
          '--target',
          'reference',
          '--checkpoint',
          path.join(dir, 'ckpt'),
        ],
        { cwd: root, encoding: 'utf8' },
      );
      expect(out).toMatch(/step 2: loss \d\.\d{4}, grad norm \d+\.\d{3}, lr .*, val loss \d\.\d{4}/);
      expect(out).toMatch(/--- sample \(prompt ".{8}"\) ---\n[^]{12}\n---/);
      expect(existsSync(path.join(dir, 'ckpt', 'model.safetensors'))).toBe(true);
      expect(existsSync(path.join(dir, 'ckpt', 'optimizer.safetensors'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
