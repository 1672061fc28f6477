"""The network: forward pass, loss, output delta and backward pass of a batch, as
the stages a team of threads works through (the team and its policy: _team.pyx).

Parameters live in one flat buffer packed as scikit-learn packs them for lbfgs:
every W[i].ravel() in layer order, then every intercept b[i].

Determinism: a stage is split into tiles whose number depends only on the shapes
(_team.pyx), never on the thread count, and every tile is computed by one BLAS
call or loop on one thread, so the same fit gives the same bits on 1, 2 or 8
threads, whichever thread takes which tile. There is no reduction across
threads: sums over the batch happen inside one tile's GEMM or in a sequential
loop.
"""
cimport numpy as cnp
from cpython.object cimport PyObject
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

cnp.import_array()

from ._kernels cimport (
    RELU,
    activation_backward,
    bias_activation,
    column_sums,
    fastmlp_prefetch,
    gemm,
    outer_relu,
    rows_t_times,
    rows_times,
    sample_loss,
    sum_of_squares,
)
from ._layout cimport (
    ROW_SPLIT_TILES,
    Input,
    InputMatrix,
    Layout,
    Net,
    Workspace,
    check_targets,
    check_x,
)
from ._team cimport (
    PARAM_RANGE,
    ThreadPolicy,
    Tiling,
    backward_tiling,
    barrier,
    batch_flops,
    claim,
    fastmlp_team,
    forward_tiles,
    param_ranges,
    row_split,
    tile_start,
)
from ._updates cimport Step, update_range

from ._layout import as_input


cdef enum:
    GATHER_AHEAD = 8     # rows whose cache lines a gather asks for ahead of copying


# ---------------------------------------------------------------------------
# Forward pass: rows are independent, so a row tile goes through every layer
# ---------------------------------------------------------------------------

cdef inline bint reads_in_place(const Input* X, const Py_ssize_t* idx) noexcept nogil:
    """Whether layer 0 can be X itself: dense C-ordered rows taken in order."""
    return X.indices == NULL and idx == NULL and X.s1 == 1 and X.s0 == X.n_cols


cdef inline const floating* input_layer(const Net* net, const Input* X,
                                        const Py_ssize_t* idx,
                                        const floating* acts) noexcept nogil:
    """Layer 0's activations (dense X): X itself, or the block of gathered rows."""
    return <const floating*> X.data if reads_in_place(X, idx) else acts + net.act_off[0]


cdef void gather_rows(
    const Input* X, const Py_ssize_t* idx,  # IN X and the batch's row indices, or NULL
    Py_ssize_t r0, Py_ssize_t r1,
    floating* out,                          # OUT (rows, n_features) C-ordered
) noexcept nogil:
    cdef const floating* x = <const floating*> X.data
    cdef Py_ssize_t r, j, i, n = X.n_cols
    cdef const floating* src
    if idx != NULL and X.s1 == 1:
        for r in range(r0, min(r0 + GATHER_AHEAD, r1)):
            fastmlp_prefetch(x + idx[r] * X.s0, n * sizeof(floating))
    for r in range(r0, r1):
        i = idx[r] if idx != NULL else r
        src = x + i * X.s0
        if idx != NULL and X.s1 == 1 and r + GATHER_AHEAD < r1:
            fastmlp_prefetch(x + idx[r + GATHER_AHEAD] * X.s0, n * sizeof(floating))
        if X.s1 == 1:
            memcpy(out + r * n, src, n * sizeof(floating))
        else:
            for j in range(n):
                out[r * n + j] = src[j * X.s1]


cdef void sparse_times_dense(
    const Input* X, const Py_ssize_t* idx,  # IN CSR X and the batch's row indices
    Py_ssize_t r0, Py_ssize_t r1,
    const floating* w, Py_ssize_t n_out,    # IN W[0] of shape (n_features, n_out)
    floating* out,                          # OUT (rows, n_out): X[idx] @ W[0]
) noexcept nogil:
    """Sparse rows times W, accumulated in SciPy's order (csr_matvecs)."""
    cdef const floating* data = <const floating*> X.data
    cdef Py_ssize_t r, i, p, k
    cdef floating v
    cdef floating* o
    cdef const floating* wrow
    for r in range(r0, r1):
        i = idx[r] if idx != NULL else r
        o = out + r * n_out
        for k in range(n_out):
            o[k] = 0
        for p in range(X.indptr[i], X.indptr[i + 1]):
            v = data[p]
            wrow = w + X.indices[p] * n_out
            for k in range(n_out):
                o[k] += v * wrow[k]


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


