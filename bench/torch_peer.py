#!/usr/bin/env python3
"""PyTorch's side of kiln's benchmarks (Debian's python3-torch, CPU).

Prints one JSON object: seconds per call for each case, measured like kiln's side (warm-up, then
the median of several timed repeats). Run by bench/run.ts in the same invocation as kiln.
Usage: /usr/bin/python3 bench/torch_peer.py [--quick]
"""
import json, sys, time
import torch

torch.manual_seed(0)
QUICK = '--quick' in sys.argv


def timeit(fn, min_time=0.2, repeats=5):
    fn()
    n = 1
    while True:  # calibrate the inner loop count to ~min_time/repeats
        t = time.perf_counter(); [fn() for _ in range(n)]; dt = time.perf_counter() - t
        if dt > min_time / repeats or n > 1e6: break
        n *= 4
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n): fn()
        samples.append((time.perf_counter() - t) / n)
    samples.sort()
    return samples[len(samples) // 2]


def adam_case(numel, foreach):
    p = torch.zeros(numel, requires_grad=True)
    p.grad = torch.randn(numel)
    opt = torch.optim.Adam([p], lr=1e-3, foreach=foreach)
    return timeit(opt.step, min_time=0.5 if numel >= 1e7 else 0.2)


def train_case(dims, batch):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2: layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    crit = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, dims[0]); y = torch.randint(0, dims[-1], (batch,))

    def step():
        loss = crit(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        return loss
    return timeit(step)


out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'adam': {}, 'train': {}}
sizes = [10**4, 10**6] if QUICK else [10**4, 10**6, 10**7]
for n in sizes:
    out['adam'][str(n)] = {'forloop': adam_case(n, False), 'foreach': adam_case(n, True)}
out['train']['seed'] = train_case([10, 5, 2], 1)
out['train']['mlp784'] = train_case([784, 256, 10], 64)
print(json.dumps(out))
