"""How many threads the compiled core may use, and BLAS held at one thread.

The count follows scikit-learn's convention for its own OpenMP estimators
(``sklearn.utils._openmp_helpers._openmp_effective_n_threads``): with
OMP_NUM_THREADS set, what OpenMP allows; otherwise what OpenMP allows now (so
threadpoolctl limits, and joblib's limits in its workers, apply) but no more than
the CPUs this process may use: its affinity mask, a container's CPU quota and
the physical cores (joblib's ``cpu_count``). How many of those threads each chunk
of work actually runs on is the compiled core's policy (``_core/_team.pyx``).

Inside the core's parallel work every BLAS call works on one tile, so BLAS itself
is held at one thread while the core runs.
"""
import os

from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from ._core._kernels import max_threads
from ._core._team import ThreadPolicy

_controller = None
_cpus = {}            # CPUs usable, by affinity mask (joblib's count costs ~0.3 ms)
_prediction_policy = ThreadPolicy(1)


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
    """The thread policy predictions share (its memory carries over from call to
    call), held to the threads allowed now."""
    _prediction_policy.limit(n_threads())
    return _prediction_policy


def blas_single_threaded():
    """Context manager holding every loaded BLAS at one thread."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
