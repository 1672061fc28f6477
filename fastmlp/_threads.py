"""How many threads the compiled core may use, and BLAS held at one thread for lbfgs.

The count follows scikit-learn's convention for its own OpenMP estimators
(``sklearn.utils._openmp_helpers._openmp_effective_n_threads``): with
OMP_NUM_THREADS set, what OpenMP allows; otherwise what OpenMP allows now (so
threadpoolctl limits, and joblib's limits in its workers, apply) but no more than
the CPUs this process may use: its affinity mask, a container's CPU quota and
the physical cores (joblib's ``cpu_count``). How many of those threads each chunk
of work actually runs on is the compiled core's policy (``_core/_team.pyx``).

The core's products are its own (no BLAS). SciPy's L-BFGS-B works on the
parameter vector with BLAS, whose threads would round its sums differently, so an
lbfgs fit holds BLAS at one thread (``blas_single_threaded``). BLAS's thread count
is the process's, shared by every Python thread: the holds are counted, so that
calls from several threads at once all run with BLAS on one thread and leave it
with the threads it had.
"""
import os
import threading

from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from ._core._kernels import max_threads
from ._core._team import ThreadPolicy

_cpus = {}            # CPUs usable, by affinity mask (joblib's count costs ~0.3 ms)
_predicting = threading.local()     # each Python thread's policy for its predictions


def usable_cpus():
    """The CPUs this process may use: joblib's cpu_count (affinity, CPU quota,
    physical cores), computed again whenever the affinity mask has changed."""
    mask = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if mask not in _cpus:
        _cpus[mask] = cpu_count(only_physical_cores=True)
    return _cpus[mask]


def n_threads():
    """Threads the compiled core may use now."""
    if os.environ.get("OMP_NUM_THREADS"):
        return max(1, max_threads())
    return max(1, min(max_threads(), usable_cpus()))


def fit_policy():
    """A thread policy for one fit: it learns, chunk by chunk, whether its threads
    find free CPUs."""
    return ThreadPolicy(n_threads())


def prediction_policy():
    """The calling thread's policy for its predictions (its memory carries over from
    call to call), held to the threads allowed now. One per Python thread: an
    OpenMP limit is the calling thread's, and a policy is not made to be updated by
    several threads at once."""
    policy = getattr(_predicting, "policy", None)
    if policy is None:
        policy = _predicting.policy = ThreadPolicy(1)
    policy.limit(n_threads())
    return policy


class BlasHold:
    """A context manager holding every loaded BLAS at one thread; holds nest, and
    may be taken by several Python threads at once.

    A BLAS's thread count belongs to the whole process (OpenBLAS's pthreads pool,
    MKL, BLIS), so the holds are counted for the whole process: the first to begin
    sets each BLAS to one thread and keeps the count it found, the last to end sets
    it back. (Holds that each set one thread and put back what they found, as
    threadpoolctl's ``limit`` does, go wrong when they overlap in two threads: the
    first to end gives BLAS its threads back while the other still runs the core,
    and the last to end puts back the one thread it found, for good.) OpenBLAS built
    with OpenMP keeps a count per thread (threadpoolctl sets it with
    omp_set_num_threads): there, each thread's outermost hold sets its own.

    Parameters
    ----------
    libraries : callable, optional
        For tests: returns the BLAS controllers to hold, as blas_libraries() does.
    """

    def __init__(self, libraries=None):
        self._find_libraries = blas_libraries if libraries is None else libraries
        self._libraries = None   # (the process's, the per-thread) BLAS controllers
        self._lock = threading.Lock()
        self._holds = 0          # in force, in every thread together
        self._restore = {}       # library -> the thread count to set back
        self._local = threading.local()     # this thread's holds, and its own counts
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def __enter__(self):
        with self._lock:
            if self._libraries is None:
                self._libraries = self._find_libraries()
            if self._holds == 0:
                hold_at_one(self._libraries[0], self._restore, process_wide=True)
            self._holds += 1
        local = self._local
        if not getattr(local, "holds", 0):
            local.holds, local.restore = 0, {}
            hold_at_one(self._libraries[1], local.restore, process_wide=False)
        local.holds += 1
        return self

    def __exit__(self, *exc_info):
        local = self._local
        local.holds -= 1
        if local.holds == 0:
            set_threads(local.restore, process_wide=False)
            local.restore.clear()
        with self._lock:
            self._holds -= 1
            if self._holds == 0:
                set_threads(self._restore, process_wide=True)
                self._restore.clear()

    def _after_fork(self):
        """In a child process only the thread that forked goes on: its holds are
        the ones in force (and the lock, which another thread may have held at the
        fork, is a new one). The counts to set back stay: the child's last hold to
        end sets them back."""
        self._lock = threading.Lock()
        self._holds = getattr(self._local, "holds", 0)


def blas_libraries():
    """threadpoolctl's controllers of the BLAS loaded now, as (those whose thread
    count is the process's, those whose count is each thread's own)."""
    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    return [lib for lib in blas if not per_thread(lib)], [lib for lib in blas if per_thread(lib)]


def per_thread(lib):
    """Whether a BLAS keeps a thread count per thread: OpenBLAS built with OpenMP."""
    return lib.internal_api == "openblas" and getattr(lib, "threading_layer", None) == "openmp"


def hold_at_one(libraries, restore, process_wide):
    """Set each of the libraries that has several threads to one, noting in
    `restore` the count it had."""
    counts = {lib: lib.get_num_threads() for lib in libraries}
    changed = {lib: threads for lib, threads in counts.items() if threads not in (None, 1)}
    set_threads(dict.fromkeys(changed, 1), process_wide)
    restore.update(changed)


def set_threads(counts, process_wide):
    """Set each library of `counts` ({library: threads}) to its count, from
    whichever thread calls. threadpoolctl 3.8 lets one thread at a time set
    OpenBLAS's process-wide pool and silently ignores the others, but the thread
    that ends the last hold need not be the one that began the first: so a call on
    process-wide libraries takes control of the pool and gives it back."""
    if not counts:
        return
    release = None      # (a class method: OpenBLAS's pools have one controlling thread)
    if process_wide:
        release = next((lib.clear_controlling_thread for lib in counts
                        if hasattr(lib, "clear_controlling_thread")), None)
    if release is not None:
        release(force=True)
    for lib, threads in counts.items():
        lib.set_num_threads(threads)
    if release is not None:
        release()


_blas_hold = BlasHold()


def blas_single_threaded():
    """Context manager holding every loaded BLAS at one thread (one BlasHold for
    the whole process)."""
    return _blas_hold
