"""Parameter updates on the flat parameter buffer, one loop per optimizer.

Both follow scikit-learn's `_stochastic_optimizers.py` operation for operation,
including where it rounds: for float32 parameters the hyper-parameters are cast
to float32 (NumPy treats Python floats as weak scalars), and Adam's step size is
a float64 scalar, so its update is formed in float64 and added in float64 before
the cast back. Every element is independent: any split of the buffer into ranges
(see _team.param_ranges) gives the same bits.
"""
from cython cimport floating
from libc.math cimport pow, sqrt, sqrtf


cdef inline void sgd_step(
    floating* params, const floating* grads, floating* velocity,
    Py_ssize_t n, double learning_rate, double momentum, bint nesterov,
) noexcept nogil:
    """v <- momentum v - lr g; params += momentum v - lr g (Nesterov) or v (classical)."""
    cdef floating mu = <floating> momentum, lr = <floating> learning_rate, vel
    cdef Py_ssize_t i
    for i in range(n):
        vel = mu * velocity[i] - lr * grads[i]
        velocity[i] = vel
        params[i] += (mu * vel - lr * grads[i]) if nesterov else vel


cdef inline double adam_step_size(double learning_rate_init, double beta_1, double beta_2,
                                  long t) noexcept nogil:
    """lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t): the bias corrections folded in."""
    return learning_rate_init * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t))


cdef inline void adam_step(
    floating* params, const floating* grads, floating* m, floating* v,
    Py_ssize_t n, double step_size, double beta_1, double beta_2, double epsilon,
) noexcept nogil:
    """m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    params += -lr_t m / (sqrt(v) + eps), eps added to the uncorrected sqrt(v)."""
    cdef floating b1 = <floating> beta_1, c1 = <floating> (1 - beta_1)
    cdef floating b2 = <floating> beta_2, c2 = <floating> (1 - beta_2)
    cdef floating eps = <floating> epsilon
    cdef floating mi, vi, root
    cdef Py_ssize_t i
    for i in range(n):
        mi = b1 * m[i] + c1 * grads[i]
        vi = b2 * v[i] + c2 * (grads[i] * grads[i])
        m[i] = mi
        v[i] = vi
        # float: sqrtf is the double sqrt rounded to float (53 >= 2 x 24 + 2 bits),
        # NumPy's float32 np.sqrt, at a few times the speed
        root = (sqrtf(vi) if floating is float else sqrt(vi)) + eps
        params[i] = <floating> (params[i] + (-step_size * mi) / root)


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
