#!/usr/bin/env python3
"""PyTorch's side of kiln's benchmarks (Debian's python3-torch, CPU).

Prints one JSON object: seconds per call for each case, measured like kiln's side (warm-up, then
the median of several timed repeats), at 1 and at 2 threads, keeping the faster per case (both are
reported). Run by bench/run.ts in the same invocation as kiln.

The BLAS PyTorch really calls is the one the dynamic loader resolved for libblas.so.3 (Debian's
torch says BLAS_INFO=generic whatever is installed): it is read from /proc/self/maps after a
matmul and named in the output. Debian's reference BLAS runs a 512x512 matmul at ~3 GFLOP/s, so
a run on it is refused unless --allow-reference-blas is given
(apt-get install libopenblas0-pthread makes OpenBLAS the libblas.so.3 alternative).
Usage: /usr/bin/python3 bench/torch_peer.py [--quick] [--allow-reference-blas] [--threads 1,2]
"""
import json, os, sys, time
import torch

torch.manual_seed(0)
QUICK = '--quick' in sys.argv
THREADS = [int(t) for t in (sys.argv[sys.argv.index('--threads') + 1] if '--threads' in sys.argv else '1,2').split(',')]


def blas_info():
    """the BLAS library mapped into this process once a matmul ran, and a 512x512 sgemm's rate"""
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    a @ b
    libs = sorted({line.split()[-1] for line in open('/proc/self/maps')
                   if 'blas' in line.lower() and line.split()[-1].startswith('/')})
    best = None
    for t in THREADS:
        torch.set_num_threads(t)
        t0 = time.perf_counter(); n = 0
        while time.perf_counter() - t0 < 0.3:
            a @ b; n += 1
        rate = 2 * 512 ** 3 * n / (time.perf_counter() - t0) / 1e9
        best = rate if best is None else max(best, rate)
    name = ('openblas' if any('openblas' in l for l in libs) else
            'mkl' if any('mkl' in l for l in libs) else
            'blis' if any('blis' in l for l in libs) else
            'reference' if any('/blas/' in l or 'libblas.so' in l for l in libs) else 'unknown')
    return {'name': name, 'libraries': libs, 'sgemm512_gflops': round(best, 1)}


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


def at_threads(fn):
    """fn timed at each thread count: the fastest, and every count's time"""
    times = {}
    for t in THREADS:
        torch.set_num_threads(t)
        times[str(t)] = fn()
    best = min(times, key=times.get)
    return times[best], {'best_threads': int(best), 'by_threads': times}


blas = blas_info()
if blas['name'] in ('reference', 'unknown') and '--allow-reference-blas' not in sys.argv:
    sys.stderr.write(f"torch_peer: PyTorch is linked to the {blas['name']} BLAS "
                     f"({', '.join(blas['libraries']) or 'none'}, "
                     f"{blas['sgemm512_gflops']} GFLOP/s): not what PyTorch users run. Install OpenBLAS "
                     "(apt-get install libopenblas0-pthread, or bash scripts/setup.sh --bench) "
                     "or pass --allow-reference-blas\n")
    sys.exit(3)
out = {'torch': torch.__version__, 'blas': blas, 'threads': THREADS, 'adam': {}, 'train': {}, 'detail': {}}
sizes = [10**4, 10**6] if QUICK else [10**4, 10**6, 10**7]
for n in sizes:
    fl, fl_d = at_threads(lambda: adam_case(n, False))
    fe, fe_d = at_threads(lambda: adam_case(n, True))
    out['adam'][str(n)] = {'forloop': fl, 'foreach': fe}
    out['detail'][f'adam{n}'] = {'forloop': fl_d, 'foreach': fe_d}
for key, dims, batch in (('seed', [10, 5, 2], 1), ('mlp784', [784, 256, 10], 64)):
    out['train'][key], out['detail'][key] = at_threads(lambda: train_case(dims, batch))
print(json.dumps(out))
