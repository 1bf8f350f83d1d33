// nn.TransformerEncoderLayer and nn.TransformerEncoder against PyTorch 1.13 (test/fixtures/layers/
// transformer.py) on every target: PyTorch's state dicts load as they are (keys and order), post- and
// pre-norm, relu and gelu, batchFirst, isCausal against PyTorch's explicit causal mask, a bool src mask
// with a key padding mask, and a 2-layer encoder with a final LayerNorm. Dropout 0 or eval mode.
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, rand, zeros, type Tensor } from 'kiln';
import { describeLayerGoldens, loadLayerGoldens, type LayerCaseSpec } from './helpers/layer-golden.js';

// the runner types modules as nn.Module; these forwards take an options object (PyTorch's keywords)
type Layer = nn.TransformerEncoderLayer;
type Encoder = nn.TransformerEncoder;
const asModule = (m: Layer | Encoder) => m as unknown as nn.Module;
const layer = (m: nn.Module) => m as unknown as Layer;
const encoder = (m: nn.Module) => m as unknown as Encoder;
const SPECS: Record<string, LayerCaseSpec> = {
  'post-norm relu': {
    module: () => asModule(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 })),
    call: (m, x) => layer(m).forward(x),
  },
  'batch first norm first gelu eval': {
    module: () => {
      const opts = { dimFeedforward: 12, dropout: 0.3, activation: 'gelu', layerNormEps: 1e-3 } as const;
      return asModule(new nn.TransformerEncoderLayer(8, 4, { ...opts, batchFirst: true, normFirst: true }).eval());
    },
    call: (m, x) => layer(m).forward(x),
  },
  causal: {
    module: () => asModule(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true })),
    call: (m, x) => layer(m).forward(x, { isCausal: true }),
  },
  'src mask key padding norm first': {
    module: () => asModule(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, normFirst: true })),
    call: (m, x, mask, pad) => layer(m).forward(x, { srcMask: mask.ne(0), srcKeyPaddingMask: pad.ne(0) }),
  },
  'default init seed 7': {
    module: () => asModule(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 })),
    call: (m, x) => layer(m).forward(x),
  },
};
const ENCODER_SPECS: Record<string, LayerCaseSpec> = {
  'encoder 2 layers norm key padding': {
    module: () => {
      const l = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu' });
      return asModule(new nn.TransformerEncoder(l, 2, { norm: new nn.LayerNorm(8) }));
    },
    call: (m, x, pad) => encoder(m).forward(x, { srcKeyPaddingMask: pad.ne(0) }),
  },
  'encoder causal batch first': {
    module: () => {
      const l = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true });
      return asModule(new nn.TransformerEncoder(l, 2));
    },
    call: (m, x) => encoder(m).forward(x, { isCausal: true }),
  },
};

describeLayerGoldens('transformer layers on %s', 'transformer', SPECS);
describeLayerGoldens('transformer encoders on %s', 'transformer-encoder', ENCODER_SPECS);

describe('TransformerEncoderLayer structure', () => {
  it("has PyTorch's modules, state dict keys and defaults", () => {
    const m = new nn.TransformerEncoderLayer(8, 2);
    expect(Object.keys(m.stateDict())).toEqual([
      'self_attn.in_proj_weight',
      'self_attn.in_proj_bias',
      'self_attn.out_proj.weight',
      'self_attn.out_proj.bias',
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
      'norm1.weight',
      'norm1.bias',
      'norm2.weight',
      'norm2.bias',
    ]);
    expect([...m.namedChildren()].map(([k]) => k)).toEqual([
      'self_attn',
      'linear1',
      'dropout',
      'linear2',
      'norm1',
      'norm2',
      'dropout1',
      'dropout2',
    ]);
    expect(m.linear1.weight.shape).toEqual([2048, 8]); // dimFeedforward 2048
    expect([m.dropout.p, m.dropout1.p, m.norm1.eps, m.normFirst, m.self_attn.batchFirst]).toEqual([
      0.1,
      0.1,
      1e-5,
      false,
      false,
    ]);
  });

  it("initialises as PyTorch's for the same seed, bit for bit", () => {
    const want = loadLayerGoldens('transformer').find((c) => c.name === 'default init seed 7')!.state;
    manualSeed(7);
    const sd = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }).stateDict();
    expect(Object.keys(sd)).toEqual(Object.keys(want));
    for (const [k, v] of Object.entries(want)) expect(Array.from(sd[k].data), k).toEqual(v.data);
  });

  it("rejects bad options and inputs with PyTorch's words", () => {
    expect(() => new nn.TransformerEncoderLayer(8, 2, { activation: 'tanh' as never })).toThrow(
      'activation should be relu/gelu, not tanh',
    );
    expect(() => new nn.TransformerEncoderLayer(8, 3)).toThrow('embed_dim must be divisible by num_heads');
    expect(() => new nn.TransformerEncoderLayer(8, 2, { norm_first: true } as never)).toThrow(/normFirst/);
    const m = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 4 });
    expect(() => m.forward(zeros([3, 2, 6]))).toThrow(/embedding dimension of 8, but got \[3, 2, 6\]/);
    expect(() => m.forward(zeros([3, 2, 8]), { mask: null } as never)).toThrow(/srcMask/);
  });
});

describe('TransformerEncoder', () => {
  it('copies the layer numLayers times: equal values, separate parameters, the seeded generator untouched', () => {
    manualSeed(3);
    const l = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 4 });
    const afterLayer = rand([4]).data;
    manualSeed(3);
    const l2 = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 4 });
    const enc = new nn.TransformerEncoder(l2, 3, { norm: new nn.LayerNorm(8) });
    // the copies drew from a throwaway generator: the next draw is what it is without them
    expect(rand([4]).data).toEqual(afterLayer);
    const sd = enc.stateDict();
    expect(Object.keys(sd).length).toBe(3 * 12 + 2);
    for (const [k, v] of Object.entries(l.stateDict())) {
      for (const i of [0, 1, 2]) expect(sd[`layers.${i}.${k}`].data).toEqual(v.data);
    }
    const [p0, p1] = [0, 1].map((i) => (enc.layers.at(i) as unknown as Layer).linear1.weight);
    expect(p0).not.toBe(p1);
    expect(enc.parameters().length).toBe(38);
  });

  it('eval() reaches every copy', () => {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 4 }), 2).eval();
    const x: Tensor = zeros([3, 2, 8]);
    expect(enc.layers.children().every((c) => !c.training && !(c as unknown as Layer).dropout.training)).toBe(true);
    expect(enc.forward(x).shape).toEqual([3, 2, 8]);
  });
});
