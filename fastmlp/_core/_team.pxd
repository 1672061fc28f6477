from libc.stdint cimport int64_t

from ._layout cimport Net


cdef extern from "fastmlp_team.h":
    ctypedef struct fastmlp_team:
        int n
        int64_t run_delay[64]
    ctypedef void (*fastmlp_team_job)(void* job, fastmlp_team* team, int tid) noexcept nogil
    int FASTMLP_MAX_THREADS
    Py_ssize_t claim "fastmlp_claim" (fastmlp_team* team) noexcept nogil
    void barrier "fastmlp_barrier" (fastmlp_team* team) noexcept nogil
    int team_run "fastmlp_team_run" (fastmlp_team* team, int n_threads, fastmlp_team_job job,
                                      void* arg) noexcept nogil
    int64_t now_ns "fastmlp_now_ns" () noexcept nogil
    int idle_cpus "fastmlp_idle_cpus" () noexcept nogil
    int own_workers_running "fastmlp_own_workers_running" () noexcept nogil


cdef enum:
    PARAM_RANGE = 16384        # most parameters of a task of a pass over the parameters


cdef struct Grid:
    # A product's output (m, n) in rt x ct tiles of whole units (mu rows, nu columns)
    Py_ssize_t m, n, mu, nu
    Py_ssize_t rt, ct, tiles


cdef struct Stage:
    # The tasks of one layer's backward pass: the weight gradient's tiles, the
    # delta's (none for the first layer), and one for the intercepts' gradient
    Grid weights, delta
    Py_ssize_t tasks


cdef Grid forward_grid(const Net* net, Py_ssize_t rows, bint single, int threads) noexcept nogil
cdef Grid product_grid(Py_ssize_t m, Py_ssize_t n, double flops, Py_ssize_t mu,
                       Py_ssize_t nu, int threads) noexcept nogil
cdef void grid_tile(const Grid* g, Py_ssize_t t, Py_ssize_t* r0, Py_ssize_t* r1,
                    Py_ssize_t* c0, Py_ssize_t* c1) noexcept nogil
cdef Stage backward_stage(const Net* net, Py_ssize_t l, Py_ssize_t rows, bint single,
                          int threads) noexcept nogil
cdef Py_ssize_t is_row_split(const Net* net, Py_ssize_t capacity) noexcept nogil
cdef Py_ssize_t row_split(const Net* net, Py_ssize_t rows) noexcept nogil
cdef Py_ssize_t tile_start(Py_ssize_t n, Py_ssize_t tiles, Py_ssize_t t) noexcept nogil
cdef Py_ssize_t param_tasks(const Net* net, bint single, int threads) noexcept nogil
cdef Py_ssize_t row_blocks(const Net* net, Py_ssize_t l, bint single, int threads) noexcept nogil
cdef void param_task(const Net* net, bint single, int threads, Py_ssize_t task,
                     Py_ssize_t* start, Py_ssize_t* stop) noexcept nogil
cdef double batch_flops(const Net* net, Py_ssize_t rows) noexcept nogil
cdef Py_ssize_t chunk_batches(const Net* net, Py_ssize_t batch_size) noexcept nogil


cdef class ThreadPolicy:
    cdef readonly int max_threads
    cdef int threads               # for the next chunk
    cdef int backoff               # chunks on one thread before the next probe
    cdef int wait                  # chunks left before the next probe
    cdef object schedule           # test hook: thread counts to cycle through
    cdef object idle_cpus          # test hook: a callable in place of the kernel's count
    cdef readonly Py_ssize_t chunks, parallel_chunks, contended_chunks
    cpdef int next_threads(self)
    cdef void record(self, const fastmlp_team* team, int ran, int64_t wall_ns)
    cdef int run(self, fastmlp_team_job job, void* arg) except -1
