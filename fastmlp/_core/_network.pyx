"""The network: forward pass, loss, output delta and backward pass of one batch.

Parameters live in one flat buffer packed as scikit-learn packs them for lbfgs:
every W[i].ravel() in layer order, then every intercept b[i].

Determinism: work is split into tiles whose number depends only on the shapes,
never on the thread count, and every tile is computed by one BLAS call on one
thread, so the same fit gives the same bits on 1, 2 or 8 threads. There is no
reduction across threads: sums over the batch happen inside one tile's GEMM or
in a sequential loop.
"""
cimport cython
from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy

import numpy as np

from ._kernels cimport (
    activation_backward,
    bias_activation,
    gemm,
    sample_loss,
)


cdef enum:
    MIN_TILE = 32    # fewest rows (or weight-gradient rows) worth a tile of their own
    MAX_TILES = 8    # most tiles one matrix product is split into


cdef inline Py_ssize_t n_tiles(Py_ssize_t n) noexcept nogil:
    """How many tiles to split n rows into: a function of n alone."""
    cdef Py_ssize_t t = n // MIN_TILE
    return 1 if t < 1 else (MAX_TILES if t > MAX_TILES else t)


cdef inline Py_ssize_t tile_start(Py_ssize_t n, Py_ssize_t tiles, Py_ssize_t t) noexcept nogil:
    """First row of tile t of `tiles` balanced tiles over n rows."""
    return (t * n) // tiles


cdef class Layout:
    """Shapes and offsets of a network: units, where each W and b sit in the flat
    parameter buffer, and where each layer's block sits in the work buffers.

    Parameters
    ----------
    units : sequence of int of length n_layers + 1
        n_features, the hidden layer sizes, n_outputs.
    hidden, output : Activation
        Activation of the hidden layers and of the output layer.
    loss : Loss
    alpha : float
        L2 penalty on the weights.
    capacity : int
        Most rows a batch (or a prediction chunk) has.
    """

    @cython.wraparound(True)
    def __init__(self, units, int hidden, int output, int loss, double alpha,
                 Py_ssize_t capacity):
        u = np.asarray(units, dtype=np.intp)
        if u.ndim != 1 or u.shape[0] < 2 or (u < 1).any() or capacity < 1:
            raise ValueError(f"invalid layout: units={units}, capacity={capacity}")
        n_layers = u.shape[0] - 1
        coef_sizes = u[:-1] * u[1:]
        coef_off = np.concatenate([[0], np.cumsum(coef_sizes)[:-1]]).astype(np.intp)
        n_coefs = int(coef_sizes.sum())
        bias_off = (n_coefs + np.concatenate([[0], np.cumsum(u[1:])[:-1]])).astype(np.intp)
        act_off = (capacity * np.concatenate([[0], np.cumsum(u)[:-1]])).astype(np.intp)
        # BLAS takes int sizes: every matrix dimension and leading dimension must fit.
        if max(int(u.max()), int(capacity)) >= 2**31:
            raise ValueError("a layer or batch is too large for BLAS's 32-bit sizes")

        self._units, self._coef_off, self._bias_off, self._act_off = u, coef_off, bias_off, act_off
        self.n_params = n_coefs + int(u[1:].sum())
        self.act_size = capacity * int(u.sum())
        self.delta_size = capacity * int(u[1:].sum())
        self.net.n_layers = n_layers
        self.net.units = &self._units[0]
        self.net.coef_off = &self._coef_off[0]
        self.net.bias_off = &self._bias_off[0]
        self.net.act_off = &self._act_off[0]
        self.net.n_coefs = n_coefs
        self.net.capacity = capacity
        self.net.hidden = hidden
        self.net.output = output
        self.net.loss = loss
        self.net.alpha = alpha
        self.net.n_threads = 1

    @property
    def capacity(self):
        return self.net.capacity

    @property
    def units(self):
        return np.asarray(self._units).copy()

    def coef_slices(self):
        """(start, stop, shape) of each W[i] in the flat buffer, in layer order."""
        u = self._units
        return [(self._coef_off[i], self._coef_off[i] + u[i] * u[i + 1], (u[i], u[i + 1]))
                for i in range(self.net.n_layers)]

    def intercept_slices(self):
        """(start, stop) of each b[i] in the flat buffer, in layer order."""
        u = self._units
        return [(self._bias_off[i], self._bias_off[i] + u[i + 1])
                for i in range(self.net.n_layers)]


cdef class Workspace:
    """The work buffers of one fit or one prediction, in one dtype."""

    def __init__(self, Layout layout, dtype):
        self.layout = layout
        self.acts = np.empty(layout.act_size, dtype=dtype)
        self.deltas = np.empty(layout.delta_size, dtype=dtype)
        self.row_loss = np.empty(layout.net.capacity, dtype=np.float64)


