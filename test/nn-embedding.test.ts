// nn.Embedding / F.embedding against PyTorch 1.13 (test/fixtures/layers/embedding.py) on every target,
// its initialisation (bit for bit after manualSeed, fixtures/random/embedding-init.json) and errors.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compile, manualSeed, nn, tensor } from 'kiln';
import { describeLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

const F = nn.functional;
const SPECS: Record<string, LayerCaseSpec> = {
  'embedding padding_idx 2-d index': { module: () => new nn.Embedding(10, 4, { paddingIdx: 2 }) },
  'embedding repeated': { module: () => new nn.Embedding(5, 3) },
  'f.embedding padding_idx negative': { fn: (i, w) => F.embedding(i, w, { paddingIdx: -1 }) },
};

describeLayerGoldens('embedding on %s', 'embedding', SPECS);

const init = JSON.parse(readFileSync(new URL('./fixtures/random/embedding-init.json', import.meta.url), 'utf8'));
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('Embedding init and errors', () => {
  it("equals torch.nn.Embedding's weight after manualSeed (padding row zeroed)", () => {
    manualSeed(3);
    expect(bits(new nn.Embedding(7, 5, { paddingIdx: 4 }).weight.data)).toEqual(init.pad);
    expect(bits(new nn.Embedding(3, 2).weight.data)).toEqual(init.small);
  });
  it('rejects maxNorm, scaleGradByFreq and a bad paddingIdx', () => {
    expect(() => new nn.Embedding(3, 2, { maxNorm: 1 })).toThrow('maxNorm is not supported');
    expect(() => new nn.Embedding(3, 2, { scaleGradByFreq: true })).toThrow('scaleGradByFreq is not supported');
    expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow('Padding_idx must be within num_embeddings');
  });
  it('index out of range: eagerly and for a compiled input', async () => {
    const e = new nn.Embedding(4, 2);
    expect(() => e.forward(tensor([1, 4], { dtype: 'int32' }))).toThrow('index out of range in self');
    const f = await compile((i) => e.forward(i), { inputs: [{ shape: [2], dtype: 'int32' }] });
    await expect(f.run(tensor([0, 5], { dtype: 'int32' }))).rejects.toThrow('index out of range in self');
  });
});
