"""Thread count of the compiled core, and the enums shared with Python."""
from ._kernels cimport FASTMLP_HAVE_OPENMP, omp_get_max_threads

# The cpdef enums of _kernels.pxd (Activation, Loss) are exported from here.


def openmp_enabled():
    """Whether the core was built with OpenMP."""
    return bool(FASTMLP_HAVE_OPENMP)


def max_threads():
    """Threads OpenMP would use now: honours OMP_NUM_THREADS and threadpoolctl limits."""
    return omp_get_max_threads()
