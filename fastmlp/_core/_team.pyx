"""How the core's work is shared out: the scheduling policy, in one place.

What is computed (forward, backward, losses, updates) lives in _network.pyx and
_updates.pyx; this module decides

- how a stage's work is split into tiles: a function of the shapes alone, never
  of the thread count, so the same fit gives the same bits on any number of
  threads, and the count may change between chunks without changing a bit;
- how much work a team runs between two decisions (a chunk of batches);
- how many threads run the next chunk (ThreadPolicy), from the operating system's
  account of the last one: each thread's run-queue delay, the time it was ready to
  run but had no CPU. When other threads or processes take our CPUs, a team of two
  waits at every barrier for whichever of its threads was descheduled, and one
  thread is faster; the policy then runs on one thread and tries the team again
  after a while, waiting longer after each try that finds the CPUs still taken;
- how threads wait for each other: csrc/fastmlp_team.h, whose barrier spins
  briefly and then sleeps, giving its CPU back.
"""
from cpython.exc cimport PyErr_Occurred
from libc.stdint cimport int64_t

from ._layout cimport MAX_TILES, ROW_SPLIT_TILES, Layout, Net


cdef enum:
    MIN_TILE_ROWS = 96   # fewest rows (of X, or of W for a weight gradient) in a tile
                         # whose product BLAS packs: it runs near its peak from here on
    SMALL_TILE_ROWS = 32 # fewest rows in a tile whose product BLAS does not pack
    MIN_TILE_COLS = 32   # fewest columns of a weight-gradient tile

# Work worth a tile of its own (about 10 to 50 microseconds on one core); smaller
# stages stay in one tile.
cdef double TILE_FLOPS = 4e5

# OpenBLAS multiplies a product of up to about this many multiply-adds (m n k)
# straight from its operands, without packing them into blocks first. Tiles of such
# products can be short: no packing cost is repeated per tile.
cdef double SMALL_PRODUCT = 1e6

# Work of a chunk: the batches a team runs between two decisions of the policy
# (about 1 to 4 ms on one core). Each chunk costs a parallel region, the threads'
# run-queue readings and a return to Python (for Ctrl-C), ~20 us in all.
cdef double CHUNK_FLOPS = 2e7

# The policy. A chunk is contended when its threads waited for a CPU for more than
# this share of their time together.
cdef double CONTENDED = 0.05
cdef int FIRST_BACKOFF = 4     # chunks on one thread before trying the team again
cdef int MAX_BACKOFF = 256     # the wait doubles after each contended try, up to this


# ---------------------------------------------------------------------------
# Tiles: functions of the shapes alone
# ---------------------------------------------------------------------------

cdef inline Py_ssize_t min_rows(double k_times_n) noexcept nogil:
    """Fewest rows of a tile whose products have inner size x output width up to
    k_times_n: short tiles when BLAS multiplies them unpacked, else MIN_TILE_ROWS."""
    return SMALL_TILE_ROWS if MIN_TILE_ROWS * k_times_n <= SMALL_PRODUCT else MIN_TILE_ROWS


cdef inline Py_ssize_t n_tiles(Py_ssize_t n, double item_flops, Py_ssize_t fewest,
                               Py_ssize_t most=MAX_TILES) noexcept nogil:
    """How many tiles of at least `fewest` items to split n items of `item_flops`
    each into, `most` at most. A power of two, so that tiles share out evenly over
    2, 4 or 8 threads."""
    cdef Py_ssize_t t = n // fewest, tiles = 1
    cdef double by_work = n * item_flops / TILE_FLOPS
    if by_work < t:
        t = <Py_ssize_t> by_work
    while tiles * 2 <= t and tiles * 2 <= most:
        tiles *= 2
    return tiles


cdef Py_ssize_t tile_start(Py_ssize_t n, Py_ssize_t tiles, Py_ssize_t t) noexcept nogil:
    """First row of tile t of `tiles` balanced tiles over n rows."""
    return (t * n) // tiles


cdef double weights_per_row(const Net* net, double* widest) noexcept nogil:
    """The multiply-adds of one row's forward pass (all weights, units[l] x
    units[l+1] summed over the layers); sets widest to the largest layer's."""
    cdef double total = 0, size
    cdef Py_ssize_t l
    widest[0] = 0
    for l in range(net.n_layers):
        size = <double> net.units[l] * net.units[l + 1]
        total += size
        widest[0] = max(widest[0], size)
    return total


