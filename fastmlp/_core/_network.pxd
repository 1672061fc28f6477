from cython cimport floating

from ._layout cimport Input, Net


cdef double batch_loss_grad(
    const Net* net,
    const floating* params,          # IN (n_params,)
    floating* grads,                 # OUT (n_params,)
    const Input* X,                  # IN (n_samples, n_features)
    const floating* y,               # IN (n_samples, n_outputs) C-ordered
    const floating* sw,              # IN (n_samples,) or NULL
    const Py_ssize_t* idx,           # IN (rows,) sample indices, or NULL for 0..rows-1
    Py_ssize_t rows,
    floating* acts,                  # work
    floating* deltas,                # work
    double* row_loss,                # work
    floating* partial,               # work: ROW_SPLIT_TILES x n_params, or NULL
) noexcept nogil


cdef void forward(
    const Net* net,
    const floating* params,          # IN
    const Input* X,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t rows,
    floating* acts,                  # OUT activations of every layer
    floating* deltas,                # OUT output delta (when y is not NULL)
    double* row_loss,                # OUT weighted loss per row (when y is not NULL)
    char* nonfinite,                 # OUT (MAX_TILES,) per row tile: input not finite; or NULL
) noexcept nogil


cdef floating* partial_buffer(floating[::1] partial, Py_ssize_t n_params) except? NULL