# ---------------------------------------------------------------------------
# Forward pass: rows are independent, so a row tile goes through every layer
# ---------------------------------------------------------------------------

cdef void gather_rows(
    const floating* x, Py_ssize_t xs0, Py_ssize_t xs1,  # IN X with element strides
    const Py_ssize_t* idx,                               # IN row indices, or NULL
    Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t n_features,
    floating* out,                                       # OUT (rows, n_features) C-ordered
) noexcept nogil:
    cdef Py_ssize_t r, j, i
    cdef const floating* src
    for r in range(r0, r1):
        i = idx[r] if idx != NULL else r
        src = x + i * xs0
        if xs1 == 1:
            memcpy(out + r * n_features, src, n_features * sizeof(floating))
        else:
            for j in range(n_features):
                out[r * n_features + j] = src[j * xs1]


cdef void output_delta(
    const Net* net,
    const floating* y, const floating* sw, const Py_ssize_t* idx,  # IN
    Py_ssize_t r0, Py_ssize_t r1,
    const floating* a,         # IN output activations (rows, n_outputs)
    floating* delta,           # OUT d loss / dz of the output layer: (a - y) * sw
    double* row_loss,          # OUT sw * loss of each row
) noexcept nogil:
    cdef Py_ssize_t n_out = net.units[net.n_layers]
    cdef Py_ssize_t r, k, i
    cdef floating w = 1
    for r in range(r0, r1):
        i = idx[r] if idx != NULL else r
        if sw != NULL:
            w = sw[i]
        row_loss[r] = w * sample_loss(a + r * n_out, y + i * n_out, n_out, net.loss)
        for k in range(n_out):
            delta[r * n_out + k] = (a[r * n_out + k] - y[i * n_out + k]) * w


cdef void forward_tile(
    const Net* net, const floating* params,
    const floating* x, Py_ssize_t xs0, Py_ssize_t xs1,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t r0, Py_ssize_t r1,
    floating* acts, floating* deltas, double* row_loss,
) noexcept nogil:
    """Rows r0..r1 through every layer: A[l+1] = f(A[l] @ W[l] + b[l])."""
    cdef const Py_ssize_t* u = net.units
    cdef Py_ssize_t L = net.n_layers, l
    cdef Py_ssize_t rows = r1 - r0
    cdef floating* a_in
    cdef floating* a_out
    gather_rows(x, xs0, xs1, idx, r0, r1, u[0], acts)
    for l in range(L):
        a_in = acts + net.act_off[l] + r0 * u[l]
        a_out = acts + net.act_off[l + 1] + r0 * u[l + 1]
        gemm(False, False, <int> rows, <int> u[l + 1], <int> u[l],
             1, a_in, <int> u[l], params + net.coef_off[l], <int> u[l + 1],
             0, a_out, <int> u[l + 1])
        bias_activation(a_out, params + net.bias_off[l], rows, u[l + 1],
                        net.hidden if l < L - 1 else net.output)
    if y != NULL:
        output_delta(net, y, sw, idx, r0, r1, acts + net.act_off[L],
                     deltas + net.act_off[L] - net.act_off[1], row_loss)


cdef void forward(
    const Net* net,
    const floating* params,
    const floating* x, Py_ssize_t xs0, Py_ssize_t xs1,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t rows,
    floating* acts,
    floating* deltas,
    double* row_loss,
) noexcept nogil:
    """Forward pass of `rows` rows (<= capacity), in parallel row tiles.

    With y, also each row's weighted loss and the output delta."""
    cdef Py_ssize_t tiles = n_tiles(rows), t
    for t in prange(tiles, schedule="static", num_threads=net.n_threads):
        forward_tile(net, params, x, xs0, xs1, y, sw, idx,
                     tile_start(rows, tiles, t), tile_start(rows, tiles, t + 1),
                     acts, deltas, row_loss)


# ---------------------------------------------------------------------------
# Backward pass: per layer, the weight gradient split by rows of W, the
# previous layer's delta split by batch rows, and the intercept gradient
# ---------------------------------------------------------------------------

