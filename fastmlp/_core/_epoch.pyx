"""One epoch of minibatch training in one call, without the GIL between batches.

For each batch of the sample order: forward pass, loss, backward pass and the
optimizer's update, over buffers allocated once per fit. The batches run in
chunks on a team of threads whose size the policy chooses chunk by chunk
(_team.pyx); between two chunks the GIL is taken back, for Ctrl-C. Python keeps
what happens once per epoch (shuffling, stopping, the loss curve, messages).
"""
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating

import numpy as np

from ._layout cimport InputMatrix, Net, Workspace
from ._network cimport Work, init_training, long_batch, train_job
from ._team cimport ThreadPolicy, chunk_batches
from ._updates cimport ADAM, Step

from ._layout import as_input
from ._network import as_policy


def run_epoch(Workspace ws, floating[::1] params, floating[::1] grads, optimizer,
              X, const floating[:, ::1] Y not None,
              const floating[::1] sample_weight, const Py_ssize_t[::1] order not None,
              Py_ssize_t batch_size, threads):
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
    threads : ThreadPolicy (kept for the whole fit), or int (the threads every
        chunk runs on)

    Returns
    -------
    loss_sum : float
        Sum over batches of batch loss times batch length.
    """
    cdef InputMatrix x = as_input(X)
    cdef ThreadPolicy policy = as_policy(threads)
    cdef Net* net = &ws.layout.net
    cdef Py_ssize_t n = order.shape[0], n_samples = x.input.n_rows
    cdef Work w
    init_training(&w, ws, x, params, grads, Y, sample_weight, n_samples)
    if not 1 <= batch_size <= net.capacity:
        raise ValueError(f"batch_size {batch_size} outside [1, {net.capacity}]")
    if n and not (0 <= np.min(order) and np.max(order) < n_samples):
        raise ValueError("order holds indices outside X")

    cdef floating[::1] state1 = optimizer.state1
    cdef floating[::1] state2 = optimizer.state2
    cdef Step step
    step.kind = optimizer.kind
    if state1.shape[0] != params.shape[0] or (step.kind == ADAM
                                              and state2.shape[0] != params.shape[0]):
        raise ValueError("optimizer state does not fit the network")
    step.state1 = &state1[0]
    step.state2 = &state2[0] if step.kind == ADAM else NULL
    step.learning_rate, step.momentum = optimizer.learning_rate, optimizer.momentum
    step.nesterov = optimizer.nesterov
    step.beta_1, step.beta_2 = optimizer.beta_1, optimizer.beta_2
    step.epsilon = optimizer.epsilon
    cdef long t0 = optimizer.t

    w.order, w.n_rows, w.batch_size = &order[0] if n else NULL, n, batch_size
    w.step, w.t = &step, t0
    w.watch = long_batch(net, batch_size)
    cdef Py_ssize_t batches = (n + batch_size - 1) // batch_size
    cdef Py_ssize_t per_chunk = chunk_batches(net, batch_size)
    try:
        while w.last < batches:
            w.first, w.last = w.last, min(batches, w.last + per_chunk)
            policy.run(train_job, &w)
            PyErr_CheckSignals()       # Ctrl-C stops between two chunks
    finally:
        if step.kind == ADAM:
            optimizer.t = t0 + w.done
    return w.loss_sum
