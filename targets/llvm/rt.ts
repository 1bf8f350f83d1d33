// Runtime support linked into every kiln native library, as C source (embedded so a built
// package needs no extra files; toolchain.ts writes it next to the object and compiles it with cc).
/** the library's one exported function: void kiln_run(T0* b0, ..., TN* bN) (module.ts emits it) */
export const ENTRY = 'kiln_run';

export const RT_C = `// Runtime support linked into every kiln native library. kiln_par splits a kernel's outer grid
// [0, n) into chunks that the caller and a small persistent thread pool (created on first use)
// claim dynamically: a worker that wakes late (another process holds the core) just claims
// fewer chunks, so a split run is never much slower than a serial one. Workers poll (yielding) ~500 µs
// after a job (kernels come back to back within a run), then sleep on a condition variable.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef void (*kiln_thunk)(void **, int64_t, int64_t);

#define MAX_THREADS 16
#define CHUNKS_PER_THREAD 8
#define SPIN_NS 500000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;     // guards the condition variable
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER; // one kiln_par at a time
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int nthreads = 1;
// the job: (generation << 32 | next chunk) in one word, so a claim is valid only for its job
static _Atomic uint64_t word;
static _Atomic int done, sleepers;
static _Atomic(kiln_thunk) job_f;
static _Atomic(void **) job_b;
static _Atomic int64_t job_n;
static _Atomic int job_chunks;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/** claims and runs chunks of job gen until none are left; returns when the job moved on */
static void work(uint32_t gen) {
  for (;;) {
    uint64_t w = atomic_load(&word);
    if ((uint32_t)(w >> 32) != gen) return;
    kiln_thunk f = atomic_load(&job_f);
    void **b = atomic_load(&job_b);
    int64_t n = atomic_load(&job_n);
    int total = atomic_load(&job_chunks);
    uint32_t c = (uint32_t)w;
    if ((int)c >= total) return;
    if (!atomic_compare_exchange_weak(&word, &w, w + 1)) continue; // the fields above are this job's
    f(b, n * c / total, n * (c + 1) / total);
    atomic_fetch_add(&done, 1);
  }
}

static void *worker(void *arg) {
  (void)arg;
  uint32_t seen = 0;
  for (;;) {
    int64_t until = now_ns() + SPIN_NS;
    // yield while spinning: the kernel may have woken us on the caller's core
    while ((uint32_t)(atomic_load(&word) >> 32) == seen && now_ns() < until) sched_yield();
    if ((uint32_t)(atomic_load(&word) >> 32) == seen) {
      pthread_mutex_lock(&mu);
      atomic_fetch_add(&sleepers, 1);
      while ((uint32_t)(atomic_load(&word) >> 32) == seen) pthread_cond_wait(&go, &mu);
      atomic_fetch_sub(&sleepers, 1);
      pthread_mutex_unlock(&mu);
    }
    seen = (uint32_t)(atomic_load(&word) >> 32);
    work(seen);
  }
  return NULL;
}

static void init(void) {
  const char *env = getenv("KILN_THREADS");
  long n = env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  for (int t = 1; t < n; t++) {
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, worker, NULL) != 0) break;
    nthreads = t + 1;
  }
}

void kiln_par(kiln_thunk f, void **bufs, int64_t n) {
  pthread_once(&once, init);
  if (nthreads == 1 || n < 2) { f(bufs, 0, n); return; }
  pthread_mutex_lock(&job_mu);
  int total = n < nthreads * CHUNKS_PER_THREAD ? (int)n : nthreads * CHUNKS_PER_THREAD;
  atomic_store(&job_f, f);
  atomic_store(&job_b, bufs);
  atomic_store(&job_n, n);
  atomic_store(&job_chunks, total);
  atomic_store(&done, 0);
  uint32_t gen = (uint32_t)(atomic_load(&word) >> 32) + 1;
  atomic_store(&word, (uint64_t)gen << 32); // publishes the job
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&go);
    pthread_mutex_unlock(&mu);
  }
  work(gen);
  while (atomic_load(&done) != total) sched_yield(); // a worker may share our core
  pthread_mutex_unlock(&job_mu);
}

int kiln_threads(void) { pthread_once(&once, init); return nthreads; }

// collectives between kernels (runtime/native/entry.ts): kiln_run calls kiln_collective(point) on
// the calling thread, which calls the runtime's callback; without one a collective is the identity
typedef void (*kiln_collective_fn)(int64_t);
static kiln_collective_fn collective_fn;
void kiln_set_collective(kiln_collective_fn f) { collective_fn = f; }
void kiln_collective(int64_t point) { if (collective_fn) collective_fn(point); }
`;
