"""The PyTorch twin of examples/char-gpt.ts (model in examples/char-gpt-model.ts): the same nanoGPT-style
character GPT, data, AdamW groups, warm-up + cosine schedule, gradient clipping and sampling, written
so that kiln's manualSeed(seed) and torch.manual_seed(seed) build the same initial weights (modules
are constructed in the same order with PyTorch's default initialisations).

  python3 examples/char_gpt.py [--steps N] [--dim D] [--heads H] [--blocks L] [--block-size T] [--batch B]
  python3 examples/char_gpt.py --golden test/fixtures/examples/char-gpt.json   # the test fixture

PyTorch 1.13 (Debian's python3-torch). --golden writes the initial and final weights (float32,
base64), per-step losses, gradient norms, learning rates and batch offsets for a tied and an untied
head, and 20 sampled characters, with dropout 0 so that every target can reproduce them.
"""
import argparse, base64, json, math, os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg['n_head']
        self.c_attn = nn.Linear(cfg['n_embd'], 3 * cfg['n_embd'])
        self.c_proj = nn.Linear(cfg['n_embd'], cfg['n_embd'])
        self.attn_dropout = nn.Dropout(cfg['dropout'])
        self.resid_dropout = nn.Dropout(cfg['dropout'])
        T = cfg['block_size']
        self.register_buffer('mask', torch.ones(T, T).tril(), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = [t.view(B, T, H, C // H).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        att = att.masked_fill(self.mask[:T, :T] == 0, float('-inf')).softmax(-1)
        y = (self.attn_dropout(att) @ v).transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Mlp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg['n_embd'], 4 * cfg['n_embd'])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * cfg['n_embd'], cfg['n_embd'])
        self.dropout = nn.Dropout(cfg['dropout'])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg['n_embd'])
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg['n_embd'])
        self.mlp = Mlp(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg['vocab_size'], cfg['n_embd'])
        self.wpe = nn.Embedding(cfg['block_size'], cfg['n_embd'])
        self.drop = nn.Dropout(cfg['dropout'])
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg['n_layer'])])
        self.ln_f = nn.LayerNorm(cfg['n_embd'])
        self.lm_head = nn.Linear(cfg['n_embd'], cfg['vocab_size'], bias=False)
        if cfg['tied']:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg['n_layer']))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T)))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def make_optimizer(model, t):
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{'params': decay, 'weight_decay': t['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}]
    return torch.optim.AdamW(groups, lr=t['lr'], betas=tuple(t['betas']))


def make_scheduler(opt, t):
    S = torch.optim.lr_scheduler
    warmup = S.LinearLR(opt, start_factor=1 / t['warmup_iters'], total_iters=t['warmup_iters'])
    cosine = S.CosineAnnealingLR(opt, t['max_iters'] - t['warmup_iters'], eta_min=t['min_lr'])
    return S.SequentialLR(opt, [warmup, cosine], [t['warmup_iters']])


def get_batch(data, T, B, g):
    ix = torch.randint(len(data) - T, (B,), generator=g)
    x = torch.stack([data[i:i + T] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + T] for i in ix])
    return x, y, ix.tolist()


def sample_token(logits, temperature, g):
    scaled = [l / temperature for l in logits]
    m = max(scaled)
    e = [math.exp(l - m) for l in scaled]
    s = sum(e)
    u = torch.rand((), generator=g).item()
    cdf = 0.0
    for i, v in enumerate(e):
        cdf += v / s
        if u < cdf:
            return i
    return len(e) - 1


def load_text():
    with open(os.path.join(HERE, 'data', 'gpl-3.txt'), encoding='utf-8') as f:
        text = f.read()
    chars = sorted(set(text))
    return text, chars, {c: i for i, c in enumerate(chars)}


def train(cfg, t, data, steps, seed, data_seed, log=None):
    torch.manual_seed(seed)
    model = Gpt(cfg)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = make_optimizer(model, t)
    sched = make_scheduler(opt, t)
    g = torch.Generator().manual_seed(data_seed)
    crit = nn.CrossEntropyLoss()
    hist = {'loss': [], 'norm': [], 'lr': [], 'ix': []}
    model.train()
    for step in range(steps):
        x, y, ix = get_batch(data, cfg['block_size'], t['batch_size'], g)
        hist['lr'].append(opt.param_groups[0]['lr'])
        logits = model(x)
        loss = crit(logits.view(-1, cfg['vocab_size']), y.view(-1))
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t['grad_clip'])
        opt.step()
        sched.step()
        hist['loss'].append(loss.item())
        hist['norm'].append(norm.item())
        hist['ix'].append(ix)
        if log and (step % log == 0 or step == steps - 1):
            print(f'step {step}: loss {loss.item():.4f}, grad norm {norm.item():.3f}, lr {hist["lr"][-1]:.2e}')
    return model, init, hist