cdef void weight_grad_tile(
    const Net* net, Py_ssize_t l, Py_ssize_t f0, Py_ssize_t f1, Py_ssize_t rows,
    const floating* params, const floating* acts, const floating* delta,
    double sw_sum,
    floating* grads,           # OUT rows f0..f1 of dW[l]
) noexcept nogil:
    """dW[l][f0:f1] = (A[l][:, f0:f1].T @ delta + alpha W[l][f0:f1]) / sw_sum."""
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1], i
    cdef floating* gw = grads + net.coef_off[l] + f0 * n_out
    cdef const floating* w = params + net.coef_off[l] + f0 * n_out
    cdef floating alpha = <floating> net.alpha, s = <floating> sw_sum
    gemm(True, False, <int> (f1 - f0), <int> n_out, <int> rows,
         1, acts + net.act_off[l] + f0, <int> n_in, delta, <int> n_out,
         0, gw, <int> n_out)
    for i in range((f1 - f0) * n_out):
        gw[i] = (gw[i] + alpha * w[i]) / s


cdef void bias_grad(
    const Net* net, Py_ssize_t l, Py_ssize_t rows, const floating* delta,
    double sw_sum,
    floating* grads,           # OUT db[l]
) noexcept nogil:
    """db[l] = delta.sum(axis=0) / sw_sum, summed row after row as NumPy does."""
    cdef Py_ssize_t n_out = net.units[l + 1], r, k
    cdef floating* gb = grads + net.bias_off[l]
    cdef floating s = <floating> sw_sum
    for k in range(n_out):
        gb[k] = 0
    for r in range(rows):
        for k in range(n_out):
            gb[k] += delta[r * n_out + k]
    for k in range(n_out):
        gb[k] = gb[k] / s


cdef void delta_tile(
    const Net* net, Py_ssize_t l, Py_ssize_t r0, Py_ssize_t r1,
    const floating* params, const floating* acts, const floating* delta,
    floating* delta_prev,      # OUT rows r0..r1 of the delta of layer l
) noexcept nogil:
    """delta[l] = (delta[l+1] @ W[l].T) * f'(A[l]) on rows r0..r1 (chain rule)."""
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    gemm(False, True, <int> (r1 - r0), <int> n_in, <int> n_out,
         1, delta + r0 * n_out, <int> n_out, params + net.coef_off[l], <int> n_out,
         0, delta_prev + r0 * n_in, <int> n_in)
    activation_backward(delta_prev + r0 * n_in, acts + net.act_off[l] + r0 * n_in,
                        (r1 - r0) * n_in, net.hidden)


cdef void backward(
    const Net* net, const floating* params, const floating* acts,
    floating* deltas, Py_ssize_t rows, double sw_sum,
    floating* grads,           # OUT (n_params,)
) noexcept nogil:
    """Backpropagation, last layer first. The tasks of one layer are independent
    and write disjoint outputs, so any schedule gives the same bits."""
    cdef Py_ssize_t l, task, f_tiles, r_tiles
    cdef floating* delta
    for l in range(net.n_layers - 1, -1, -1):
        delta = deltas + net.act_off[l + 1] - net.act_off[1]
        f_tiles = n_tiles(net.units[l])
        r_tiles = n_tiles(rows) if l > 0 else 0
        for task in prange(f_tiles + r_tiles + 1, schedule="dynamic",
                           num_threads=net.n_threads):
            if task < f_tiles:
                weight_grad_tile(net, l, tile_start(net.units[l], f_tiles, task),
                                 tile_start(net.units[l], f_tiles, task + 1), rows,
                                 params, acts, delta, sw_sum, grads)
            elif task < f_tiles + r_tiles:
                delta_tile(net, l, tile_start(rows, r_tiles, task - f_tiles),
                           tile_start(rows, r_tiles, task - f_tiles + 1),
                           params, acts, delta,
                           deltas + net.act_off[l] - net.act_off[1])
            else:
                bias_grad(net, l, rows, delta, sw_sum, grads)


cdef double batch_loss_grad(
    const Net* net,
    const floating* params,
    floating* grads,
    const floating* x, Py_ssize_t xs0, Py_ssize_t xs1,
    const floating* y,
    const floating* sw,
    const Py_ssize_t* idx,
    Py_ssize_t rows,
    floating* acts,
    floating* deltas,
    double* row_loss,
) noexcept nogil:
    """Loss of one batch and its gradient with respect to every parameter.

    loss = sum_i sw_i loss_i / sw_sum + 0.5 alpha ||W||^2 / sw_sum, where sw_sum
    is the batch's size or the sum of its sample weights, as scikit-learn."""
    cdef double sw_sum = 0.0, loss = 0.0, l2 = 0.0
    cdef Py_ssize_t r, i
    forward(net, params, x, xs0, xs1, y, sw, idx, rows, acts, deltas, row_loss)
    for r in range(rows):
        loss += row_loss[r]
        if sw != NULL:
            sw_sum += sw[idx[r] if idx != NULL else r]
    if sw == NULL:
        sw_sum = rows
    for i in range(net.n_coefs):
        l2 += <double> params[i] * params[i]
    backward(net, params, acts, deltas, rows, sw_sum, grads)
    return loss / sw_sum + 0.5 * net.alpha * l2 / sw_sum