cdef inline const floating* tile_rows(
    const Net* net, const Input* X, const Py_ssize_t* idx, const floating* acts,
    Py_ssize_t l, Py_ssize_t r0,
    Py_ssize_t* lda, const Py_ssize_t** rows,   # OUT the row stride, and row indices or NULL
) noexcept nogil:
    """Layer l's activations of the tile from row r0 on, as rows_times reads them:
    for layer 0, X's rows in place through the batch's indices where they are
    contiguous (else the gathered block); for later layers, the layer's block."""
    rows[0] = NULL
    if l == 0 and X.s1 == 1:
        lda[0] = X.s0
        if idx != NULL:
            rows[0] = idx + r0
            return <const floating*> X.data
        return <const floating*> X.data + r0 * X.s0
    lda[0] = net.units[l]
    return acts + net.act_off[l] + r0 * net.units[l]


cdef void forward_tile(
    const Net* net, const floating* params, const Input* X,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t r0, Py_ssize_t r1,
    floating* acts, floating* deltas, double* row_loss,
    char* nonfinite, bint small=False,
) noexcept nogil:
    """Rows r0..r1 through every layer: A[l+1] = f(A[l] @ W[l] + b[l]).

    With nonfinite (dense X, not small), first sets it to whether the rows hold NaN
    or infinity: read just before the product reads them, they come from cache.
    small (a row-split network, dense X): the products by rows_times, X's rows
    read in place, relu hidden layers' bias and activation in the same pass."""
    cdef const Py_ssize_t* u = net.units
    cdef Py_ssize_t L = net.n_layers, l, lda
    cdef Py_ssize_t rows = r1 - r0
    cdef bint fused
    cdef floating* a_out
    cdef const floating* a_in
    cdef const Py_ssize_t* in_rows
    for l in range(L):
        a_out = acts + net.act_off[l + 1] + r0 * u[l + 1]
        if l == 0 and X.indices != NULL:
            sparse_times_dense(X, idx, r0, r1, params, u[1], acts + net.act_off[1])
        elif small:
            if l == 0 and X.s1 != 1:
                gather_rows(X, idx, r0, r1, acts + net.act_off[0])
            a_in = tile_rows(net, X, idx, acts, l, r0, &lda, &in_rows)
            fused = l < L - 1 and net.hidden == RELU and u[l + 1] > 1
            rows_times(a_in, lda, in_rows, rows, u[l], params + net.coef_off[l], u[l + 1],
                       params + net.bias_off[l] if fused else NULL, a_out)
            if fused:
                continue            # bias and relu applied as the product was stored
        else:
            if l == 0 and not reads_in_place(X, idx):
                gather_rows(X, idx, r0, r1, acts + net.act_off[0])
            a_in = input_layer(net, X, idx, acts) if l == 0 else acts + net.act_off[l]
            if l == 0 and nonfinite != NULL:
                nonfinite[0] = not all_finite(a_in + r0 * u[0], rows * u[0])
            gemm(False, False, <int> rows, <int> u[l + 1], <int> u[l],
                 1, a_in + r0 * u[l], <int> u[l],
                 params + net.coef_off[l], <int> u[l + 1], 0, a_out, <int> u[l + 1])
        bias_activation(a_out, params + net.bias_off[l], rows, u[l + 1],
                        net.hidden if l < L - 1 else net.output)
    if y != NULL:
        output_delta(net, y, sw, idx, r0, r1, acts + net.act_off[L],
                     deltas + net.act_off[L] - net.act_off[1], row_loss)


cdef extern from "fastmlp_finite.h":
    bint all_finite_double "fastmlp_all_finite_double" (const double* x, Py_ssize_t n) noexcept nogil
    bint all_finite_float "fastmlp_all_finite_float" (const float* x, Py_ssize_t n) noexcept nogil


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """Whether x[0..n) holds neither NaN nor infinity."""
    if floating is float:
        return all_finite_float(x, n)
    else:
        return all_finite_double(x, n)




# ---------------------------------------------------------------------------
# Backward pass: per layer, the weight gradient split by rows of W, the
# previous layer's delta split by batch rows, and the intercept gradient
# ---------------------------------------------------------------------------

