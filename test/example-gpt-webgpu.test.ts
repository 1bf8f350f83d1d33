// The char GPT example (test/example-gpt.test.ts) on WebGPU (Dawn on llvmpipe in Node), in its own
// process: 20 steps of the tied-head golden against PyTorch, and the sampled characters.
import { describe, it } from 'vitest';
import { expectMatchesTwin, runGpt } from './helpers/example-gpt.js';

describe('char GPT example on webgpu', () => {
  it('trains as PyTorch does (tied head) and samples the same text', async () => {
    expectMatchesTwin(await runGpt('webgpu', 'tied'), 'tied');
  }, 240_000);
});
