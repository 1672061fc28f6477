"""One epoch of minibatch training in one call, without the GIL.

For each batch of the sample order: forward pass, loss, backward pass and the
optimizer's update, over buffers allocated once per fit. Python keeps what
happens once per epoch (shuffling, stopping, the loss curve, messages).
"""
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating

import numpy as np

from ._layout cimport InputMatrix, Layout, Net, Workspace, check_targets, check_x
from ._network cimport batch_loss_grad, partial_buffer

from ._layout import as_input
from ._updates cimport ADAM, SGD, adam_step, adam_step_size, sgd_step


def run_epoch(Workspace ws, floating[::1] params, floating[::1] grads, optimizer,
              X, const floating[:, ::1] Y not None,
              const floating[::1] sample_weight, const Py_ssize_t[::1] order not None,
              Py_ssize_t batch_size, int n_threads):
    """Train one epoch over the rows `order` of (X, Y), in consecutive batches.

    Parameters
    ----------
    ws : Workspace whose capacity is at least batch_size
    params : ndarray of shape (n_params,), IN/OUT
    grads : ndarray of shape (n_params,), work
    optimizer : SGD or Adam state (fastmlp._optimizers); its state arrays are
        updated in place and its step count `t` advanced.
    X : ndarray (any strides) or CSR matrix of shape (n_samples, n_features),
        or an InputMatrix
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    order : ndarray of shape (n_train,) of row indices into X
    batch_size : int
    n_threads : int

    Returns
    -------
    loss_sum : float
        Sum over batches of batch loss times batch length.
    """
    cdef InputMatrix x = as_input(X)
    cdef Net net = ws.layout.net
    cdef Py_ssize_t n = order.shape[0], n_samples = x.input.n_rows
    check_x(ws.layout, params.shape[0], x,
            np.dtype(np.float32 if floating is float else np.float64), n_samples, False)
    check_targets(ws.layout, n_samples, Y, sample_weight)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads and params have different lengths")
    if not 1 <= batch_size <= net.capacity:
        raise ValueError(f"batch_size {batch_size} outside [1, {net.capacity}]")
    if n and not (0 <= np.min(order) and np.max(order) < n_samples):
        raise ValueError("order holds indices outside X")

    cdef floating[::1] state1 = optimizer.state1
    cdef floating[::1] state2 = optimizer.state2
    cdef int kind = optimizer.kind
    if state1.shape[0] != params.shape[0] or (kind == ADAM
                                              and state2.shape[0] != params.shape[0]):
        raise ValueError("optimizer state does not fit the network")
    cdef floating* second_moment = &state2[0] if kind == ADAM else NULL
    cdef double lr = optimizer.learning_rate, momentum = optimizer.momentum
    cdef bint nesterov = optimizer.nesterov
    cdef double beta_1 = optimizer.beta_1, beta_2 = optimizer.beta_2
    cdef double epsilon = optimizer.epsilon
    cdef long t = optimizer.t

    cdef floating[::1] acts = ws.acts
    cdef floating[::1] deltas = ws.deltas
    cdef double[::1] row_loss = ws.row_loss
    cdef floating[::1] partial = ws.partial
    cdef floating* part = partial_buffer(partial, params.shape[0])
    cdef const floating* sw = NULL if sample_weight is None else &sample_weight[0]
    cdef Py_ssize_t b, start, rows, n_params = params.shape[0]
    cdef double loss, loss_sum = 0.0
    net.n_threads = n_threads

    try:
        with nogil:
            for b in range((n + batch_size - 1) // batch_size):
                start = b * batch_size
                rows = min(batch_size, n - start)
                loss = batch_loss_grad(
                    &net, &params[0], &grads[0], &x.input, &Y[0, 0], sw,
                    &order[start], rows, &acts[0], &deltas[0], &row_loss[0], part)
                loss_sum += loss * rows
                if kind == SGD:
                    sgd_step(&params[0], &grads[0], &state1[0], n_params,
                             lr, momentum, nesterov, n_threads)
                else:
                    t += 1
                    adam_step(&params[0], &grads[0], &state1[0], second_moment, n_params,
                              adam_step_size(lr, beta_1, beta_2, t),
                              beta_1, beta_2, epsilon, n_threads)
                with gil:      # Ctrl-C stops between two batches
                    PyErr_CheckSignals()
    finally:
        optimizer.t = t
    return loss_sum
