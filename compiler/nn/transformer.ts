// nn.TransformerEncoderLayer and nn.TransformerEncoder with PyTorch 1.13's structure, so that a
// PyTorch state dict loads: self_attn (MultiheadAttention), linear1, dropout, linear2, norm1, norm2,
// dropout1, dropout2, registered in PyTorch's order; forward as 1.13's (post-norm, or pre-norm
// with normFirst), plus PyTorch 2's isCausal, passed to MultiheadAttention as its isCausal.
import { KilnError, fmtShape } from '../errors.js';
import { checkOptions } from '../options.js';
import { forkRng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { MultiheadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { ModuleList } from './containers.js';
import { gelu, Linear } from './layers.js';
import { Module } from './module.js';
import { LayerNorm } from './normalization.js';

export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);
export interface TransformerEncoderLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: TransformerActivation;
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
}
export interface TransformerEncoderLayerCall {
  /** MultiheadAttention's attnMask: [S, S] (or [N * nhead, S, S]); bool true = not attended, or float added */
  srcMask?: Tensor | null;
  /** [N, S] bool: true marks a padding position no query attends to */
  srcKeyPaddingMask?: Tensor | null;
  /** the causal mask (PyTorch 2's is_causal): used when srcMask is not given */
  isCausal?: boolean;
}

const LAYER_OPTIONS = ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst'];

function activationFn(a: TransformerActivation): (x: Tensor) => Tensor {
  if (typeof a === 'function') return a;
  if (a === 'relu') return (x) => x.relu();
  if (a === 'gelu') return (x) => gelu(x);
  throw new KilnError(`activation should be relu/gelu, not ${String(a)}`);
}

export class TransformerEncoderLayer extends Module {
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;
  readonly self_attn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    private readonly options: TransformerEncoderLayerOptions = {},
  ) {
    super();
    checkOptions('TransformerEncoderLayer', options, LAYER_OPTIONS);
    const dff = options.dimFeedforward ?? 2048,
      p = options.dropout ?? 0.1,
      eps = options.layerNormEps ?? 1e-5;
    this.activation = activationFn(options.activation ?? 'relu');
    this.normFirst = options.normFirst ?? false;
    // PyTorch's construction order, which is also its parameter (state dict) order
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst ?? false });
    this.linear1 = new Linear(dModel, dff);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dff, dModel);
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
  }

  // PyTorch's forward takes keyword options (MultiheadAttention's does the same)
  forward(src: Tensor, opts: TransformerEncoderLayerCall = {}): Tensor {
    checkOptions('TransformerEncoderLayer.forward', opts, ['srcMask', 'srcKeyPaddingMask', 'isCausal']);
    if (src.ndim !== 3 || src.shape[2] !== this.dModel) {
      throw new KilnError(
        `TransformerEncoderLayer: was expecting a 3-D input with embedding dimension of ${this.dModel}, ` +
          `but got ${fmtShape(src.shape)}`,
      );
    }
    const sa = (x: Tensor) => {
      const [y] = this.self_attn.forward(x, x, x, {
        attnMask: opts.srcMask ?? null,
        keyPaddingMask: opts.srcKeyPaddingMask ?? null,
        isCausal: opts.isCausal ?? false,
        needWeights: false,
      });
      return this.dropout1.forward(y);
    };
    const ff = (x: Tensor) =>
      this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    if (this.normFirst) {
      const x = src.add(sa(this.norm1.forward(src)));
      return x.add(ff(this.norm2.forward(x)));
    }
    const x = this.norm1.forward(src.add(sa(src)));
    return this.norm2.forward(x.add(ff(x)));
  }

  /**
   * A copy with the same options and parameter values (what PyTorch's copy.deepcopy gives
   * TransformerEncoder); the copy's own initialisation draws from a throwaway generator, so the
   * seeded one advances no more than PyTorch's does. A subclass is copied as this class.
   */
  clone(): TransformerEncoderLayer {
    const copy = forkRng(() => new TransformerEncoderLayer(this.dModel, this.nhead, this.options));
    const mine = new Map(this.namedParameters());
    for (const [k, p] of copy.namedParameters()) p.data = mine.get(k)!.data;
    return copy.train(this.training);
  }
}

export interface TransformerEncoderCall {
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/** PyTorch's nn.TransformerEncoder: numLayers copies of the layer (layers.0, layers.1, ...), then norm */
export class TransformerEncoder extends Module {
  readonly layers: ModuleList;
  readonly norm: Module | null;

  constructor(
    encoderLayer: TransformerEncoderLayer,
    readonly numLayers: number,
    opts: { norm?: Module | null } = {},
  ) {
    super();
    checkOptions('TransformerEncoder', opts, ['norm']);
    if (!(encoderLayer instanceof TransformerEncoderLayer)) {
      throw new KilnError('TransformerEncoder: encoder_layer must be a TransformerEncoderLayer (kiln copies it)');
    }
    if (!Number.isInteger(numLayers) || numLayers < 0) {
      throw new KilnError(`TransformerEncoder: num_layers must be a non-negative integer, got ${numLayers}`);
    }
    // PyTorch deep-copies the layer numLayers times: every copy starts from the same values
    const copies = Array.from({ length: numLayers }, () => encoderLayer.clone());
    this.layers = new ModuleList(copies);
    this.norm = opts.norm ?? null;
  }

  forward(src: Tensor, opts: TransformerEncoderCall = {}): Tensor {
    checkOptions('TransformerEncoder.forward', opts, ['mask', 'srcKeyPaddingMask', 'isCausal']);
    let out = src;
    for (const layer of this.layers.children() as TransformerEncoderLayer[]) {
      out = layer.forward(out, {
        srcMask: opts.mask,
        srcKeyPaddingMask: opts.srcKeyPaddingMask,
        isCausal: opts.isCausal,
      });
    }
    return this.norm ? this.norm.forward(out) : out;
  }
}
