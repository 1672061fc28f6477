# The per-element kernels of the compiled core, and the row-major GEMM.
#
# Each activation's forward formula sits beside its derivative. Derivatives are
# written in terms of the activation's *output* a = f(z), as scikit-learn's
# `sklearn/neural_network/_base.py` writes them, and applied to the
# backpropagated error in place: delta <- delta * f'(z).
#
# Everything here is `inline noexcept nogil`, holds no Python object and is
# compiled into each module that cimports it, as are the C loops it calls:
# csrc/fastmlp_elementwise.h (relu, column sums, outer products, vectorised for the
# CPU at load time), csrc/fastmlp_small.h (a small network's products, without BLAS)
# and csrc/fastmlp_rowvec.h (one row times a matrix, AVX-512).

from cython cimport floating
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport log, tanh, tanhf
from scipy.linalg.cython_blas cimport ddot, dgemm, dgemv, sdot, sgemm, sgemv


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
    void fastmlp_outer_float(const float* x, Py_ssize_t sx, const float* y, Py_ssize_t sy,
                             Py_ssize_t m, Py_ssize_t n, float* c, Py_ssize_t ldc) noexcept nogil
    void fastmlp_outer_double(const double* x, Py_ssize_t sx, const double* y,
                              Py_ssize_t sy, Py_ssize_t m, Py_ssize_t n, double* c,
                              Py_ssize_t ldc) noexcept nogil
    void fastmlp_prefetch(const void* p, size_t bytes) noexcept nogil
    void fastmlp_outer_relu_float(const float* x, const float* y, const float* a,
                                  Py_ssize_t m, Py_ssize_t n, float* c) noexcept nogil
    void fastmlp_outer_relu_double(const double* x, const double* y, const double* a,
                                   Py_ssize_t m, Py_ssize_t n, double* c) noexcept nogil


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


cdef extern from "fastmlp_rowvec.h":
    int fastmlp_row_times_matrix_float(const float* a, const float* B, int ldb, float* c,
                                       int k, int n) noexcept nogil
    int fastmlp_row_times_matrix_double(const double* a, const double* B, int ldb,
                                        double* c, int k, int n) noexcept nogil


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


# ---------------------------------------------------------------------------
# Row-major GEMM through SciPy's BLAS
# ---------------------------------------------------------------------------

cdef inline bint row_times_matrix(const floating* a, const floating* B, int ldb,
                                  floating* c, int k, int n) noexcept nogil:
    """c[0:n] = a[0:k] @ B[0:k, 0:n] by csrc/fastmlp_rowvec.h's loop; False (c not
    written) where the CPU has no AVX-512."""
    if floating is float:
        return fastmlp_row_times_matrix_float(a, B, ldb, c, k, n)
    else:
        return fastmlp_row_times_matrix_double(a, B, ldb, c, k, n)


cdef inline void gemv(char trans, int rows, int cols, floating alpha,
                      const floating* a, int lda, const floating* x, int incx,
                      floating beta, floating* y, int incy) noexcept nogil:
    """y = alpha op(A) x + beta y for column-major A of shape (rows, cols): BLAS's
    gemv in the dtype at hand."""
    if floating is float:
        sgemv(&trans, &rows, &cols, &alpha, <float*> a, &lda, <float*> x, &incx,
              &beta, y, &incy)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double*> a, &lda, <double*> x, &incx,
              &beta, y, &incy)


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb, floating beta,
                      floating* c, int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C for row-major C of shape (m, n).

    A row-major matrix is the transpose of a column-major one, so this is the
    column-major C^T = op(B)^T op(A)^T: swap the operands and the sizes.

    Three shapes of the small networks take loops of our own, where BLAS's fixed
    cost per call is most of the work: an inner size of 1 (the delta before a
    one-unit output layer) is an outer product (csrc/fastmlp_elementwise.h); a
    single row times B (m == 1, a one-row prediction) and A^T times one column (the
    weight gradient of a one-unit output layer) are a row times a matrix, which our
    AVX-512 loop reads once (csrc/fastmlp_rowvec.h). Otherwise a product with one
    row or one column (the forward product into a one-unit layer) is BLAS's gemv,
    which has no packing to pay for.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef char t_at = b'N' if trans_a else b'T'     # op(A) as an op of column-major A^T
    if alpha == 1 and beta == 0:
        if k == 1:             # outer product of A's column and B's row
            if floating is float:
                fastmlp_outer_float(a, 1 if trans_a else lda, b, ldb if trans_b else 1,
                                    m, n, c, ldc)
            else:
                fastmlp_outer_double(a, 1 if trans_a else lda, b, ldb if trans_b else 1,
                                     m, n, c, ldc)
            return
        if m == 1 and not trans_a and not trans_b:      # a row times B
            if row_times_matrix(a, b, ldb, c, k, n):
                return
        if n == 1 and trans_a and not trans_b and ldb == 1 and ldc == 1:
            # A^T b = (b^T A)^T: the column b, read as a row, times A
            if row_times_matrix(b, a, lda, c, k, m):
                return
    if m == 1 and not trans_a:
        # c^T = op(B)^T a^T: row-major B is column-major B^T of shape (cols, rows)
        gemv(tb, n if not trans_b else k, k if not trans_b else n, alpha, b, ldb,
             a, 1, beta, c, 1)
        return
    if n == 1:
        # c = op(A) b: row-major A is column-major A^T (so op(A) is A^T's transpose
        # unless trans_a); b is a column of stride ldb, or a row when B is transposed
        gemv(t_at, m if trans_a else k, k if trans_a else m,
             alpha, a, lda, b, 1 if trans_b else ldb, beta, c, ldc)
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)


cdef inline double sum_of_squares(const floating* x, int n) noexcept nogil:
    """x . x through BLAS's dot, in x's precision as NumPy's np.dot(s, s)."""
    cdef int one = 1
    if floating is float:
        return sdot(&n, <float*> x, &one, <float*> x, &one)
    else:
        return ddot(&n, <double*> x, &one, <double*> x, &one)
