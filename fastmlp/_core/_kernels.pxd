# The per-element kernels of the compiled core and the loops over them.
#
# Each activation's forward formula sits beside its derivative. Derivatives are
# written in terms of the activation's *output* a = f(z), as scikit-learn's
# `sklearn/neural_network/_base.py` writes them, and applied to the
# backpropagated error in place: delta <- delta * f'(z).
#
# Everything here is `inline noexcept nogil`, holds no Python object and is
# compiled into each module that cimports it, as are the C loops it calls:
# csrc/fastmlp_elementwise.h (relu, column sums, outer products, the sum of
# squares, vectorised for the CPU at load time) and csrc/fastmlp_small.h (a small
# network's products). The other products are the engine's (_engine.pxd).

from cython cimport floating
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport log, tanh, tanhf


cdef extern from "fastmlp_openmp.h":
    int omp_get_max_threads() noexcept nogil


cdef extern from "fastmlp_elementwise.h":
    void fastmlp_bias_relu_float(float* z, const float* b, Py_ssize_t rows,
                                 Py_ssize_t n) noexcept nogil
    void fastmlp_bias_relu_double(double* z, const double* b, Py_ssize_t rows,
                                  Py_ssize_t n) noexcept nogil
    void fastmlp_relu_backward_float(float* delta, const float* a,
                                     Py_ssize_t size) noexcept nogil
    void fastmlp_relu_backward_double(double* delta, const double* a,
                                      Py_ssize_t size) noexcept nogil
    void fastmlp_column_sums_float(const float* x, Py_ssize_t rows, Py_ssize_t n,
                                   float* out) noexcept nogil
    void fastmlp_column_sums_double(const double* x, Py_ssize_t rows, Py_ssize_t n,
                                    double* out) noexcept nogil
    void fastmlp_prefetch(const void* p, size_t bytes) noexcept nogil
    void fastmlp_outer_relu_float(const float* x, const float* y, const float* a,
                                  Py_ssize_t m, Py_ssize_t n, float* c) noexcept nogil
    void fastmlp_outer_relu_double(const double* x, const double* y, const double* a,
                                   Py_ssize_t m, Py_ssize_t n, double* c) noexcept nogil
    double fastmlp_sum_squares_float(const float* x, Py_ssize_t n) noexcept nogil
    double fastmlp_sum_squares_double(const double* x, Py_ssize_t n) noexcept nogil


cdef extern from "fastmlp_small.h":
    void fastmlp_rows_times_float(const float* a, Py_ssize_t lda, const Py_ssize_t* idx,
                                  Py_ssize_t m, Py_ssize_t k, const float* w, Py_ssize_t n,
                                  const float* b, float* out) noexcept nogil
    void fastmlp_rows_times_double(const double* a, Py_ssize_t lda, const Py_ssize_t* idx,
                                   Py_ssize_t m, Py_ssize_t k, const double* w, Py_ssize_t n,
                                   const double* b, double* out) noexcept nogil
    void fastmlp_rows_t_times_float(const float* a, Py_ssize_t lda, const Py_ssize_t* idx,
                                    Py_ssize_t m, Py_ssize_t k, const float* d, Py_ssize_t n,
                                    float* g) noexcept nogil
    void fastmlp_rows_t_times_double(const double* a, Py_ssize_t lda, const Py_ssize_t* idx,
                                     Py_ssize_t m, Py_ssize_t k, const double* d,
                                     Py_ssize_t n, double* g) noexcept nogil


cdef extern from "fastmlp_exp.h":
    void fastmlp_bias_exp_float(float* z, const float* b, Py_ssize_t rows,
                                Py_ssize_t n) noexcept nogil
    void fastmlp_bias_exp_double(double* z, const double* b, Py_ssize_t rows,
                                 Py_ssize_t n) noexcept nogil
    void fastmlp_bias_logistic_float(float* z, const float* b, Py_ssize_t rows,
                                     Py_ssize_t n) noexcept nogil
    void fastmlp_bias_logistic_double(double* z, const double* b, Py_ssize_t rows,
                                      Py_ssize_t n) noexcept nogil
    void fastmlp_bias_softmax_float(float* z, const float* b, Py_ssize_t rows,
                                    Py_ssize_t n) noexcept nogil
    void fastmlp_bias_softmax_double(double* z, const double* b, Py_ssize_t rows,
                                     Py_ssize_t n) noexcept nogil


