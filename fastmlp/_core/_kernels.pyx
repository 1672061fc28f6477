"""Thread count of the compiled core, and the enums shared with Python."""
from ._kernels cimport omp_get_max_threads

# The cpdef enums of _kernels.pxd (Activation, Loss) are exported from here.


def max_threads():
    """Threads OpenMP would use now: honours OMP_NUM_THREADS and threadpoolctl limits."""
    return omp_get_max_threads()
