/* A team of threads for one chunk of the core's work: one OpenMP parallel region,
 * inside which the threads share out tasks through a counter and meet at barriers
 * of our own, and each measures how long the operating system kept it waiting
 * for a CPU (its run-queue delay).
 *
 * How long a thread spins at a barrier before it sleeps is ours to choose (an
 * OpenMP barrier may spin for milliseconds): on a machine that is not ours
 * alone, a sibling thread is often descheduled, and a waiter that keeps its CPU
 * busy keeps the sibling from being moved onto it. Here a waiter spins for at
 * most FASTMLP_SPIN_NS, then sleeps (a futex on Linux; elsewhere it yields).
 *
 * The policy that decides how many threads to use lives in _team.pyx; this header
 * holds only the mechanisms, portable C with per-platform branches:
 * atomics (GCC/Clang builtins, or MSVC's Interlocked functions), the pause hint
 * (x86, ARM), the futex (Linux), the run-queue delay (/proc/thread-self/schedstat
 * on Linux, unknown elsewhere).
 */
#ifndef FASTMLP_TEAM_H
#define FASTMLP_TEAM_H

#include <stddef.h>
#include <stdint.h>

#include "fastmlp_openmp.h"

#if defined(__linux__)
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#elif defined(_WIN32)
#include <windows.h>
#else
#include <sched.h>
#include <time.h>
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#define fastmlp_pause() _mm_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define fastmlp_pause() __asm__ __volatile__("yield")
#else
#define fastmlp_pause() ((void) 0)
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
typedef volatile long fastmlp_atomic;
#define fastmlp_load(p) (*(p))                      /* volatile: acquire on MSVC */
#define fastmlp_store(p, v) (*(p) = (v))            /* volatile: release on MSVC */
#define fastmlp_fetch_add(p, v) (_InterlockedExchangeAdd((p), (v)))
#define fastmlp_fence() MemoryBarrier()
#else
typedef int fastmlp_atomic;
#define fastmlp_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define fastmlp_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define fastmlp_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define fastmlp_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#define FASTMLP_MAX_THREADS 64       /* most threads a team has */
#define FASTMLP_SPIN_NS 50000        /* a barrier spins this long, then sleeps */

/* ------------------------------------------------------------------------- */
/* Time and the operating system's account of each thread                    */
/* ------------------------------------------------------------------------- */

static inline int64_t fastmlp_now_ns(void)
{
#if defined(_WIN32)
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (int64_t) ((double) t.QuadPart * 1e9 / (double) f.QuadPart);
#else
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
#endif
}

#if defined(__linux__)
/* Each thread keeps its own /proc/thread-self/schedstat open (re-read with pread,
 * ~1 us against ~9 us for open/read/close); the key's destructor closes it when
 * the thread ends. */
static pthread_key_t fastmlp_schedstat_key;
static pthread_once_t fastmlp_schedstat_once = PTHREAD_ONCE_INIT;

static inline void fastmlp_schedstat_close(void* fd)
{
    close((int) (intptr_t) fd - 1);
}

static inline void fastmlp_schedstat_init(void)
{
    pthread_key_create(&fastmlp_schedstat_key, fastmlp_schedstat_close);
}

/* Nanoseconds this thread has spent runnable but waiting for a CPU, or -1 where
 * the kernel does not say (the second field of schedstat: run_delay). */
static inline int64_t fastmlp_run_delay_ns(void)
{
    char buf[96];
    int fd;
    ssize_t n;
    long long on_cpu, delay;
    pthread_once(&fastmlp_schedstat_once, fastmlp_schedstat_init);
    fd = (int) (intptr_t) pthread_getspecific(fastmlp_schedstat_key) - 1;
    if (fd < 0) {
        fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        pthread_setspecific(fastmlp_schedstat_key, (void*) (intptr_t) (fd + 1));
    }
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (sscanf(buf, "%lld %lld", &on_cpu, &delay) != 2)
        return -1;
    return (int64_t) delay;
}

