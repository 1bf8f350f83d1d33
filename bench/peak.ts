// The machine's float32 FMA peak, measured (issue #13 §4): a loop of 16 independent 16-lane FMA chains (more
// than FMA latency × units, so the units never wait), compiled by cc -O3 -march=native and run through koffi
// on 1 thread and on every core. flops = iterations × 16 chains × 16 lanes × 2 per thread. What a kernel's
// GFLOP/s is a share of (bench/run.ts's profile).
//   npx tsx bench/peak.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

const FMA_LOOP_C = `#include <pthread.h>
#include <stdint.h>
typedef float vf __attribute__((vector_size(64)));
static volatile float sink;
#define ACC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
static void *loop(void *arg) {
  int64_t n = *(int64_t *)arg;
  vf x, y;
  for (int l = 0; l < 16; l++) { x[l] = 1.0000001f; y[l] = -0.0000001f; }
#define DECL(i) vf a##i = x * (1.0f + i * 1e-3f);
  ACC(DECL)
  for (int64_t k = 0; k < n; k++) {
    /* the empty asm keeps every chain in a register and the loop from being folded */
#define STEP(i) a##i = a##i * x + y; __asm__("" : "+v"(a##i));
    ACC(STEP)
  }
  vf s = {0};
#define SUM(i) s += a##i;
  ACC(SUM)
  float t = 0;
  for (int l = 0; l < 16; l++) t += s[l];
  sink = t;
  return 0;
}
void kiln_fma_peak(int64_t n, int threads) {
  pthread_t t[256];
  if (threads > 256) threads = 256;
  for (int i = 1; i < threads; i++) pthread_create(&t[i], 0, loop, &n);
  loop(&n);
  for (int i = 1; i < threads; i++) pthread_join(t[i], 0);
}
`;

export interface Peak {
  /** GFLOP/s of one thread, and of one thread per core */
  oneThread: number;
  allCores: number;
  cores: number;
}

/** the best of `rounds` runs of ~0.2 s at 1 thread and at every core */
export function measurePeak(rounds = 3): Peak {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-peak-'));
  try {
    writeFileSync(join(dir, 'peak.c'), FMA_LOOP_C);
    const so = join(dir, 'peak.so');
    execFileSync('cc', ['-O3', '-march=native', '-shared', '-fPIC', '-o', so, join(dir, 'peak.c'), '-lpthread']);
    const fn = koffi.load(so).func('void kiln_fma_peak(int64_t n, int threads)') as (n: number, t: number) => void;
    const cores = availableParallelism();
    const rate = (threads: number) => {
      let best = 0;
      for (let r = 0; r < rounds; r++) {
        const n = 2e7,
          t = performance.now();
        fn(n, threads);
        best = Math.max(best, (n * 16 * 16 * 2 * threads) / ((performance.now() - t) / 1e3) / 1e9);
      }
      return best;
    };
    return { oneThread: rate(1), allCores: rate(cores), cores };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** one line: the measured peak and what it implies per core (16-lane FMA instructions per ns) */
export function describePeak(p: Peak): string {
  return (
    `FMA peak (16 chains of 16-lane float32 FMAs, cc -O3 -march=native): ${p.oneThread.toFixed(0)} GFLOP/s on 1 ` +
    `thread, ${p.allCores.toFixed(0)} on ${p.cores} = ${(p.oneThread / 32).toFixed(2)} 16-lane FMAs/ns a core ` +
    `(e.g. 2 FMA units at ${(p.oneThread / 64).toFixed(2)} GHz)`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(describePeak(measurePeak()));
