from cython cimport floating


cpdef enum Solver:
    SGD = 0
    ADAM = 1


cdef struct Step:
    # The optimizer's update after each batch, as the kernels read it
    int kind                     # Solver
    double learning_rate, momentum
    bint nesterov
    double beta_1, beta_2, epsilon
    void* state1                 # (n_params,) SGD's velocity or Adam's first moment
    void* state2                 # (n_params,) Adam's second moment, or NULL


cdef void update_range(
    const Step* step,
    long t,                      # Adam: the step count of this update (1, 2, ...)
    floating* params,            # IN/OUT (n_params,)
    const floating* grads,       # IN (n_params,)
    Py_ssize_t start, Py_ssize_t stop,
) noexcept nogil