/* The kernel's ids of the other threads of the calling thread's last team. The
 * OpenMP runtime keeps them for its next parallel region, and between two regions
 * they wait in it: GCC's libgomp spins for a while (GOMP_SPINCOUNT, 300,000 turns
 * by default: milliseconds), then sleeps. */
static __thread int fastmlp_workers[FASTMLP_MAX_THREADS];
static __thread int fastmlp_n_workers;

static inline int fastmlp_gettid(void)
{
    return (int) syscall(SYS_gettid);
}

/* How many of the calling thread's team's waiting threads the kernel counts as
 * running (state R in /proc/self/task/TID/stat): spinning in the OpenMP runtime. */
static inline int fastmlp_own_workers_running(void)
{
    char path[64], buf[256];
    int i, fd, running = 0;
    ssize_t n;
    const char* end;
    for (i = 0; i < fastmlp_n_workers; i++) {
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", fastmlp_workers[i]);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;                   /* the thread has ended */
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        end = strrchr(buf, ')');        /* "tid (name) state ...": the name may hold ')' */
        if (end != NULL && end[1] == ' ' && end[2] == 'R')
            running++;
    }
    return running;
}

/* CPUs with nothing to run at this instant, by the kernel's count of runnable
 * threads (the fourth field of /proc/loadavg, "running/total", which counts the
 * caller too): how many threads a team could add without waiting for a CPU.
 * Our own team's threads spinning in the OpenMP runtime between two of our
 * regions are left out of the count: they are the threads the team would use, and
 * a fit that starts right after another (or after a chunk on one thread) would
 * otherwise read its own idle threads as a busy machine and run on one thread.
 * A snapshot of the whole machine (in a container, of its host). -1 where
 * unknown. The file stays open for the process's life (re-read with pread);
 * callers hold the GIL. */
static inline int fastmlp_idle_cpus(void)
{
    static int fd = -1;
    char buf[128];
    ssize_t n;
    double load;
    int running;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (fd < 0)
        fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || online < 1)
        return -1;
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (sscanf(buf, "%lf %lf %lf %d/", &load, &load, &load, &running) != 4)
        return -1;
    running -= fastmlp_own_workers_running();
    return running >= online ? 0 : (int) (online - running);
}
#else
static inline int64_t fastmlp_run_delay_ns(void) { return -1; }
static inline int fastmlp_idle_cpus(void) { return -1; }
static inline int fastmlp_gettid(void) { return 0; }
static inline int fastmlp_own_workers_running(void) { return -1; }
#endif

/* ------------------------------------------------------------------------- */
/* Sleeping and waking at a barrier                                          */
/* ------------------------------------------------------------------------- */