# ---------------------------------------------------------------------------
# Python entry points: check every size, then release the GIL
# ---------------------------------------------------------------------------

cdef check_x(Layout layout, Py_ssize_t n_params, const floating[:, :] X,
             Py_ssize_t n_rows_max):
    cdef const Net* net = &layout.net
    if n_params != layout.n_params:
        raise ValueError(f"expected {layout.n_params} parameters, got {n_params}")
    if X.shape[1] != net.units[0]:
        raise ValueError(f"X has {X.shape[1]} features, the network {net.units[0]}")
    if X.shape[0] > n_rows_max:
        raise ValueError(f"X has {X.shape[0]} rows, the workspace holds {n_rows_max}")
    if X.strides[0] % sizeof(floating) or X.strides[1] % sizeof(floating):
        raise ValueError("X's strides are not a multiple of its item size")


cdef check_targets(Layout layout, Py_ssize_t n_samples, const floating[:, ::1] Y,
                   const floating[::1] sample_weight):
    cdef Py_ssize_t n_out = layout.net.units[layout.net.n_layers]
    if Y.shape[0] != n_samples or Y.shape[1] != n_out:
        raise ValueError(f"Y has shape ({Y.shape[0]}, {Y.shape[1]}), "
                         f"expected ({n_samples}, {n_out})")
    if sample_weight is not None and sample_weight.shape[0] != n_samples:
        raise ValueError("sample_weight and X have different lengths")


def loss_grad(Workspace ws, const floating[::1] params, floating[::1] grads,
              const floating[:, :] X not None, const floating[:, ::1] Y not None,
              const floating[::1] sample_weight, int n_threads):
    """Full-batch loss and gradient (lbfgs and gradient checks).

    Parameters
    ----------
    ws : Workspace whose layout's capacity is at least n_samples
    params : ndarray of shape (n_params,)
    grads : ndarray of shape (n_params,), OUT
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    n_threads : int

    Returns
    -------
    loss : float
    """
    cdef Net net = ws.layout.net
    check_x(ws.layout, params.shape[0], X, net.capacity)
    check_targets(ws.layout, X.shape[0], Y, sample_weight)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads and params have different lengths")
    cdef floating[::1] acts = ws.acts
    cdef floating[::1] deltas = ws.deltas
    cdef double[::1] row_loss = ws.row_loss
    cdef const floating* sw = NULL if sample_weight is None else &sample_weight[0]
    cdef double loss
    net.n_threads = n_threads
    with nogil:
        loss = batch_loss_grad(
            &net, &params[0], &grads[0],
            &X[0, 0], X.strides[0] // sizeof(floating), X.strides[1] // sizeof(floating),
            &Y[0, 0], sw, NULL, X.shape[0], &acts[0], &deltas[0], &row_loss[0])
    return loss


def predict(Workspace ws, const floating[::1] params, const floating[:, :] X,
            floating[:, ::1] out, int n_threads):
    """Output of the network for every row of X, in chunks of the capacity.

    Parameters
    ----------
    ws : Workspace
    params : ndarray of shape (n_params,)
    X : ndarray of shape (n_samples, n_features)
    out : ndarray of shape (n_samples, n_outputs), OUT
    n_threads : int
    """
    cdef Net net = ws.layout.net
    check_x(ws.layout, params.shape[0], X, X.shape[0])
    cdef Py_ssize_t L = net.n_layers, n_out = net.units[L]
    if out.shape[0] != X.shape[0] or out.shape[1] != n_out:
        raise ValueError("out has the wrong shape")
    cdef floating[::1] acts = ws.acts
    cdef Py_ssize_t xs0 = X.strides[0] // sizeof(floating)
    cdef Py_ssize_t xs1 = X.strides[1] // sizeof(floating)
    cdef Py_ssize_t c, start, rows, n = X.shape[0]
    cdef const floating* no_y = NULL
    cdef floating* no_deltas = NULL
    net.n_threads = n_threads
    with nogil:
        for c in range((n + net.capacity - 1) // net.capacity):
            start = c * net.capacity
            rows = min(net.capacity, n - start)
            forward(&net, &params[0], &X[start, 0], xs0, xs1, no_y, no_y, NULL,
                    rows, &acts[0], no_deltas, NULL)
            memcpy(&out[start, 0], &acts[net.act_off[L]], rows * n_out * sizeof(floating))
    return np.asarray(out)
