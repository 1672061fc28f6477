"""Parameter updates on the flat parameter buffer, one loop per optimizer.

Both follow scikit-learn's `_stochastic_optimizers.py` operation for operation,
including where it rounds: for float32 parameters the hyper-parameters are cast
to float32 (NumPy treats Python floats as weak scalars), and Adam's step size is
a float64 scalar, so its update is formed in float64 and added in float64 before
the cast back. The loops are in csrc/fastmlp_updates.h, built for AVX-512, AVX2
and the baseline with the same operations in each. Every element is independent:
any split of the buffer into ranges (see _team.param_ranges) gives the same bits.
"""
from cython cimport floating
from libc.math cimport pow, sqrt


cdef extern from "fastmlp_updates.h":
    void fastmlp_sgd_float(float* params, const float* grads, float* velocity,
                           Py_ssize_t n, float lr, float mu, int nesterov) noexcept nogil
    void fastmlp_sgd_double(double* params, const double* grads, double* velocity,
                            Py_ssize_t n, double lr, double mu, int nesterov) noexcept nogil
    void fastmlp_adam_float(float* params, const float* grads, float* m, float* v,
                            Py_ssize_t n, double step_size, float b1, float c1, float b2,
                            float c2, float eps) noexcept nogil
    void fastmlp_adam_double(double* params, const double* grads, double* m, double* v,
                             Py_ssize_t n, double step_size, double b1, double c1,
                             double b2, double c2, double eps) noexcept nogil


cdef inline void sgd_step(
    floating* params, const floating* grads, floating* velocity,
    Py_ssize_t n, double learning_rate, double momentum, bint nesterov,
) noexcept nogil:
    """v <- momentum v - lr g; params += momentum v - lr g (Nesterov) or v (classical):
    csrc/fastmlp_updates.h, with the hyper-parameters in the parameters' dtype."""
    if floating is float:
        fastmlp_sgd_float(params, grads, velocity, n, <float> learning_rate,
                          <float> momentum, nesterov)
    else:
        fastmlp_sgd_double(params, grads, velocity, n, learning_rate, momentum, nesterov)


cdef inline double adam_step_size(double learning_rate_init, double beta_1, double beta_2,
                                  long t) noexcept nogil:
    """lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t): the bias corrections folded in."""
    return learning_rate_init * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t))


cdef inline void adam_step(
    floating* params, const floating* grads, floating* m, floating* v,
    Py_ssize_t n, double step_size, double beta_1, double beta_2, double epsilon,
) noexcept nogil:
    """m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    params += -lr_t m / (sqrt(v) + eps): csrc/fastmlp_updates.h, with b1, 1 - b1,
    b2, 1 - b2 and eps in the parameters' dtype and lr_t a double."""
    if floating is float:
        fastmlp_adam_float(params, grads, m, v, n, step_size, <float> beta_1,
                           <float> (1 - beta_1), <float> beta_2, <float> (1 - beta_2),
                           <float> epsilon)
    else:
        fastmlp_adam_double(params, grads, m, v, n, step_size, beta_1, 1 - beta_1,
                            beta_2, 1 - beta_2, epsilon)


cdef void update_range(const Step* step, long t, floating* params, const floating* grads,
                       Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """The optimizer's update of params[start:stop]."""
    cdef floating* s1 = <floating*> step.state1 + start
    if step.kind == SGD:
        sgd_step(params + start, grads + start, s1, stop - start,
                 step.learning_rate, step.momentum, step.nesterov)
    else:
        adam_step(params + start, grads + start, s1, <floating*> step.state2 + start,
                  stop - start, adam_step_size(step.learning_rate, step.beta_1,
                                               step.beta_2, t),
                  step.beta_1, step.beta_2, step.epsilon)