cdef void weight_grad_tile(
    const Net* net, Py_ssize_t l, Py_ssize_t f0, Py_ssize_t f1, Py_ssize_t c0,
    Py_ssize_t c1, Py_ssize_t rows,
    const floating* params, const floating* a, const floating* delta,
    double sw_sum,
    floating* grads,           # OUT the block [f0:f1, c0:c1] of dW[l]
) noexcept nogil:
    """dW[l][f0:f1, c0:c1] = (A[l][:, f0:f1].T @ delta[:, c0:c1]
                              + alpha W[l][f0:f1, c0:c1]) / sw_sum,
    with a = A[l] of shape (rows, units[l]): the derivative of the affine layer
    z = a @ W + b with respect to W, summed over the batch, plus the L2 term's."""
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1], f, c
    cdef floating* gw = grads + net.coef_off[l]
    cdef const floating* w = params + net.coef_off[l]
    cdef floating alpha = <floating> net.alpha, s = <floating> sw_sum
    gemm(True, False, <int> (f1 - f0), <int> (c1 - c0), <int> rows,
         1, a + f0, <int> n_in, delta + c0, <int> n_out,
         0, gw + f0 * n_out + c0, <int> n_out)
    for f in range(f0, f1):
        for c in range(c0, c1):
            gw[f * n_out + c] = (gw[f * n_out + c] + alpha * w[f * n_out + c]) / s


cdef void sparse_weight_grad_tile(
    const Net* net, const Input* X, const Py_ssize_t* idx,
    Py_ssize_t f0, Py_ssize_t f1, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t rows,
    const floating* params, const floating* delta, double sw_sum,
    floating* grads,           # OUT the block [f0:f1, c0:c1] of dW[0]
) noexcept nogil:
    """dW[0][f0:f1, c0:c1] for CSR X: X[idx].T @ delta, summed batch row after
    batch row as SciPy's csc_matvecs sums, then the L2 term."""
    cdef const floating* data = <const floating*> X.data
    cdef Py_ssize_t n_out = net.units[1], r, i, p, f, k
    cdef floating* gw = grads + net.coef_off[0]
    cdef const floating* w = params + net.coef_off[0]
    cdef floating alpha = <floating> net.alpha, s = <floating> sw_sum, v
    for f in range(f0, f1):
        for k in range(c0, c1):
            gw[f * n_out + k] = 0
    for r in range(rows):
        i = idx[r] if idx != NULL else r
        for p in range(X.indptr[i], X.indptr[i + 1]):
            f = X.indices[p]
            if f0 <= f < f1:
                v = data[p]
                for k in range(c0, c1):
                    gw[f * n_out + k] += v * delta[r * n_out + k]
    for f in range(f0, f1):
        for k in range(c0, c1):
            gw[f * n_out + k] = (gw[f * n_out + k] + alpha * w[f * n_out + k]) / s


cdef void bias_grad(
    const Net* net, Py_ssize_t l, Py_ssize_t rows, const floating* delta,
    double sw_sum,
    floating* grads,           # OUT db[l]
) noexcept nogil:
    """db[l] = delta.sum(axis=0) / sw_sum, summed row after row as NumPy does."""
    cdef Py_ssize_t n_out = net.units[l + 1], k
    cdef floating* gb = grads + net.bias_off[l]
    cdef floating s = <floating> sw_sum
    column_sums(delta, 0, rows, n_out, gb)
    for k in range(n_out):
        gb[k] = gb[k] / s


cdef void delta_tile(
    const Net* net, Py_ssize_t l, Py_ssize_t r0, Py_ssize_t r1,
    const floating* params, const floating* acts, const floating* delta,
    floating* delta_prev,      # OUT rows r0..r1 of the delta of layer l
) noexcept nogil:
    """delta[l] = (delta[l+1] @ W[l].T) * f'(A[l]) on rows r0..r1 (chain rule)."""
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    if n_out == 1 and net.hidden == RELU:
        outer_relu(delta + r0, params + net.coef_off[l], acts + net.act_off[l] + r0 * n_in,
                   r1 - r0, n_in, delta_prev + r0 * n_in)
        return
    gemm(False, True, <int> (r1 - r0), <int> n_in, <int> n_out,
         1, delta + r0 * n_out, <int> n_out, params + net.coef_off[l], <int> n_out,
         0, delta_prev + r0 * n_in, <int> n_in)
    activation_backward(delta_prev + r0 * n_in, acts + net.act_off[l] + r0 * n_in,
                        (r1 - r0) * n_in, net.hidden)