static inline void fastmlp_sleep_while(fastmlp_atomic* word, int value)
{
#if defined(__linux__)
    syscall(SYS_futex, (int*) word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
#elif defined(_WIN32)
    (void) word; (void) value;
    SwitchToThread();
#else
    (void) word; (void) value;
    sched_yield();
#endif
}

static inline void fastmlp_wake_all(fastmlp_atomic* word)
{
#if defined(__linux__)
    syscall(SYS_futex, (int*) word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
#else
    (void) word;
#endif
}

/* ------------------------------------------------------------------------- */
/* The team                                                                  */
/* ------------------------------------------------------------------------- */

typedef struct {
    int n;                      /* threads in the team */
    fastmlp_atomic arrived;     /* threads at the barrier */
    fastmlp_atomic generation;  /* barriers passed: the futex word */
    fastmlp_atomic sleepers;    /* threads asleep on generation */
    fastmlp_atomic next_task;   /* next unclaimed task of the current stage */
    int64_t run_delay[FASTMLP_MAX_THREADS];  /* OUT each thread's run-queue delay (ns),
                                                or -1 where unknown */
    int os_tid[FASTMLP_MAX_THREADS];         /* OUT each thread's id in the kernel */
} fastmlp_team;

/* The next task of the current stage for the calling thread: tasks are claimed one
 * at a time, so a thread that is descheduled leaves its share to the others. */
static inline ptrdiff_t fastmlp_claim(fastmlp_team* team)
{
    return team->n == 1 ? team->next_task++ : fastmlp_fetch_add(&team->next_task, 1);
}

/* Wait until every thread of the team has arrived. The last to arrive resets the
 * task counter for the next stage and releases the others; a waiter spins for
 * FASTMLP_SPIN_NS at most, then sleeps until released. */
static inline void fastmlp_barrier(fastmlp_team* team)
{
    int generation, spins = 0;
    int64_t start = 0;
    if (team->n == 1) {
        team->next_task = 0;
        return;
    }
    generation = fastmlp_load(&team->generation);
    if (fastmlp_fetch_add(&team->arrived, 1) == team->n - 1) {
        team->arrived = 0;
        team->next_task = 0;
        fastmlp_fetch_add(&team->generation, 1);
        fastmlp_fence();
        if (fastmlp_load(&team->sleepers))
            fastmlp_wake_all(&team->generation);
        return;
    }
    while (fastmlp_load(&team->generation) == generation) {
        fastmlp_pause();
        if (++spins % 64)
            continue;
        if (start == 0)
            start = fastmlp_now_ns();
        else if (fastmlp_now_ns() - start > FASTMLP_SPIN_NS) {
            fastmlp_fetch_add(&team->sleepers, 1);
            fastmlp_fence();
            while (fastmlp_load(&team->generation) == generation)
                fastmlp_sleep_while(&team->generation, generation);
            fastmlp_fetch_add(&team->sleepers, -1);
            return;
        }
    }
}

typedef void (*fastmlp_team_job)(void* job, fastmlp_team* team, int tid);

/* Run job(job, team, tid) on n_threads threads (tid 0..n-1; n_threads <= 1: on the
 * calling thread alone), each recording its run-queue delay over the job in
 * team->run_delay[tid]. Returns the number of threads that ran it. */
static inline int fastmlp_team_run(fastmlp_team* team, int n_threads, fastmlp_team_job job,
                            void* arg)
{
    int n = n_threads < 1 ? 1 : (n_threads > FASTMLP_MAX_THREADS ? FASTMLP_MAX_THREADS
                                                                  : n_threads);
#if defined(_OPENMP)
    int ran = n;
#endif
    team->arrived = team->generation = team->sleepers = 0;
    team->next_task = 0;
    team->n = n;
    if (n == 1) {
        int64_t before = fastmlp_run_delay_ns();
        job(arg, team, 0);
        team->run_delay[0] = before < 0 ? -1 : fastmlp_run_delay_ns() - before;
        return 1;
    }
#if defined(_OPENMP)
    #pragma omp parallel num_threads(n)
    {
        int tid = omp_get_thread_num();
        int64_t before;
        if (omp_get_num_threads() != n) {
            /* the runtime gave fewer threads (a limit, or nested parallelism):
             * the whole job on the first of them */
            if (tid == 0) {
                ran = 1;
                team->n = 1;
                before = fastmlp_run_delay_ns();
                job(arg, team, 0);
                team->run_delay[0] = before < 0 ? -1 : fastmlp_run_delay_ns() - before;
            }
        } else {
            team->os_tid[tid] = fastmlp_gettid();
            before = fastmlp_run_delay_ns();
            job(arg, team, tid);
            team->run_delay[tid] = before < 0 ? -1 : fastmlp_run_delay_ns() - before;
        }
    }
#if defined(__linux__)
    if (ran == n) {         /* the threads that now wait for our next region */
        for (int t = 1; t < n; t++)
            fastmlp_workers[t - 1] = team->os_tid[t];
        fastmlp_n_workers = n - 1;
    }
#endif
    return ran;
#else
    team->n = 1;
    job(arg, team, 0);
    team->run_delay[0] = -1;
    return 1;
#endif
}

#endif
