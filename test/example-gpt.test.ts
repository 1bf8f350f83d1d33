// examples/char-gpt-model.ts against its PyTorch twin (examples/char_gpt.py --golden): a 4-block character
// GPT built from kiln's own manualSeed init (nanoGPT's N(0, 0.02) and scaled residual projections), trained
// 20 steps on the GPL-3 text with AdamW's two groups, warm-up + cosine schedule and clipGradNorm_ in the
// compiled step, then 20 characters sampled through a compiled inference function. The golden's config is
// small (D16, 2 heads, T8, B2) so that each target runs in seconds; the example's default is larger.
import { describe, expect, it } from 'vitest';
import { byTorchKey, expectMatchesTwin, floats, gptGolden, gptModel, runGpt } from './helpers/example-gpt.js';

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
});