cpdef enum Activation:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3
    SOFTMAX = 4     # output layer only (multiclass)
    EXP = 5         # output layer only (Poisson)


cpdef enum Loss:
    SQUARED_ERROR = 0    # identity output
    LOG_LOSS = 1         # softmax output, multiclass
    BINARY_LOG_LOSS = 2  # logistic output, binary and multilabel
    POISSON = 3          # exp output, half Poisson deviance


# ---------------------------------------------------------------------------
# Activations: forward and derivative side by side
# ---------------------------------------------------------------------------

# logistic (sigmoid): a = 1 / (1 + exp(-z));  da/dz = a (1 - a). The forward loop is
# csrc/fastmlp_exp.h's fastmlp_bias_logistic, with an exp the compiler vectorises.
cdef inline floating logistic_backward(floating a, floating delta) noexcept nogil:
    return delta * a * (1 - a)


# tanh: a = tanh(z);  da/dz = 1 - a^2
cdef inline floating tanh_(floating z) noexcept nogil:
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)

cdef inline floating tanh_backward(floating a, floating delta) noexcept nogil:
    return delta * (1 - a * a)


# relu: a = max(z, 0);  da/dz = 0 where a == 0, else 1 (scikit-learn's convention).
# Both are written, with their loops, in csrc/fastmlp_elementwise.h (vectorised for
# the CPU it runs on): fastmlp_bias_relu and fastmlp_relu_backward. A NaN stays NaN,
# as np.maximum keeps it, so divergence stays visible.


# identity: a = z;  da/dz = 1.  exp (Poisson output): a = exp(z), and softmax
# (multiclass output): a_j = exp(z_j) / sum_k exp(z_k); their loops are in
# csrc/fastmlp_exp.h. The derivatives of the output activations never run: with
# their losses the output delta is a - y (below).


# ---------------------------------------------------------------------------
# Losses of one sample, in double. The output delta of every pair used here
# (softmax + log-loss, logistic + binary log-loss, identity + squared error,
# exp + Poisson deviance) is the canonical-link one: d loss / dz = a - y.
# ---------------------------------------------------------------------------

cdef inline double xlogy(double x, double y) noexcept nogil:
    """x * log(y), with 0 where x == 0 unless y is NaN (scipy.special.xlogy)."""
    return 0.0 if x == 0 and y == y else x * log(y)


cdef inline double clip(double p, double eps) noexcept nogil:
    """Clip a probability to [eps, 1 - eps] as scikit-learn's log_loss does."""
    return eps if p < eps else (1 - eps if p > 1 - eps else p)


cdef inline double sample_loss(const floating* a, const floating* y, Py_ssize_t n,
                               int loss) noexcept nogil:
    """Loss of one sample: a = network output, y = target, both of length n."""
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double s = 0.0, p
    cdef Py_ssize_t k
    if loss == SQUARED_ERROR:          # 0.5 * mean_k (y - a)^2
        for k in range(n):
            s += (<double>y[k] - a[k]) * (<double>y[k] - a[k])
        return 0.5 * s / n
    if loss == LOG_LOSS:               # -sum_k y log p
        for k in range(n):
            s -= xlogy(y[k], clip(a[k], eps))
        return s
    if loss == BINARY_LOG_LOSS:        # -sum_k y log p + (1 - y) log(1 - p)
        for k in range(n):
            p = clip(a[k], eps)
            s -= xlogy(y[k], p) + xlogy(1.0 - y[k], 1.0 - p)
        return s
    for k in range(n):                 # POISSON: sum_k y log(y / a) - y + a
        s += xlogy(y[k], y[k] / <double>a[k]) - y[k] + a[k]
    return s


# ---------------------------------------------------------------------------
# Array loops over the per-element kernels
# ---------------------------------------------------------------------------