cdef Py_ssize_t forward_tiles(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Row tiles of the forward pass: a tile goes through every layer."""
    cdef double widest
    cdef double weights = weights_per_row(net, &widest)
    return n_tiles(rows, 2.0 * weights, min_rows(widest))


cdef Tiling backward_tiling(const Net* net, Py_ssize_t l, Py_ssize_t rows) noexcept nogil:
    """Layer l's tiles. The weight gradient is split by rows of W (its input
    features); a layer with too few of them is split by W's columns instead."""
    cdef Tiling t
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    t.f_tiles = n_tiles(n_in, 2.0 * rows * n_out, min_rows(<double> rows * n_out))
    t.c_tiles = 1
    if t.f_tiles == 1:
        t.c_tiles = n_tiles(n_out, 2.0 * rows * n_in, MIN_TILE_COLS)
    t.r_tiles = n_tiles(rows, 2.0 * n_in * n_out, min_rows(<double> n_in * n_out)) if l > 0 else 0
    t.tasks = t.f_tiles * t.c_tiles + t.r_tiles + 1
    return t


cdef Py_ssize_t row_split(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Row tiles that each take their rows through the forward and the backward
    pass, leaving a partial gradient, or 1 for none. For the smallest networks:
    products BLAS multiplies unpacked, and a forward pass too small to split on its
    own. Two tiles at most: each halves the inner size of the weight-gradient
    products, and their calls' fixed costs add up. (Measured on 2 cores: 20-64-1
    with 200 rows ~10-25% faster; 50-128-64-1, whose stages split on their own,
    slower.)"""
    cdef double widest
    cdef double weights = weights_per_row(net, &widest)
    if min_rows(widest) != SMALL_TILE_ROWS or forward_tiles(net, rows) > 1:
        return 1
    # 2 flops per weight each for the forward pass, dW and the delta
    return n_tiles(rows, 6.0 * weights, SMALL_TILE_ROWS, ROW_SPLIT_TILES)


cdef Py_ssize_t param_ranges(Py_ssize_t n_params) noexcept nogil:
    """Tasks of a pass over the parameters (the optimizer's update): ranges of
    PARAM_RANGE. Every element is independent, so any split gives the same bits."""
    return (n_params + PARAM_RANGE - 1) // PARAM_RANGE


cdef double batch_flops(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Multiply-adds x 2 of a batch's forward and backward pass."""
    cdef double widest
    return 6.0 * rows * weights_per_row(net, &widest)


cdef Py_ssize_t chunk_batches(const Net* net, Py_ssize_t batch_size) noexcept nogil:
    """Batches of a chunk: about CHUNK_FLOPS of work, one batch at least."""
    cdef double n = CHUNK_FLOPS / batch_flops(net, batch_size)
    return 1 if n < 1 else <Py_ssize_t> n


def tiling(Layout layout, Py_ssize_t rows):
    """How a batch of `rows` rows is split: the forward pass's row tiles, each
    layer's backward tiles as (feature tiles, column tiles, row tiles) of its
    weight gradient and delta, and the row tiles of a row-split batch (which
    replace the others when > 1). A function of the shapes alone (for the tests)."""
    cdef Net net = layout.net
    cdef Py_ssize_t l
    cdef Tiling t
    if not 1 <= rows <= net.capacity:
        raise ValueError(f"rows {rows} outside [1, {net.capacity}]")
    backward = []
    for l in range(net.n_layers):
        t = backward_tiling(&net, l, rows)
        backward.append((t.f_tiles, t.c_tiles, t.r_tiles))
    return {"forward": forward_tiles(&net, rows), "backward": backward,
            "row_split": row_split(&net, rows)}


# ---------------------------------------------------------------------------
# How many threads
# ---------------------------------------------------------------------------

def waiting_threads_running():
    """How many of the calling thread's last team's other threads the kernel counts
    as running while they wait for its next parallel region (spinning in the OpenMP
    runtime); fastmlp's count of idle CPUs leaves them out. -1 where unknown. For
    tests."""
    return own_workers_running()


cdef class ThreadPolicy:
    """How many threads run each chunk of one fit (or of predictions).

    Parameters
    ----------
    max_threads : int
        Most threads to use (fastmlp._threads.n_threads()).
    schedule : sequence of int, optional
        For tests: the thread counts of successive chunks, cycled through, instead
        of the policy's own choice.
    idle_cpus : callable, optional
        For tests: returns the number of idle CPUs, instead of the kernel's count.

    A team is tried when the kernel counts CPUs with nothing to run (at the start,
    and then every `backoff` chunks while the policy runs on one thread), with
    as many threads as there are such CPUs, max_threads at most. The team runs
    until a chunk finds its threads waiting for a CPU for more than CONTENDED of
    their time; then one thread runs the next `backoff` chunks. The backoff
    doubles after each contended team, up to MAX_BACKOFF chunks, and starts over
    after a chunk that ran uncontended. Where the operating system gives no such
    counts (other than Linux), the team always runs on max_threads.
    """

    def __init__(self, int max_threads, schedule=None, idle_cpus=None):
        self.max_threads = max(1, min(max_threads, FASTMLP_MAX_THREADS))
        self.threads = 1        # until next_threads finds CPUs for a team
        self.backoff = FIRST_BACKOFF
        self.wait = 0
        self.schedule = None if schedule is None else [int(k) for k in schedule]
        self.idle_cpus = idle_cpus

    def limit(self, int max_threads):
        """Use at most max_threads from now on (the limits in force may change
        between two calls of a policy kept for predictions)."""
        self.max_threads = max(1, min(max_threads, FASTMLP_MAX_THREADS))
        self.threads = min(self.threads, self.max_threads)

    cpdef int next_threads(self):
        """Threads of the next chunk (a chunk asks once: this may try a team)."""
        cdef int free
        if self.schedule:
            return self.schedule[self.chunks % len(self.schedule)]
        if self.threads == 1 and self.wait <= 0 and self.max_threads > 1:
            # time to try a team: as large as the CPUs idle right now allow
            free = idle_cpus() if self.idle_cpus is None else self.idle_cpus()
            if free < 0:
                self.threads = self.max_threads     # the system does not say: try
            elif free > 0:
                self.threads = min(self.max_threads, 1 + free)
            else:
                self.wait = self.backoff            # every CPU is busy: not now
        return self.threads

    cdef void record(self, const fastmlp_team* team, int ran, int64_t wall_ns):
        """Update the choice after a chunk that `ran` threads ran in wall_ns."""
        cdef int64_t delay = 0
        cdef int t
        self.chunks += 1
        if ran == 1:
            if self.wait > 0:
                self.wait -= 1
            return
        self.parallel_chunks += 1
        for t in range(ran):
            if team.run_delay[t] < 0:
                return          # the operating system does not say: keep the team
            delay += team.run_delay[t]
        if delay > CONTENDED * ran * wall_ns:
            self.contended_chunks += 1
            self.threads = 1
            self.wait = self.backoff
            self.backoff = min(2 * self.backoff, MAX_BACKOFF)
        else:
            self.backoff = FIRST_BACKOFF

    def observe(self, int ran, int64_t wall_ns, run_delays):
        """Record a chunk that `ran` threads ran in wall_ns nanoseconds, each kept
        waiting for a CPU run_delays[t] nanoseconds (-1: unknown); for tests."""
        cdef fastmlp_team team
        cdef int t
        for t in range(ran):
            team.run_delay[t] = run_delays[t]
        self.record(&team, ran, wall_ns)

    cdef int run(self, fastmlp_team_job job, void* arg) except -1:
        """Run job on the team the policy chooses, without the GIL; then record how
        the chunk went. Returns the number of threads that ran it; raises what the
        job left pending (KeyboardInterrupt)."""
        cdef fastmlp_team team
        cdef int n = self.next_threads(), ran
        cdef int64_t start, wall
        with nogil:
            start = now_ns()
            ran = team_run(&team, n, job, arg)
            wall = now_ns() - start
        if PyErr_Occurred():
            return -1       # the job saw Ctrl-C: raise its KeyboardInterrupt
        self.record(&team, ran, wall)
        return ran
