// A character-level GPT in kiln, written the way nanoGPT writes it (model.py, "slow" attention): token
// and positional embeddings, pre-norm blocks of causal multi-head self-attention and a GELU MLP with
// residuals, a final LayerNorm and a head tied to the token embedding (or not). Shared by the CLI
// (examples/char-gpt.ts), the kiln build program (examples/programs/char-gpt.ts) and the tests;
// examples/char_gpt.py is its PyTorch twin, line for line, so that both start from the same weights.
import { arange, Generator, nn, ones, optim, randint, type Tensor } from 'kiln';

export interface GptConfig {
  vocabSize: number;
  /** the context length T */
  blockSize: number;
  nEmbd: number;
  nHead: number;
  nLayer: number;
  dropout: number;
  /** the head shares the token embedding's weight (nanoGPT's weight tying) */
  tied: boolean;
}

class CausalSelfAttention extends nn.Module {
  cAttn: nn.Linear;
  cProj: nn.Linear;
  attnDropout: nn.Dropout;
  residDropout: nn.Dropout;
  declare mask: Tensor;
  constructor(private readonly cfg: GptConfig) {
    super();
    if (cfg.nEmbd % cfg.nHead !== 0) throw new Error(`nEmbd ${cfg.nEmbd} is not a multiple of nHead ${cfg.nHead}`);
    this.cAttn = new nn.Linear(cfg.nEmbd, 3 * cfg.nEmbd);
    this.cProj = new nn.Linear(cfg.nEmbd, cfg.nEmbd);
    this.attnDropout = new nn.Dropout(cfg.dropout);
    this.residDropout = new nn.Dropout(cfg.dropout);
    // 1 where a query may attend to a key (itself and earlier positions); not part of the checkpoint
    this.registerBuffer('mask', ones([cfg.blockSize, cfg.blockSize]).tril(), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape;
    const H = this.cfg.nHead,
      hs = C / H;
    const heads = (t: Tensor) => t.view([B, T, H, hs]).transpose(1, 2); // [B, H, T, hs]
    const [q, k, v] = this.cAttn.forward(x).split(C, 2).map(heads);
    let att = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(hs));
    att = att.maskedFill(this.mask.slice(0, 0, T).slice(1, 0, T).eq(0), -Infinity).softmax(-1);
    const y = this.attnDropout.forward(att).matmul(v).transpose(1, 2).reshape([B, T, C]);
    return this.residDropout.forward(this.cProj.forward(y));
  }
}

class Mlp extends nn.Module {
  cFc: nn.Linear;
  gelu = new nn.GELU();
  cProj: nn.Linear;
  dropout: nn.Dropout;
  constructor(cfg: GptConfig) {
    super();
    this.cFc = new nn.Linear(cfg.nEmbd, 4 * cfg.nEmbd);
    this.cProj = new nn.Linear(4 * cfg.nEmbd, cfg.nEmbd);
    this.dropout = new nn.Dropout(cfg.dropout);
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.cProj.forward(this.gelu.forward(this.cFc.forward(x))));
  }
}

class Block extends nn.Module {
  ln1: nn.LayerNorm;
  attn: CausalSelfAttention;
  ln2: nn.LayerNorm;
  mlp: Mlp;
  constructor(cfg: GptConfig) {
    super();
    this.ln1 = new nn.LayerNorm(cfg.nEmbd);
    this.attn = new CausalSelfAttention(cfg);
    this.ln2 = new nn.LayerNorm(cfg.nEmbd);
    this.mlp = new Mlp(cfg);
  }
  forward(x: Tensor): Tensor {
    x = x.add(this.attn.forward(this.ln1.forward(x)));
    return x.add(this.mlp.forward(this.ln2.forward(x)));
  }
}

export class Gpt extends nn.Module {
  wte: nn.Embedding;
  wpe: nn.Embedding;
  drop: nn.Dropout;
  h: nn.ModuleList;
  lnF: nn.LayerNorm;
  lmHead: nn.Linear;
  constructor(readonly cfg: GptConfig) {
    super();
    this.wte = new nn.Embedding(cfg.vocabSize, cfg.nEmbd);
    this.wpe = new nn.Embedding(cfg.blockSize, cfg.nEmbd);
    this.drop = new nn.Dropout(cfg.dropout);
    this.h = new nn.ModuleList(Array.from({ length: cfg.nLayer }, () => new Block(cfg)));
    this.lnF = new nn.LayerNorm(cfg.nEmbd);
    this.lmHead = new nn.Linear(cfg.nEmbd, cfg.vocabSize, { bias: false });
    // the head is built (and draws its initial weight) either way, as in PyTorch, so that both
    // variants consume the generator alike; tying then makes it read the embedding's weight
    if (cfg.tied) this.lmHead.weight = this.wte.weight;
    // nanoGPT's initialisation: N(0, 0.02) weights, zero biases, and the residual projections scaled
    // down by sqrt(2 * nLayer) (GPT-2), so that the logits start small and the first loss is ~ln(vocabSize)
    this.apply((m) => {
      if (m instanceof nn.Linear) {
        nn.init.normal_(m.weight, 0, 0.02);
        if (m.bias) nn.init.zeros_(m.bias);
      } else if (m instanceof nn.Embedding) nn.init.normal_(m.weight, 0, 0.02);
    });
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('cProj.weight')) nn.init.normal_(p, 0, 0.02 / Math.sqrt(2 * cfg.nLayer));
    }
  }
  /** idx [B, T] int32 token ids -> logits [B, T, vocabSize] */
  forward(idx: Tensor): Tensor {
    const T = idx.shape[1];
    if (T > this.cfg.blockSize) throw new Error(`sequence length ${T} exceeds the block size ${this.cfg.blockSize}`);
    let x = this.drop.forward(this.wte.forward(idx).add(this.wpe.forward(arange(T))));
    for (const block of this.h) x = (block as Block).forward(x);
    return this.lmHead.forward(this.lnF.forward(x));
  }
}

