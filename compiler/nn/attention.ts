// nn.MultiheadAttention with PyTorch 1.13's parameters (in_proj_weight [3E, E], in_proj_bias,
// out_proj a Linear) and forward: per-head softmax(q k^T / sqrt(E/H) + mask) v, out_proj.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { uniform } from '../random.js';
import { arange, where, type Tensor } from '../tensor.js';
import { attendWithWeights } from './functional/attention.js';
import { Linear } from './layers.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  batchFirst?: boolean;
  kdim?: number;
  vdim?: number;
  addBiasKv?: boolean;
}
export interface MultiheadAttentionCall {
  /** MultiheadAttention's sense, not SDPA's: a true entry is NOT attended; a float mask is added */
  attnMask?: Tensor | null;
  /** [N, S] bool: true marks a padding key no query attends to */
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  isCausal?: boolean;
  averageAttnWeights?: boolean;
}

/** a bool "true = masked" mask as the float mask PyTorch 1.13 turns it into (-inf where true) */
const asAdditive = (m: Tensor) => (m.dtype === 'bool' ? where(m, -Infinity, 0) : m);

export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly in_proj_weight: Parameter;
  readonly in_proj_bias: Parameter | null;
  readonly out_proj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    checkOptions('MultiheadAttention', opts, ['dropout', 'bias', 'batchFirst', 'kdim', 'vdim', 'addBiasKv']);
    if ((opts.kdim ?? embedDim) !== embedDim || (opts.vdim ?? embedDim) !== embedDim || opts.addBiasKv) {
      throw new KilnError('MultiheadAttention: kdim/vdim other than embedDim and addBiasKv are not supported');
    }
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim) throw new KilnError('embed_dim must be divisible by num_heads');
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const bias = opts.bias ?? true;
    // PyTorch builds out_proj (drawing its Linear init) before _reset_parameters draws in_proj_weight's
    // xavier init: the same order of draws gives PyTorch's values for the same seed
    const outProj = new Linear(embedDim, embedDim, { bias });
    // xavier_uniform_ on [3E, E]: U(±sqrt(6 / (E + 3E)))
    const bound = Math.fround(Math.sqrt(6 / (4 * embedDim)));
    const n = 3 * embedDim * embedDim;
    this.in_proj_weight = this.registerParameter(
      'in_proj_weight',
      new Parameter({ shape: [3 * embedDim, embedDim], data: uniform(n, -bound, bound) }),
    );
    this.in_proj_bias = bias
      ? this.registerParameter(
          'in_proj_bias',
          new Parameter({ shape: [3 * embedDim], data: new Array(3 * embedDim).fill(0) }),
        )
      : null;
    this.out_proj = this.registerModule('out_proj', outProj) as Linear;
    if (this.out_proj.bias) this.out_proj.bias.data = new Float32Array(embedDim); // PyTorch: constant_(0)
  }

  // PyTorch's MultiheadAttention takes keyword options and returns the tuple (output, weights | None)
  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionCall = {}): [Tensor, Tensor | null] {
    checkOptions('MultiheadAttention.forward', opts, [
      'attnMask',
      'keyPaddingMask',
      'needWeights',
      'isCausal',
      'averageAttnWeights',
    ]);
    const E = this.embedDim,
      H = this.numHeads,
      hd = this.headDim;
    // work in [N, L, E]
    const [q0, k0, v0] = [query, key, value].map((t) => (this.batchFirst ? t : t.transpose(0, 1)));
    const [N, L] = q0.shape,
      S = k0.shape[1];
    const project = (t: Tensor, i: number) => {
      const w = this.in_proj_weight.slice(0, i * E, (i + 1) * E);
      const y = t.matmul(w.t());
      return (this.in_proj_bias ? y.add(this.in_proj_bias.slice(0, i * E, (i + 1) * E)) : y)
        .reshape([N, -1, H, hd])
        .transpose(1, 2); // [N, H, len, hd]
    };
    const q = project(q0, 0),
      k = project(k0, 1),
      v = project(v0, 2);
    let scores = q.mul(1 / Math.sqrt(hd)).matmul(k.transpose(-2, -1)); // [N, H, L, S]
    if (opts.attnMask) scores = scores.add(asAdditive(opts.attnMask));
    // PyTorch 2's is_causal without a mask: key j is masked for query i where j > i
    else if (opts.isCausal)
      scores = scores.add(
        asAdditive(
          arange(S)
            .reshape([1, S])
            .gt(arange(L).reshape([L, 1])),
        ),
      );
    if (opts.keyPaddingMask) scores = scores.add(asAdditive(opts.keyPaddingMask).reshape([N, 1, 1, S]));
    const [attended, weights] = attendWithWeights(scores, v, this.training ? this.dropout : 0);
    const merged = attended.transpose(1, 2).reshape([N, L, E]);
    const out = this.out_proj.forward(merged);
    const output = this.batchFirst ? out : out.transpose(0, 1);
    if (!(opts.needWeights ?? true)) return [output, null];
    return [output, (opts.averageAttnWeights ?? true) ? weights.mean(1) : weights];
  }
}