cdef void backward_task(
    const Net* net, Py_ssize_t l, Py_ssize_t task, const Tiling* t,
    const floating* params, const Input* X, const Py_ssize_t* idx,
    const floating* acts, floating* deltas, Py_ssize_t rows, double sw_sum,
    floating* grads,
) noexcept nogil:
    """Task `task` of layer l: a weight-gradient block, a delta tile, or the intercepts."""
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    cdef Py_ssize_t w_tiles = t.f_tiles * t.c_tiles, f, c, f0, f1, c0, c1
    cdef floating* delta = deltas + net.act_off[l + 1] - net.act_off[1]
    if task < w_tiles:
        f, c = task // t.c_tiles, task % t.c_tiles
        f0, f1 = tile_start(n_in, t.f_tiles, f), tile_start(n_in, t.f_tiles, f + 1)
        c0, c1 = tile_start(n_out, t.c_tiles, c), tile_start(n_out, t.c_tiles, c + 1)
        if l == 0 and X.indices != NULL:
            sparse_weight_grad_tile(net, X, idx, f0, f1, c0, c1, rows,
                                    params, delta, sw_sum, grads)
        else:
            weight_grad_tile(net, l, f0, f1, c0, c1, rows, params,
                             input_layer(net, X, idx, acts) if l == 0
                             else acts + net.act_off[l], delta, sw_sum, grads)
    elif task < w_tiles + t.r_tiles:
        task -= w_tiles
        delta_tile(net, l, tile_start(rows, t.r_tiles, task),
                   tile_start(rows, t.r_tiles, task + 1), params, acts, delta,
                   deltas + net.act_off[l] - net.act_off[1])
    else:
        bias_grad(net, l, rows, delta, sw_sum, grads)


cdef void backward_rows(
    const Net* net, const floating* params, const Input* X, const Py_ssize_t* idx,
    const floating* acts, floating* deltas, Py_ssize_t r0, Py_ssize_t r1,
    floating* partial,         # OUT (n_params,) this tile's unscaled gradient
) noexcept nogil:
    """Backpropagation of rows r0..r1 alone (after forward_tile(small=True)):
    partial = A[l][r0:r1].T @ delta and the column sums of delta, without the L2 term
    or the division by the batch size, which come once the tiles are summed."""
    cdef Py_ssize_t L = net.n_layers, l, n_in, n_out, rows = r1 - r0, lda
    cdef const floating* a
    cdef const Py_ssize_t* in_rows
    cdef floating* delta
    for l in range(L - 1, -1, -1):
        n_in, n_out = net.units[l], net.units[l + 1]
        delta = deltas + net.act_off[l + 1] - net.act_off[1]
        a = tile_rows(net, X, idx, acts, l, r0, &lda, &in_rows)
        rows_t_times(a, lda, in_rows, rows, n_in, delta + r0 * n_out, n_out,
                     partial + net.coef_off[l])
        column_sums(delta, r0, r1, n_out, partial + net.bias_off[l])
        if l > 0:
            delta_tile(net, l, r0, r1, params, acts, delta,
                       deltas + net.act_off[l] - net.act_off[1])


# ---------------------------------------------------------------------------
# A batch as the stages of a team: each thread claims tasks of a stage until
# none is left, then waits at the barrier for the others
# ---------------------------------------------------------------------------

cdef void sum_partials(
    const Net* net, const floating* params, const floating* partial,
    Py_ssize_t tiles, Py_ssize_t n_params, double sw_sum, Py_ssize_t start,
    Py_ssize_t stop,
    floating* grads,           # OUT grads[start:stop]
) noexcept nogil:
    """grads = (sum of the tiles' partial gradients, tile after tile
                + alpha W for the weights) / sw_sum, on params[start:stop].

    Loops without branches, which the compiler vectorises."""
    cdef floating alpha = <floating> net.alpha, s = <floating> sw_sum
    cdef Py_ssize_t i, t, mid = min(max(start, net.n_coefs), stop)
    memcpy(grads + start, partial + start, (stop - start) * sizeof(floating))
    for t in range(1, tiles):
        for i in range(start, stop):
            grads[i] = grads[i] + partial[t * n_params + i]
    for i in range(start, mid):          # weights: the L2 term too
        grads[i] = (grads[i] + alpha * params[i]) / s
    for i in range(mid, stop):           # intercepts
        grads[i] = grads[i] / s


cdef double weights_squared(const Net* net, const floating* params) noexcept nogil:
    """||W||^2 layer by layer, as scikit-learn sums it."""
    cdef double l2 = 0.0
    cdef Py_ssize_t i
    for i in range(net.n_layers):
        l2 += sum_of_squares(params + net.coef_off[i], <int> (net.units[i] * net.units[i + 1]))
    return l2


