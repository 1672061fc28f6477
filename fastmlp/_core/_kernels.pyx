"""Thread count of the compiled core, the enums shared with Python, and a way for
tests to reach the core's matrix product."""
from cython cimport floating

from ._kernels cimport gemm, omp_get_max_threads

# The cpdef enums of _kernels.pxd (Activation, Loss) are exported from here.


def max_threads():
    """Threads OpenMP would use now: honours OMP_NUM_THREADS and threadpoolctl limits."""
    return omp_get_max_threads()


def matmul(const floating[:, :] A, const floating[:, :] B, floating[:, :] out):
    """out = A @ B through the core's `gemm`, for tests: one row of A takes the
    row-times-matrix loop (or BLAS's gemv), more rows BLAS's gemm. Each array's
    rows must be contiguous; B and out may be column slices of wider arrays."""
    cdef Py_ssize_t size = sizeof(floating)
    if A.shape[1] != B.shape[0] or out.shape[0] != A.shape[0] or out.shape[1] != B.shape[1]:
        raise ValueError("shapes do not match")
    if A.strides[1] != size or B.strides[1] != size or out.strides[1] != size:
        raise ValueError("rows must be contiguous")
    if min(A.shape[0], A.shape[1], B.shape[1]) == 0:
        raise ValueError("empty operand")
    with nogil:
        gemm(False, False, <int> A.shape[0], <int> B.shape[1], <int> A.shape[1],
             1, &A[0, 0], <int> (A.strides[0] // size), &B[0, 0], <int> (B.strides[0] // size),
             0, &out[0, 0], <int> (out.strides[0] // size))
