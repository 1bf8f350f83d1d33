#!/usr/bin/env python3
"""PyTorch's side of bench/models.mts: the twins' own model classes (examples/digits_cnn.py,
examples/char_gpt.py), trained step by step the way the twins' loops do it, timed like kiln's side.

Per model and thread count: a fresh model from the twin's seed (the same initial weights as kiln's
manualSeed), the same batches as kiln's side, one first step (its loss is the check), WARMUP more
steps, then STEPS timed steps, each ending with loss.item(); the median. Prints one JSON object.
  /usr/bin/python3 bench/models_peer.py [--steps 10] [--models cnn,gpt,gpt128] [--threads 1,2]
"""
import argparse, ctypes, json, os, statistics, sys, time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'examples'))
import char_gpt  # noqa: E402
import digits_cnn  # noqa: E402

WARMUP = 2
# the char GPT's configurations: examples/char-gpt.ts's defaults, and issue #12's D128 T64 GPT
GPTS = {
    'gpt': {'n_embd': 64, 'n_head': 4, 'n_layer': 4, 'block_size': 32, 'batch': 16},
    'gpt128': {'n_embd': 128, 'n_head': 4, 'n_layer': 4, 'block_size': 64, 'batch': 16},
}


def cnn_case(n):
    images, labels = digits_cnn.load_digits()
    train, _ = digits_cnn.split(len(labels))
    B = digits_cnn.BATCH_SIZE
    rows = [train[(k * B) % (len(train) - B):][:B] for k in range(n)]
    batches = [(images[r], labels[r]) for r in rows]
    torch.manual_seed(0)
    model = digits_cnn.DigitsCNN()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=digits_cnn.LR)
    crit = nn.CrossEntropyLoss()

    def step(k):
        x, y = batches[k]
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def gpt_case(name, n, dropout):
    c = GPTS[name]
    text, chars, stoi = char_gpt.load_text()
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
    data = data[:int(0.9 * len(data))]  # examples/char-gpt.ts trains on the first 90%
    cfg = {'vocab_size': len(chars), 'block_size': c['block_size'], 'n_embd': c['n_embd'], 'n_head': c['n_head'],
           'n_layer': c['n_layer'], 'dropout': dropout, 'tied': True}
    # examples/char-gpt.ts's defaults for its 600 steps
    t = {'lr': 3e-3, 'min_lr': 3e-4, 'warmup_iters': 30, 'max_iters': 600, 'weight_decay': 0.1,
         'betas': [0.9, 0.95], 'grad_clip': 1.0, 'batch_size': c['batch']}
    g = torch.Generator().manual_seed(7)
    batches = [char_gpt.get_batch(data, c['block_size'], c['batch'], g)[:2] for _ in range(n)]
    torch.manual_seed(1337)
    model = char_gpt.Gpt(cfg)
    model.train()
    opt = char_gpt.make_optimizer(model, t)
    sched = char_gpt.make_scheduler(opt, t)
    crit = nn.CrossEntropyLoss()

    def step(k):
        x, y = batches[k]
        logits = model(x)
        loss = crit(logits.view(-1, cfg['vocab_size']), y.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t['grad_clip'])
        opt.step()
        sched.step()
        return loss.item()

    return step


def measure(make, steps):
    n = 1 + WARMUP + steps
    step = make(n)
    t = time.perf_counter()
    first = step(0)
    first_ms = (time.perf_counter() - t) * 1e3
    for k in range(1, 1 + WARMUP):
        step(k)
    times = []
    for k in range(1 + WARMUP, n):
        t = time.perf_counter()
        step(k)
        times.append((time.perf_counter() - t) * 1e3)
    return {'first_loss': first, 'first_ms': first_ms, 'median_ms': statistics.median(times)}


def blas():
    """torch.__config__.show()'s BLAS settings, and the BLAS library really mapped into this process"""
    a = torch.randn(256, 256)
    a @ a
    show = torch.__config__.show()
    info = [w.strip(' ,') for w in show.replace(',', ' ').split() if w.startswith(('BLAS_INFO', 'LAPACK_INFO'))]
    libs = sorted({line.split()[-1] for line in open('/proc/self/maps')
                   if 'blas' in line.lower() and line.split()[-1].startswith('/')})
    return {'config': ', '.join(info), 'libraries': libs}


def blas_threads(n):
    """OpenBLAS's own thread pool, to the same count: torch.set_num_threads sets only OpenMP's, and Debian's
    torch (BLAS_INFO=generic) calls OpenBLAS-pthread, whose pool otherwise defaults to every core"""
    for lib in blas()['libraries']:
        try:
            ctypes.CDLL(lib).openblas_set_num_threads(n)
            return
        except (OSError, AttributeError):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--models', default='cnn,gpt,gpt128')
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--dropout', type=float, default=0.1)
    a = ap.parse_args()
    out = {'torch': torch.__version__, 'blas': blas(), 'models': {}}
    for m in a.models.split(','):
        if m == 'cnn':
            make = cnn_case
        elif m in GPTS:
            make = lambda n, m=m: gpt_case(m, n, a.dropout)  # noqa: E731
        else:
            raise SystemExit(f'models_peer: unknown model {m!r}')
        by = {}
        for th in [int(x) for x in a.threads.split(',')]:
            torch.set_num_threads(th)
            blas_threads(th)
            by[str(th)] = measure(make, a.steps)
            sys.stderr.write(f'  torch {m} {th} thread(s): {by[str(th)]["median_ms"]:.2f} ms/step\n')
        best = min(by, key=lambda k: by[k]['median_ms'])
        out['models'][m] = dict(by[best], threads=int(best), by_threads=by)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