cdef double batch_weight(const floating* sw, const Py_ssize_t* idx,
                         Py_ssize_t rows) noexcept nogil:
    """The batch's size, or the sum of its sample weights, row after row."""
    cdef double total = 0.0
    cdef Py_ssize_t r
    if sw == NULL:
        return rows
    for r in range(rows):
        total += sw[idx[r] if idx != NULL else r]
    return total


cdef void batch_loss(Work* w, Py_ssize_t rows, double sw_sum) noexcept nogil:
    """w.loss = (sum_i sw_i loss_i + 0.5 alpha ||W||^2) / sw_sum, from the rows'
    weighted losses and w.l2, as scikit-learn: the penalty divided by the batch's
    size (or weight)."""
    cdef double total = 0.0
    cdef Py_ssize_t r
    for r in range(rows):
        total += w.row_loss[r]
    w.loss = total / sw_sum + 0.5 * w.net.alpha * w.l2 / sw_sum


cdef void params_pass(Work* w, Py_ssize_t task, long t, Py_ssize_t split,
                      double sw_sum, floating* kind) noexcept nogil:
    """Task `task` of the pass over the parameters after the backward pass: a
    row-split batch's partial gradients summed and scaled there, then the
    optimizer's update (without w.step: the gradient alone)."""
    cdef Py_ssize_t n_params = w.n_params
    cdef Py_ssize_t start = task * PARAM_RANGE, stop = min(n_params, start + PARAM_RANGE)
    cdef floating* params = <floating*> w.params
    cdef floating* grads = <floating*> w.grads
    if split > 1:
        sum_partials(w.net, params, <floating*> w.partial, split, n_params, sw_sum,
                     start, stop, grads)
    if w.step != NULL:
        update_range(w.step, t, params, grads, start, stop)


cdef extern from "Python.h":
    # declared without `except`: a raised KeyboardInterrupt stays pending, to be
    # raised once the team has finished (ThreadPolicy.run)
    int check_signals "PyErr_CheckSignals" () nogil


# A batch of more than this much work (~5-50 ms on one core) looks for Ctrl-C
# between its tasks, not only after it.
cdef double LONG_BATCH_FLOPS = 2e8


cdef bint long_batch(const Net* net, Py_ssize_t rows) noexcept nogil:
    return batch_flops(net, rows) > LONG_BATCH_FLOPS


cdef inline bint stopping(Work* w, int tid) noexcept nogil:
    """Whether the batch is being abandoned: the calling thread (tid 0, which
    holds Python's main thread) takes the GIL between two tasks of a long batch to
    look for Ctrl-C. The others see it after the next barrier, or before their next
    task."""
    if tid == 0 and w.watch and not w.stop:
        with gil:
            w.stop = check_signals() != 0
    return w.stop


cdef double train_batch(Work* w, fastmlp_team* team, int tid, const Py_ssize_t* idx,
                        Py_ssize_t rows, long t, floating* kind) noexcept nogil:
    """One batch's loss, gradient and (with w.step) update, by the calling thread
    together with the rest of its team. Returns the batch's loss.

    A small network with room for partial gradients (dense X) trains row-split:
    each row tile goes forward and backward in one task, and the pass over the
    parameters sums the tiles' partial gradients in tile order. Otherwise the
    forward pass is one stage of row tiles and each layer's backward pass one of
    its own (weight-gradient blocks, delta tiles and the intercepts). The L2 term
    is a task of the first stage (before any update), the loss one of the next."""
    cdef const Net* net = w.net
    cdef const floating* params = <floating*> w.params
    cdef floating* grads = <floating*> w.grads
    cdef floating* acts = <floating*> w.acts
    cdef floating* deltas = <floating*> w.deltas
    cdef const floating* y = <floating*> w.y
    cdef const floating* sw = <floating*> w.sw
    cdef double sw_sum = batch_weight(sw, idx, rows)
    cdef Py_ssize_t task, tiles, l, r0, r1, ranges = param_ranges(w.n_params), L = net.n_layers
    cdef Py_ssize_t split = row_split(net, rows) if w.partial != NULL and w.X.indices == NULL else 1
    cdef Tiling tl
    tiles = split if split > 1 else forward_tiles(net, rows)
    while not stopping(w, tid):        # the forward pass (row-split: and backward)
        task = claim(team)
        if task > tiles:
            break
        if task == tiles:
            w.l2 = weights_squared(net, params)
            continue
        r0, r1 = tile_start(rows, tiles, task), tile_start(rows, tiles, task + 1)
        forward_tile(net, params, w.X, y, sw, idx, r0, r1, acts, deltas, w.row_loss, NULL,
                     split > 1)
        if split > 1:
            backward_rows(net, params, w.X, idx, acts, deltas, r0, r1,
                          <floating*> w.partial + task * w.n_params)
    barrier(team)
    for l in range(L - 1 if split == 1 else -1, -1, -1):   # backpropagation
        tl = backward_tiling(net, l, rows)
        while not stopping(w, tid):
            task = claim(team)
            if task > tl.tasks or (task == tl.tasks and l < L - 1):
                break
            if task == tl.tasks:
                batch_loss(w, rows, sw_sum)
            else:
                backward_task(net, l, task, &tl, params, w.X, idx, acts, deltas, rows,
                              sw_sum, grads)
        barrier(team)
    if w.stop or (split == 1 and w.step == NULL):
        return w.loss                  # abandoned; or the gradient is complete
    while True:                        # the pass over the parameters
        task = claim(team)
        if task > ranges or (task == ranges and split == 1):
            break
        if task == ranges:
            batch_loss(w, rows, sw_sum)
        else:
            params_pass(w, task, t, split, sw_sum, kind)
    barrier(team)
    return w.loss


