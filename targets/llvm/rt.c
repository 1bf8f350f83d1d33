// Runtime support linked into every kiln native library. kiln_par splits a kernel's outer grid
// [0, n) over a small persistent thread pool (created on first use): the caller runs chunk 0,
// workers the rest. Workers spin briefly after a job (kernels come back to back within a run),
// then block on a condition variable so an idle library costs nothing.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef void (*kiln_thunk)(void **, int64_t, int64_t);

#define MAX_THREADS 16
#define SPINS 200000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   // guards the condition variable
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER; // one kiln_par at a time
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int nthreads = 1;
static atomic_uint_fast64_t generation;
static atomic_int pending;
static kiln_thunk job_f;
static void **job_b;
static int64_t job_n;

static void chunk(int t) {
  int64_t lo = job_n * t / nthreads, hi = job_n * (t + 1) / nthreads;
  if (lo < hi) job_f(job_b, lo, hi);
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  uint_fast64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&generation, memory_order_acquire) == seen && ++spins < SPINS) { }
    if (atomic_load_explicit(&generation, memory_order_acquire) == seen) {
      pthread_mutex_lock(&mu);
      while (atomic_load(&generation) == seen) pthread_cond_wait(&go, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = atomic_load(&generation);
    chunk(t);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
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
    if (pthread_create(&th, &attr, worker, (void *)(intptr_t)t) != 0) break;
    nthreads = t + 1;
  }
}

void kiln_par(kiln_thunk f, void **bufs, int64_t n) {
  pthread_once(&once, init);
  if (nthreads == 1 || n < 2) { f(bufs, 0, n); return; }
  pthread_mutex_lock(&job_mu);
  job_f = f; job_b = bufs; job_n = n;
  atomic_store(&pending, nthreads - 1);
  pthread_mutex_lock(&mu);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&mu);
  chunk(0);
  while (atomic_load_explicit(&pending, memory_order_acquire) != 0) { }
  pthread_mutex_unlock(&job_mu);
}

int kiln_threads(void) { pthread_once(&once, init); return nthreads; }
