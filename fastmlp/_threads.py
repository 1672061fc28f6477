"""Thread control that fits the ecosystem.

The core runs on as many threads as OpenMP allows now, so it honours
OMP_NUM_THREADS and threadpoolctl limits (and so joblib's limits in its
workers). Inside our own parallel regions every BLAS call works on one tile,
so BLAS itself is held at one thread while the core runs.
"""
from threadpoolctl import ThreadpoolController

from ._core._kernels import max_threads

_controller = None


def n_threads():
    """Threads the compiled core may use now."""
    return max(1, max_threads())


def blas_single_threaded():
    """Context manager holding every loaded BLAS at one thread."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