cdef void train_batches(Work* w, fastmlp_team* team, int tid, floating* kind) noexcept nogil:
    """Batches w.first..w.last of the rows w.order (or of X's rows in order)."""
    cdef Py_ssize_t b, start, rows
    cdef double loss
    for b in range(w.first, w.last):
        start = b * w.batch_size
        rows = min(w.batch_size, w.n_rows - start)
        loss = train_batch(w, team, tid, w.order + start if w.order != NULL else NULL,
                           rows, w.t + b + 1, kind)
        if w.stop:
            return
        if tid == 0:
            w.loss_sum += loss * rows
            w.done = b + 1


cdef void train_job(void* work, fastmlp_team* team, int tid) noexcept nogil:
    """The team's job of training batches (fastmlp_team_job)."""
    cdef Work* w = <Work*> work
    if w.single:
        train_batches(w, team, tid, <float*> NULL)
    else:
        train_batches(w, team, tid, <double*> NULL)


cdef void predict_rows_of(Work* w, fastmlp_team* team, int tid, floating* kind) noexcept nogil:
    """Rows w.first..w.last of X through the network into w.out, in row tiles; each
    tile's rows checked for NaN and infinity as they are read (w.finite)."""
    cdef const Net* net = w.net
    cdef Py_ssize_t rows = w.last - w.first, task, r0, r1, n_out = net.units[net.n_layers]
    cdef Py_ssize_t tiles = forward_tiles(net, rows)
    cdef Input block = row_block(w.X, w.first, rows, sizeof(floating))
    cdef floating* acts = <floating*> w.acts
    cdef floating* out = <floating*> w.out + w.first * n_out
    cdef char nonfinite
    while True:
        task = claim(team)
        if task >= tiles:
            break
        r0, r1 = tile_start(rows, tiles, task), tile_start(rows, tiles, task + 1)
        forward_tile(net, <floating*> w.params, &block, NULL, NULL, NULL, r0, r1, acts,
                     NULL, NULL, &nonfinite if block.indices == NULL else NULL)
        if block.indices == NULL and nonfinite:
            w.finite = False
        else:
            memcpy(out + r0 * n_out, acts + net.act_off[net.n_layers] + r0 * n_out,
                   (r1 - r0) * n_out * sizeof(floating))


cdef void predict_job(void* work, fastmlp_team* team, int tid) noexcept nogil:
    """The team's job of a prediction chunk (fastmlp_team_job)."""
    cdef Work* w = <Work*> work
    if w.single:
        predict_rows_of(w, team, tid, <float*> NULL)
    else:
        predict_rows_of(w, team, tid, <double*> NULL)


# ---------------------------------------------------------------------------
# Python entry points: check every size, then release the GIL
# ---------------------------------------------------------------------------

cdef inline Input row_block(const Input* X, Py_ssize_t start, Py_ssize_t rows,
                            Py_ssize_t itemsize) noexcept nogil:
    """Rows start..start+rows of X, as an Input of their own."""
    cdef Input block = X[0]
    block.n_rows = rows
    if X.indices != NULL:
        block.indptr = X.indptr + start
    else:
        block.data = <const char*> X.data + start * X.s0 * itemsize
    return block


