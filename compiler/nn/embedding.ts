// nn.Embedding (PyTorch 1.13): weight [numEmbeddings, embeddingDim] ~ N(0, 1) from PyTorch's CPU
// generator (normal_, bit for bit after the same manualSeed), the paddingIdx row zeroed.
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { normal } from '../random.js';
import type { Tensor } from '../tensor.js';
import { embedding, normPaddingIdx } from './functional/embedding.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface EmbeddingModuleOptions {
  paddingIdx?: number;
  /** not supported (renormalising rows in the forward pass writes the weight) */
  maxNorm?: number;
  /** not supported */
  scaleGradByFreq?: boolean;
}

export class Embedding extends Module {
  /** assignable, as in PyTorch (weight tying with a Linear head) */
  weight: Parameter;
  readonly paddingIdx: number | undefined;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingModuleOptions = {},
  ) {
    super();
    checkOptions('Embedding', opts, ['paddingIdx', 'maxNorm', 'scaleGradByFreq']);
    if (opts.maxNorm !== undefined) throw new KilnError('Embedding: maxNorm is not supported by kiln');
    if (opts.scaleGradByFreq) throw new KilnError('Embedding: scaleGradByFreq is not supported by kiln');
    for (const [k, v] of [
      ['num_embeddings', numEmbeddings],
      ['embedding_dim', embeddingDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw new KilnError(`Embedding: ${k} must be a non-negative integer, got ${v}`);
    }
    this.paddingIdx = normPaddingIdx(opts.paddingIdx, numEmbeddings);
    const data = normal(numEmbeddings * embeddingDim, 0, 1);
    if (this.paddingIdx !== undefined)
      data.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    this.weight = this.registerParameter('weight', new Parameter({ shape: [numEmbeddings, embeddingDim], data }));
  }

  forward(input: Tensor): Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }
}