export interface TrainConfig {
  lr: number;
  minLr: number;
  warmupIters: number;
  maxIters: number;
  weightDecay: number;
  betas: [number, number];
  gradClip: number;
}

/**
 * nanoGPT's configure_optimizers: AdamW with weight decay on the matrices (embeddings and Linear
 * weights: every parameter of two or more dimensions) and none on biases and LayerNorm parameters
 */
export function makeOptimizer(model: Gpt, t: TrainConfig): optim.AdamW {
  const params = model.parameters();
  const decay = params.filter((p) => p.shape.length >= 2),
    noDecay = params.filter((p) => p.shape.length < 2);
  return new optim.AdamW(
    [
      { params: decay, weightDecay: t.weightDecay },
      { params: noDecay, weightDecay: 0 },
    ],
    { lr: t.lr, betas: t.betas },
  );
}

/** linear warm-up from lr / warmupIters to lr, then cosine decay to minLr at maxIters; step() once per iteration */
export function makeScheduler(optimizer: optim.AdamW, t: TrainConfig): optim.lrScheduler.SequentialLR {
  const S = optim.lrScheduler;
  const warmup = new S.LinearLR(optimizer, { startFactor: 1 / t.warmupIters, totalIters: t.warmupIters });
  const cosine = new S.CosineAnnealingLR(optimizer, t.maxIters - t.warmupIters, { etaMin: t.minLr });
  return new S.SequentialLR(optimizer, [warmup, cosine], [t.warmupIters]);
}

/** the traced training step: loss, backward, global-norm clipping, AdamW; returns [loss, total grad norm] */
/** `net` runs the forward: the model itself, or the model wrapped in nn.parallel.DistributedDataParallel */
export function trainStepFn(
  model: Gpt,
  optimizer: optim.AdamW,
  t: TrainConfig,
  criterion = new nn.CrossEntropyLoss(),
  net: { forward(x: Tensor): Tensor } = model,
) {
  return (x: Tensor, y: Tensor): [Tensor, Tensor] => {
    const logits = net.forward(x);
    const [B, T, V] = logits.shape;
    const loss = criterion.forward(logits.view([B * T, V]), y.view([B * T]));
    optimizer.zeroGrad();
    loss.backward();
    const norm = nn.utils.clipGradNorm_(model.parameters(), t.gradClip);
    optimizer.step();
    return [loss, norm];
  };
}

/** the characters of a text, sorted by code point, as the vocabulary (nanoGPT's shakespeare_char prepare.py) */
export class CharCodec {
  readonly chars: string[];
  private readonly index: Map<string, number>;
  constructor(text: string) {
    this.chars = [...new Set(text)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.index = new Map(this.chars.map((c, i) => [c, i]));
  }
  get size(): number {
    return this.chars.length;
  }
  encode(s: string): Int32Array {
    return Int32Array.from([...s], (c) => {
      const i = this.index.get(c);
      if (i === undefined) throw new Error(`character ${JSON.stringify(c)} is not in the vocabulary`);
      return i;
    });
  }
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => this.chars[i]).join('');
  }
}

/** nanoGPT's get_batch: B random windows of T tokens (torch.randint offsets) and the same windows shifted by one */
export function getBatch(data: Int32Array, T: number, B: number, g: Generator): [Int32Array, Int32Array, number[]] {
  const ix = randint(0, data.length - T, [B], { generator: g }).tolist() as number[];
  const x = new Int32Array(B * T),
    y = new Int32Array(B * T);
  ix.forEach((i, b) => {
    x.set(data.subarray(i, i + T), b * T);
    y.set(data.subarray(i + 1, i + 1 + T), b * T);
  });
  return [x, y, ix];
}

/**
 * draws one token from softmax(logits / temperature) by inverting its CDF at one uniform draw (torch.rand
 * with the same generator in the twin), in double precision on the host as the twin does it in Python
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, g: Generator): number {
  const scaled = Array.from(logits, (l) => l / temperature);
  const max = Math.max(...scaled);
  const e = scaled.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  const u = g.uniformFloat(0, 1);
  let cdf = 0;
  for (let i = 0; i < e.length; i++) {
    cdf += e[i] / sum;
    if (u < cdf) return i;
  }
  return e.length - 1;
}