cdef floating* partial_buffer(floating[::1] partial, Py_ssize_t n_params) except? NULL:
    """The workspace's room for row-split partial gradients, or NULL without it."""
    if partial.shape[0] == 0:
        return NULL
    if partial.shape[0] < ROW_SPLIT_TILES * n_params:
        raise ValueError("the workspace's partial gradients do not fit the network")
    return &partial[0]


def as_policy(threads):
    """A ThreadPolicy, or one that runs every chunk on `threads` threads."""
    return threads if isinstance(threads, ThreadPolicy) else ThreadPolicy(
        threads, schedule=[threads])


cdef void init_work(Work* w, Workspace ws, const Input* X, bint single, void* params,
                    Py_ssize_t n_params):
    """The fields every job reads; the rest start empty."""
    memset(w, 0, sizeof(Work))
    w.net = &ws.layout.net
    w.X = X
    w.single = single
    w.params = params
    w.n_params = n_params
    w.finite = True


cdef int init_training(Work* w, Workspace ws, InputMatrix x, const floating[::1] params,
                       floating[::1] grads, const floating[:, ::1] Y,
                       const floating[::1] sample_weight, Py_ssize_t rows_max,
                       bint in_order) except -1:
    """Check what a training job is handed against the workspace (rows_max rows of
    X at most; in_order: X's rows taken in order), then point w at it all."""
    check_x(ws.layout, params.shape[0], x, np.dtype(np.float32 if floating is float
                                                    else np.float64), rows_max, in_order)
    check_targets(ws.layout, x.input.n_rows, Y, sample_weight)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads and params have different lengths")
    cdef floating[::1] acts = ws.acts
    cdef floating[::1] deltas = ws.deltas
    cdef double[::1] row_loss = ws.row_loss
    cdef floating[::1] partial = ws.partial
    init_work(w, ws, &x.input, floating is float, <void*> &params[0], params.shape[0])
    w.grads = &grads[0]
    w.y = &Y[0, 0]
    if sample_weight is not None:
        w.sw = &sample_weight[0]
    w.acts, w.deltas, w.row_loss = &acts[0], &deltas[0], &row_loss[0]
    w.partial = partial_buffer(partial, params.shape[0])
    return 0


def loss_grad(Workspace ws, const floating[::1] params, floating[::1] grads, X,
              const floating[:, ::1] Y not None, const floating[::1] sample_weight,
              threads):
    """Full-batch loss and gradient (lbfgs and gradient checks).

    Parameters
    ----------
    ws : Workspace whose layout's capacity is at least n_samples
    params : ndarray of shape (n_params,)
    grads : ndarray of shape (n_params,), OUT
    X : ndarray or CSR matrix of shape (n_samples, n_features), or an InputMatrix
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    threads : ThreadPolicy, or int (the threads every chunk runs on)

    Returns
    -------
    loss : float
    """
    cdef InputMatrix x = as_input(X)
    cdef ThreadPolicy policy = as_policy(threads)
    cdef Work w
    init_training(&w, ws, x, params, grads, Y, sample_weight, ws.layout.net.capacity, True)
    w.n_rows = w.batch_size = x.input.n_rows
    w.first, w.last = 0, 1
    w.watch = long_batch(w.net, w.n_rows)
    policy.run(train_job, &w)
    return w.loss


def predict(Workspace ws, const floating[::1] params, X, floating[:, ::1] out, threads):
    """Output of the network for every row of X, in chunks of the capacity.

    Parameters
    ----------
    ws : Workspace
    params : ndarray of shape (n_params,)
    X : ndarray or CSR matrix of shape (n_samples, n_features), or an InputMatrix
    out : ndarray of shape (n_samples, n_outputs), OUT
    threads : ThreadPolicy, or int (the threads every chunk runs on)

    Returns
    -------
    finite : bool
        False when dense X holds NaN or infinity (out is then incomplete). The
        rows are checked as they are read, instead of in a pass of their own.
    """
    cdef InputMatrix x = as_input(X)
    cdef ThreadPolicy policy = as_policy(threads)
    cdef Net* net = &ws.layout.net
    check_x(ws.layout, params.shape[0], x, np.dtype(np.float32 if floating is float
                                                    else np.float64), x.input.n_rows, True)
    cdef Py_ssize_t n_out = net.units[net.n_layers], n = x.input.n_rows, start
    if out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("out has the wrong shape")
    cdef floating[::1] acts = ws.acts
    cdef Work w
    init_work(&w, ws, &x.input, floating is float, <void*> &params[0], params.shape[0])
    w.acts = &acts[0]
    w.out = &out[0, 0]
    for start in range(0, n, net.capacity):
        w.first, w.last = start, min(n, start + net.capacity)
        policy.run(predict_job, &w)
        if not w.finite:
            break
    return w.finite


