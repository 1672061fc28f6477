"""Thread count of the compiled core, the enums shared with Python, and ways for
tests to reach the core's elementwise loops and a small network's products."""
from cython cimport floating

from ._kernels cimport (
    EXP,
    RELU,
    activation_backward,
    bias_activation,
    column_sums,
    omp_get_max_threads,
    outer_relu,
    rows_t_times,
    rows_times,
    sum_of_squares,
)

# The cpdef enums of _kernels.pxd (Activation, Loss) are exported from here.


def max_threads():
    """Threads OpenMP would use now: honours OMP_NUM_THREADS and threadpoolctl limits."""
    return omp_get_max_threads()


def sum_squares(const floating[::1] x):
    """x . x by the core's loop (the L2 penalty's), for tests."""
    return sum_of_squares(&x[0], x.shape[0]) if x.shape[0] else 0.0


def relu_layer(floating[:, ::1] z, const floating[::1] b):
    """z <- relu(z + b) in place, by the core's loop (for tests)."""
    if b.shape[0] != z.shape[1]:
        raise ValueError("shapes do not match")
    if z.shape[0] > 0 and z.shape[1] > 0:
        bias_activation(&z[0, 0], &b[0], z.shape[0], z.shape[1], RELU)


def activate(floating[:, ::1] z, const floating[::1] b, int kind):
    """z <- f(z + b) in place for the Activation `kind`, by the core's loop (for
    tests)."""
    if b.shape[0] != z.shape[1]:
        raise ValueError("shapes do not match")
    if not 0 <= kind <= EXP:
        raise ValueError(f"unknown activation {kind}")
    if z.shape[0] > 0 and z.shape[1] > 0:
        bias_activation(&z[0, 0], &b[0], z.shape[0], z.shape[1], kind)


def relu_delta(floating[::1] delta, const floating[::1] a):
    """delta <- delta * relu'(z) in place, a = relu(z), by the core's loop (for tests)."""
    if a.shape[0] != delta.shape[0]:
        raise ValueError("shapes do not match")
    if delta.shape[0] > 0:
        activation_backward(&delta[0], &a[0], delta.shape[0], RELU)


def column_sums_of(const floating[:, ::1] x, floating[::1] out):
    """out = x's column sums, row after row, by the core's loop (for tests)."""
    if out.shape[0] != x.shape[1]:
        raise ValueError("shapes do not match")
    if x.shape[1] > 0:
        column_sums(&x[0, 0], 0, x.shape[0], x.shape[1], &out[0])


def relu_outer(const floating[::1] x, const floating[::1] y, const floating[:, ::1] a,
               floating[:, ::1] out):
    """out = where(a != 0, outer(x, y), 0) by the core's fused loop (for tests)."""
    if a.shape[0] != x.shape[0] or a.shape[1] != y.shape[0] or \
            out.shape[0] != a.shape[0] or out.shape[1] != a.shape[1]:
        raise ValueError("shapes do not match")
    if a.shape[0] > 0 and a.shape[1] > 0:
        outer_relu(&x[0], &y[0], &a[0, 0], a.shape[0], a.shape[1], &out[0, 0])


def small_product(const floating[:, ::1] A, const Py_ssize_t[::1] rows,
                  const floating[:, ::1] B, floating[:, ::1] out, bint trans_a=False,
                  const floating[::1] relu_bias=None):
    """For tests, a small network's products (csrc/fastmlp_small.h) on the rows
    A[rows] read in place: out = A[rows] @ B, or with trans_a out = A[rows].T @ B;
    with relu_bias (not trans_a, B of more than one column) relu(A[rows] @ B + b)."""
    cdef Py_ssize_t m = rows.shape[0], k = A.shape[1], n = B.shape[1], i
    cdef const floating* b = NULL
    if (B.shape[0] != (m if trans_a else k) or out.shape[0] != (k if trans_a else m)
            or out.shape[1] != n):
        raise ValueError("shapes do not match")
    if relu_bias is not None:
        if trans_a or n == 1 or relu_bias.shape[0] != n:
            raise ValueError("shapes do not match")
        b = &relu_bias[0]
    for i in range(m):
        if not 0 <= rows[i] < A.shape[0]:
            raise ValueError("row index out of range")
    if min(m, n, k) == 0:
        raise ValueError("empty operand")
    with nogil:
        if trans_a:
            rows_t_times(&A[0, 0], k, &rows[0], m, k, &B[0, 0], n, &out[0, 0])
        else:
            rows_times(&A[0, 0], k, &rows[0], m, k, &B[0, 0], n, b, &out[0, 0])