def sample(model, cfg, prompt_ids, n, temperature, sample_seed):
    model.eval()
    g = torch.Generator().manual_seed(sample_seed)
    ctx = list(prompt_ids[-cfg['block_size']:])
    out = []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ctx], dtype=torch.long))[0, -1].tolist()
            tok = sample_token(logits, temperature, g)
            out.append(tok)
            ctx = ctx[1:] + [tok]
    return out


def b64(t):
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().tobytes()).decode()


def tensors(sd):
    return {k: {'shape': list(v.shape), 'b64': b64(v)} for k, v in sd.items()}


def golden(path):
    text, chars, stoi = load_text()
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    base = {'vocab_size': len(chars), 'block_size': 8, 'n_embd': 16, 'n_head': 2, 'n_layer': 4, 'dropout': 0.0}
    t = {'lr': 1e-2, 'min_lr': 1e-3, 'warmup_iters': 5, 'max_iters': 20, 'weight_decay': 0.1,
         'betas': [0.9, 0.95], 'grad_clip': 1.0, 'batch_size': 2}
    seed, data_seed, sample_seed, steps = 1337, 7, 11, 20
    out = {'torch': torch.__version__, 'seed': seed, 'dataSeed': data_seed, 'sampleSeed': sample_seed,
           'steps': steps, 'config': base, 'train': t, 'variants': {}}
    for tied in (True, False):
        cfg = dict(base, tied=tied)
        model, init, hist = train(cfg, t, data, steps, seed, data_seed)
        prompt = [stoi[c] for c in text[:cfg['block_size']]]
        ids = sample(model, cfg, prompt, 20, 1.0, sample_seed)
        v = {'losses': hist['loss'], 'norms': hist['norm'], 'lrs': hist['lr'], 'ix': hist['ix'],
             'final': tensors(model.state_dict()), 'sample': ''.join(chars[i] for i in ids)}
        if not tied:
            out['init'] = tensors(init)
        out['variants']['tied' if tied else 'untied'] = v
    with open(path, 'w') as f:
        json.dump(out, f)
    print(f'wrote {path}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--golden')
    ap.add_argument('--steps', type=int, default=600)
    ap.add_argument('--dim', type=int, default=64)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--blocks', type=int, default=4)
    ap.add_argument('--block-size', type=int, default=32)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--untied', action='store_true')
    args = ap.parse_args()
    if args.golden:
        return golden(args.golden)
    text, chars, stoi = load_text()
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    cfg = {'vocab_size': len(chars), 'block_size': args.block_size, 'n_embd': args.dim, 'n_head': args.heads,
           'n_layer': args.blocks, 'dropout': 0.0, 'tied': not args.untied}
    t = {'lr': 3e-3, 'min_lr': 3e-4, 'warmup_iters': max(1, args.steps // 20), 'max_iters': args.steps,
         'weight_decay': 0.1, 'betas': [0.9, 0.95], 'grad_clip': 1.0, 'batch_size': args.batch}
    model, _, _ = train(cfg, t, data, args.steps, 1337, 7, log=max(1, args.steps // 10))
    prompt = [stoi[c] for c in text[:cfg['block_size']]]
    print(''.join(chars[i] for i in sample(model, cfg, prompt, 200, 0.8, 11)))


if __name__ == '__main__':
    sys.exit(main())
