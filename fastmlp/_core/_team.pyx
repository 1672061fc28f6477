"""How the core's work is shared out: the scheduling policy, in one place.

What is computed (forward, backward, losses, updates) lives in _network.pyx and
_updates.pyx, and how a product is computed in the engine (_engine.pxd); this
module decides

- how a stage's work is split into tiles. The engine's products give the same
  bits however their rows and columns are split (the inner dimension never is),
  so a stage is split into as many tiles as the team running it can use, a few
  per thread for balance, none smaller than a few microseconds of work: tiles
  follow the threads, and the count may change between chunks without changing a
  bit. The smallest networks train row-split in tiles fixed by their shapes;
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

from ._engine cimport block_rows, panel_width, panels
from ._layout cimport ROW_SPLIT_TILES, Layout, Net

import numpy as np


cdef enum:
    TASKS_PER_THREAD = 4 # tiles per thread of a team: a descheduled thread leaves its
                         # tiles to the others
    SMALL_TILE_ROWS = 32 # fewest rows of a row-split network's tile
    MIN_RANGE = 4096     # fewest parameters of a task of the pass over the parameters

# Fewest flops of a product's tile (about 0.5-1 microsecond on one core; claiming
# a tile costs ~0.1 us).
cdef double MIN_TILE_FLOPS = 5e4

# A row-split network: the weights of each layer at most this many (they sit in
# the first-level cache, and its products are a few microseconds each), and a
# batch of at most ROW_SPLIT_WORK x TILE_FLOPS of forward work.
cdef double SMALL_LAYER = 1e6 / 96
cdef double TILE_FLOPS = 4e5
cdef double ROW_SPLIT_WORK = 2

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
# Tiles
# ---------------------------------------------------------------------------

cdef inline Py_ssize_t wanted_tiles(int threads) noexcept nogil:
    """Tiles a stage is split into for a team of `threads`: one on one thread."""
    return 1 if threads <= 1 else TASKS_PER_THREAD * threads


cdef inline Py_ssize_t unit_start(Py_ssize_t n, Py_ssize_t unit, Py_ssize_t tiles,
                                  Py_ssize_t t) noexcept nogil:
    """First item of tile t of `tiles` over n items, a multiple of unit: the units
    (ceil(n / unit) of them) shared out evenly."""
    cdef Py_ssize_t units = (n + unit - 1) // unit
    return min(n, (t * units // tiles) * unit)


cdef Grid product_grid(Py_ssize_t m, Py_ssize_t n, double flops, Py_ssize_t mu,
                       Py_ssize_t nu, int threads) noexcept nogil:
    """A product's output (m, n) in tiles for a team of `threads`: rows in units of
    mu (the engine's block rows), columns in units of nu (its panels); as many
    tiles as the team can use (wanted_tiles), no more than the units, none of less
    than MIN_TILE_FLOPS of `flops` in all. Rows are split first: a row tile reads
    all of W's panels once."""
    cdef Grid g
    cdef Py_ssize_t want = wanted_tiles(threads), by_work = <Py_ssize_t> (flops / MIN_TILE_FLOPS)
    cdef Py_ssize_t row_units = (m + mu - 1) // mu, col_units = (n + nu - 1) // nu
    g.m, g.n, g.mu, g.nu = m, n, mu, nu
    want = max(1, min(want, by_work))
    g.rt = min(want, row_units)
    g.ct = min((want + g.rt - 1) // g.rt, col_units)
    g.tiles = g.rt * g.ct
    return g


cdef void grid_tile(const Grid* g, Py_ssize_t t, Py_ssize_t* r0, Py_ssize_t* r1,
                    Py_ssize_t* c0, Py_ssize_t* c1) noexcept nogil:
    """Rows r0..r1 and columns c0..c1 of tile t of the grid."""
    cdef Py_ssize_t i = t // g.ct, j = t % g.ct
    r0[0], r1[0] = unit_start(g.m, g.mu, g.rt, i), unit_start(g.m, g.mu, g.rt, i + 1)
    c0[0], c1[0] = unit_start(g.n, g.nu, g.ct, j), unit_start(g.n, g.nu, g.ct, j + 1)


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


cdef Grid forward_grid(const Net* net, Py_ssize_t rows, bint single, int threads) noexcept nogil:
    """Row tiles of the forward pass: a tile goes through every layer."""
    cdef double widest
    return product_grid(rows, 1, 2.0 * rows * weights_per_row(net, &widest),
                        block_rows(single), 1, threads)


cdef Stage backward_stage(const Net* net, Py_ssize_t l, Py_ssize_t rows, bint single,
                          int threads) noexcept nogil:
    """Layer l's tiles: the weight gradient's (W's rows and columns, never the
    batch's rows: its sum runs over them), the delta's (l > 0; the batch's rows and
    layer l's units), the intercepts' gradient."""
    cdef Stage s
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    cdef Py_ssize_t mr = block_rows(single), nr = panel_width(single)
    cdef double flops = 2.0 * rows * n_in * n_out
    s.weights = product_grid(n_in, n_out, flops, mr, nr, threads)
    s.delta = product_grid(rows, n_in, flops, mr, nr, threads)
    if l == 0:
        s.delta.tiles = 0
    s.tasks = s.weights.tiles + s.delta.tiles + 1
    return s


cdef Py_ssize_t is_row_split(const Net* net, Py_ssize_t capacity) noexcept nogil:
    """Whether a network with batches of up to `capacity` rows trains row-split:
    every layer's weights small (in the first-level cache), and a batch's forward
    pass too small to split on its own (at most ROW_SPLIT_WORK tiles' work)."""
    cdef double widest
    cdef double weights = weights_per_row(net, &widest)
    return widest <= SMALL_LAYER and 2.0 * capacity * weights <= ROW_SPLIT_WORK * TILE_FLOPS


cdef Py_ssize_t row_split(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Row tiles of a row-split network's batch of `rows`: each takes its rows
    through the forward and the backward pass, leaving a partial gradient. Two
    tiles at most: each halves the inner size of the weight-gradient products, and
    their calls' fixed costs add up (measured on 2 cores: 20-64-1 with 200 rows
    ~10-25% faster than one); rows of at least SMALL_TILE_ROWS each, and work of at
    least TILE_FLOPS. A function of the shapes alone, as the summed gradient's bits
    depend on it."""
    cdef double widest
    cdef double work = 6.0 * rows * weights_per_row(net, &widest) / TILE_FLOPS
    cdef Py_ssize_t tiles = min(rows // SMALL_TILE_ROWS, <Py_ssize_t> work)
    return 2 if tiles >= ROW_SPLIT_TILES else 1


cdef Py_ssize_t tile_start(Py_ssize_t n, Py_ssize_t tiles, Py_ssize_t t) noexcept nogil:
    """First row of tile t of `tiles` balanced tiles over n rows."""
    return (t * n) // tiles


cdef Py_ssize_t param_tasks(const Net* net, bint single, int threads) noexcept nogil:
    """Tasks of a pass over the parameters (the optimizer's update, and W's panels
    written again): blocks of W's rows, layer by layer, then the intercepts; one
    task for a network of at most MIN_RANGE parameters. Every element is
    independent, so any split gives the same bits."""
    cdef Py_ssize_t l, tasks = 0
    if net.n_coefs <= MIN_RANGE:
        return 1
    for l in range(net.n_layers):
        tasks += row_blocks(net, l, single, threads)
    return tasks + 1


cdef Py_ssize_t row_blocks(const Net* net, Py_ssize_t l, bint single, int threads) noexcept nogil:
    """The blocks of W[l]'s rows in the pass over the parameters: its share of the
    team's tiles, of MIN_RANGE parameters at least and PARAM_RANGE at most, whole
    panels of rows."""
    cdef Py_ssize_t size = net.units[l] * net.units[l + 1]
    cdef Py_ssize_t blocks = (wanted_tiles(threads) * size + net.n_coefs - 1) // net.n_coefs
    blocks = max(blocks, (size + PARAM_RANGE - 1) // PARAM_RANGE)
    blocks = min(blocks, size // MIN_RANGE)
    return max(1, min(blocks, panels(net.units[l], panel_width(single))))


cdef void param_task(const Net* net, bint single, int threads, Py_ssize_t task,
                     Py_ssize_t* start, Py_ssize_t* stop) noexcept nogil:
    """The parameters params[start:stop] of task `task` (param_tasks): whole rows
    of one W, the first a multiple of the panel width; or the intercepts."""
    cdef Py_ssize_t l, blocks, n_out, nr = panel_width(single), f0, f1
    if net.n_coefs <= MIN_RANGE:
        start[0], stop[0] = 0, net.bias_off[net.n_layers - 1] + net.units[net.n_layers]
        return
    for l in range(net.n_layers):
        blocks = row_blocks(net, l, single, threads)
        if task < blocks:
            n_out = net.units[l + 1]
            f0, f1 = unit_start(net.units[l], nr, blocks, task), unit_start(net.units[l], nr, blocks, task + 1)
            start[0], stop[0] = net.coef_off[l] + f0 * n_out, net.coef_off[l] + f1 * n_out
            return
        task -= blocks
    start[0], stop[0] = net.n_coefs, net.bias_off[net.n_layers - 1] + net.units[net.n_layers]


cdef double batch_flops(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Multiply-adds x 2 of a batch's forward and backward pass."""
    cdef double widest
    return 6.0 * rows * weights_per_row(net, &widest)


cdef Py_ssize_t chunk_batches(const Net* net, Py_ssize_t batch_size) noexcept nogil:
    """Batches of a chunk: about CHUNK_FLOPS of work, one batch at least."""
    cdef double n = CHUNK_FLOPS / batch_flops(net, batch_size)
    return 1 if n < 1 else <Py_ssize_t> n


def tiling(Layout layout, Py_ssize_t rows, int threads, dtype=np.float64):
    """How a batch of `rows` rows is split for a team of `threads` (for the tests
    and bench/scaling_model.py): the forward pass's row tiles, each layer's
    backward tiles as (weight-gradient tiles, delta tiles), the tasks of the pass
    over the parameters, and the row tiles of a row-split batch (which replace the
    others when > 1)."""
    cdef Net net = layout.net
    cdef bint single = np.dtype(dtype) == np.float32
    cdef Py_ssize_t l
    cdef Stage s
    if not 1 <= rows <= net.capacity:
        raise ValueError(f"rows {rows} outside [1, {net.capacity}]")
    backward = []
    for l in range(net.n_layers):
        s = backward_stage(&net, l, rows, single, threads)
        backward.append((s.weights.tiles, s.delta.tiles))
    return {"forward": forward_grid(&net, rows, single, threads).tiles, "backward": backward,
            "params": param_tasks(&net, single, threads),
            "row_split": row_split(&net, rows) if is_row_split(&net, net.capacity) else 1}


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
