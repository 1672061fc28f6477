from cython cimport floating


cpdef enum Solver:
    SGD = 0
    ADAM = 1


cdef void sgd_step(
    floating* params,          # IN/OUT (n,)
    const floating* grads,     # IN (n,)
    floating* velocity,        # IN/OUT (n,)
    Py_ssize_t n, double learning_rate, double momentum, bint nesterov,
    int n_threads,
) noexcept nogil


cdef void adam_step(
    floating* params,          # IN/OUT (n,)
    const floating* grads,     # IN (n,)
    floating* m,               # IN/OUT (n,) first moment
    floating* v,               # IN/OUT (n,) second moment
    Py_ssize_t n, double step_size, double beta_1, double beta_2, double epsilon,
    int n_threads,
) noexcept nogil


cdef double adam_step_size(double learning_rate_init, double beta_1, double beta_2,
                           long t) noexcept nogil