cdef inline void bias_activation(floating* z, const floating* b, Py_ssize_t rows,
                                 Py_ssize_t n, int kind) noexcept nogil:
    """z <- f(z + b) over a row-major block of shape (rows, n); b has length n."""
    cdef Py_ssize_t r, j
    cdef floating* row
    if kind == RELU:                   # csrc/fastmlp_elementwise.h, vectorised
        if floating is float:
            fastmlp_bias_relu_float(z, b, rows, n)
        else:
            fastmlp_bias_relu_double(z, b, rows, n)
    elif kind == LOGISTIC:             # csrc/fastmlp_exp.h, vectorised
        if floating is float:
            fastmlp_bias_logistic_float(z, b, rows, n)
        else:
            fastmlp_bias_logistic_double(z, b, rows, n)
    elif kind == SOFTMAX:              # rows shifted by their max, as scikit-learn
        if floating is float:
            fastmlp_bias_softmax_float(z, b, rows, n)
        else:
            fastmlp_bias_softmax_double(z, b, rows, n)
    elif kind == EXP:
        if floating is float:
            fastmlp_bias_exp_float(z, b, rows, n)
        else:
            fastmlp_bias_exp_double(z, b, rows, n)
    else:
        for r in range(rows):
            row = z + r * n
            if kind == TANH:
                for j in range(n):
                    row[j] = tanh_(row[j] + b[j])
            else:                      # IDENTITY
                for j in range(n):
                    row[j] = row[j] + b[j]


cdef inline void activation_backward(floating* delta, const floating* a,
                                     Py_ssize_t size, int kind) noexcept nogil:
    """delta <- delta * f'(z), elementwise over `size` values, a = f(z)."""
    cdef Py_ssize_t i
    if kind == RELU:                   # csrc/fastmlp_elementwise.h, vectorised
        if floating is float:
            fastmlp_relu_backward_float(delta, a, size)
        else:
            fastmlp_relu_backward_double(delta, a, size)
    elif kind == TANH:
        for i in range(size):
            delta[i] = tanh_backward(a[i], delta[i])
    elif kind == LOGISTIC:
        for i in range(size):
            delta[i] = logistic_backward(a[i], delta[i])
    # IDENTITY: derivative 1, nothing to do


cdef inline void column_sums(const floating* delta, Py_ssize_t r0, Py_ssize_t r1,
                             Py_ssize_t n, floating* out) noexcept nogil:
    """out[k] = sum of delta[r, k] over rows r0..r1 of a (rows, n) block, row after row:
    the derivative of the affine layer's loss with respect to its intercept b."""
    if floating is float:
        fastmlp_column_sums_float(delta + r0 * n, r1 - r0, n, out)
    else:
        fastmlp_column_sums_double(delta + r0 * n, r1 - r0, n, out)


cdef inline void outer_relu(const floating* x, const floating* y, const floating* a,
                            Py_ssize_t m, Py_ssize_t n, floating* c) noexcept nogil:
    """c[i, j] = x[i] y[j] where a[i, j] != 0, else 0; a and c (m, n) row-major: the
    delta of a relu layer feeding a one-unit layer, the outer product through relu's
    mask in one pass."""
    if floating is float:
        fastmlp_outer_relu_float(x, y, a, m, n, c)
    else:
        fastmlp_outer_relu_double(x, y, a, m, n, c)


cdef inline void rows_times(const floating* a, Py_ssize_t lda, const Py_ssize_t* idx,
                            Py_ssize_t m, Py_ssize_t k, const floating* w, Py_ssize_t n,
                            const floating* b, floating* out) noexcept nogil:
    """out (m, n) = A @ W for a small W (k, n): A's row i at a + (idx[i] or i) * lda,
    rows of X read in place (csrc/fastmlp_small.h). With b (n > 1): relu(A @ W + b)
    in the same pass, as bias_activation(RELU) would give it."""
    if floating is float:
        fastmlp_rows_times_float(a, lda, idx, m, k, w, n, b, out)
    else:
        fastmlp_rows_times_double(a, lda, idx, m, k, w, n, b, out)


cdef inline void rows_t_times(const floating* a, Py_ssize_t lda, const Py_ssize_t* idx,
                              Py_ssize_t m, Py_ssize_t k, const floating* d, Py_ssize_t n,
                              floating* g) noexcept nogil:
    """g (k, n) = A.T @ D, D (m, n), A's rows as rows_times reads them: the weight
    gradient of an affine layer summed over a small tile's rows, in their order."""
    if floating is float:
        fastmlp_rows_t_times_float(a, lda, idx, m, k, d, n, g)
    else:
        fastmlp_rows_t_times_double(a, lda, idx, m, k, d, n, g)


cdef inline double sum_of_squares(const floating* x, Py_ssize_t n) noexcept nogil:
    """x . x, summed in double in a fixed order (csrc/fastmlp_elementwise.h)."""
    if floating is float:
        return fastmlp_sum_squares_float(x, n)
    else:
        return fastmlp_sum_squares_double(x, n)
