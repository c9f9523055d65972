/* A small pool of worker threads for the fast backend's parallel loops. Each job is a number of
   chunks; the caller runs chunks too, and returns when all are done. Idle workers spin for a
   short while (yielding the core after the first microseconds, so other threads such as
   OpenBLAS's get it) before they sleep: kernels come back to back during training, and waking a
   sleeping thread for each one costs tens of microseconds, as much as a small kernel itself.
   One job at a time: a call made while a job runs (from another thread, or nested in a chunk)
   runs its chunks itself, in order. */
#define _GNU_SOURCE
#include "nsas_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

static struct {
    /* generation (high 32 bits) and next unclaimed chunk (low 32 bits) of the current job */
    _Atomic unsigned long long claim;
    _Atomic int done, sleepers;
    atomic_flag busy;
    nsas_chunk_fn fn;
    void *ctx;
    int chunks;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = { .busy = ATOMIC_FLAG_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static int pool_workers;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_wanted;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Claims and runs chunks of generation gen until none is left (or the job is another's). */
static void run_chunks(unsigned gen) {
    for (;;) {
        unsigned long long w = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if ((unsigned)(w >> 32) != gen || (int)(w & 0xffffffffu) >= pool.chunks) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &w, w + 1, memory_order_acq_rel, memory_order_relaxed)) continue;
        pool.fn(pool.ctx, (int)(w & 0xffffffffu));
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker(void *arg) {
    (void)arg;
    unsigned seen = 0;   /* the generation before the first job: a worker that starts late still joins it */
    for (;;) {
        double start = seconds();
        unsigned gen;
        for (long i = 0;; i++) {
            gen = (unsigned)(atomic_load_explicit(&pool.claim, memory_order_acquire) >> 32);
            if (gen != seen) break;
            CPU_RELAX();
            if (i % 64 == 63) {
                double idle = seconds() - start;
                if (idle > 20e-6) sched_yield();
                if (idle > 300e-6) {   /* sleep until the next job */
                    pthread_mutex_lock(&pool.lock);
                    atomic_fetch_add(&pool.sleepers, 1);
                    while ((unsigned)(atomic_load(&pool.claim) >> 32) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                    atomic_fetch_sub(&pool.sleepers, 1);
                    pthread_mutex_unlock(&pool.lock);
                    start = seconds();
                }
            }
        }
        seen = gen;
        run_chunks(gen);
    }
    return 0;
}

static void start_workers(void) {
    for (int i = 0; i < pool_wanted; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker, 0) == 0) pool_workers++;
        pthread_attr_destroy(&attr);
    }
}

void nsas_pool_run(int threads, int chunks, nsas_chunk_fn fn, void *ctx) {
    if (chunks <= 0) return;
    if (chunks == 1 || threads <= 1 || atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
        for (int c = 0; c < chunks; c++) fn(ctx, c);
        return;
    }
    pool_wanted = threads - 1;
    pthread_once(&pool_once, start_workers);
    if (pool_workers == 0) {
        for (int c = 0; c < chunks; c++) fn(ctx, c);
        atomic_flag_clear_explicit(&pool.busy, memory_order_release);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.chunks = chunks;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    unsigned gen = (unsigned)(atomic_load(&pool.claim) >> 32) + 1;
    atomic_store(&pool.claim, (unsigned long long)gen << 32);   /* publishes the job (sequentially consistent) */
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_chunks(gen);
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < chunks) CPU_RELAX();
    atomic_flag_clear_explicit(&pool.busy, memory_order_release);
}

/* CPUs in this process's affinity mask (taskset, Slurm's binding, a container's cpuset). */
#include <sched.h>
int nsas_affinity_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    return CPU_COUNT(&set);
}