def params_buffer(coefs, intercepts):
    """The flat ndarray that the arrays of coefs and intercepts are all views of,
    and that they fill (sizes summing to its size), or None where they are not: a
    user may have replaced one, and a pickle stores views as copies."""
    cdef object base = None
    cdef Py_ssize_t size = 0
    for arrays in (coefs, intercepts):
        for a in arrays:
            if not cnp.PyArray_Check(a):
                return None
            if base is None:
                base = <object> (<cnp.ndarray> a).base if (<cnp.ndarray> a).base else None
                if not cnp.PyArray_CheckExact(base) or (<cnp.ndarray> base).ndim != 1:
                    return None     # after unpickling it may be bytes or an mmap
            elif (<cnp.ndarray> a).base != <PyObject*> base:
                return None
            size += cnp.PyArray_SIZE(<cnp.ndarray> a)
    return base if base is not None and size == cnp.PyArray_SIZE(<cnp.ndarray> base) else None


cdef bint rows_forward(const Net* net, const floating* params, const floating* X, Py_ssize_t n,
                       floating* out) noexcept nogil:
    """out = the network's output for n C-ordered rows of X, on the calling thread,
    in work buffers of its own. False (out not written) when X holds NaN or infinity,
    or memory runs out."""
    cdef Py_ssize_t L = net.n_layers
    cdef Input x
    x.data = <const void*> X
    x.s0, x.s1 = net.units[0], 1
    x.indices = x.indptr = NULL
    x.n_rows, x.n_cols = n, net.units[0]
    cdef floating* acts = <floating*> malloc((net.act_off[L] + n * net.units[L]) * sizeof(floating))
    cdef Py_ssize_t t, tiles = forward_tiles(net, n)
    cdef char nonfinite
    cdef bint finite = True
    if acts == NULL:
        return False
    for t in range(tiles):
        forward_tile(net, params, &x, NULL, NULL, NULL, tile_start(n, tiles, t),
                     tile_start(n, tiles, t + 1), acts, NULL, NULL, &nonfinite)
        finite = finite and not nonfinite
    if finite:
        memcpy(out, acts + net.act_off[L], n * net.units[L] * sizeof(floating))
    free(acts)
    return finite


def predict_rows(Layout layout, X, params):
    """Output of the network for a few rows, on the calling thread: the short path
    of a one-row prediction, whose checks are all compiled.

    Parameters
    ----------
    layout : Layout without an input block
    X : ndarray of shape (n_rows, n_features)
    params : ndarray of shape (n_params,), or None

    Returns
    -------
    out : ndarray of shape (n_rows, n_outputs), or None
        None where this path does not apply: unless X is an aligned, C-ordered,
        native-endian ndarray of 1 to capacity rows of the layout's width in params' dtype
        (float32 or float64), and X is finite. The caller then takes the general
        path, whose validation raises scikit-learn's error for such X.
    """
    cdef Net net = layout.net
    cdef Py_ssize_t L = net.n_layers
    if not (cnp.PyArray_CheckExact(X) and cnp.PyArray_CheckExact(params)) or net.input_block:
        return None
    cdef cnp.ndarray x = X, p = params
    cdef int kind = cnp.PyArray_TYPE(x)
    if (x.ndim != 2 or not 1 <= x.shape[0] <= net.capacity or x.shape[1] != net.units[0]
            or not (cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_ISALIGNED(x)
                    and cnp.PyArray_ISNOTSWAPPED(x))
            or p.ndim != 1 or p.shape[0] != layout.n_params
            or not (cnp.PyArray_IS_C_CONTIGUOUS(p) and cnp.PyArray_ISALIGNED(p))
            or cnp.PyArray_TYPE(p) != kind
            or kind != cnp.NPY_FLOAT and kind != cnp.NPY_DOUBLE):
        return None
    cdef cnp.npy_intp shape[2]
    shape[0], shape[1] = x.shape[0], net.units[L]
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, shape, kind, 0)
    cdef bint finite
    with nogil:
        if kind == cnp.NPY_FLOAT:
            finite = rows_forward(&net, <const float*> p.data, <const float*> x.data,
                                  shape[0], <float*> out.data)
        else:
            finite = rows_forward(&net, <const double*> p.data, <const double*> x.data,
                                  shape[0], <double*> out.data)
    return out if finite else None
