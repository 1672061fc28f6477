"""The network: forward pass, loss, output delta and backward pass of a batch, as
the stages a team of threads works through (the team and its policy: _team.pyx;
the products: the engine, _engine.pxd).

Parameters live in one flat buffer packed as scikit-learn packs them for lbfgs:
every W[i].ravel() in layer order, then every intercept b[i]. Beside it, the
Workspace keeps every W in the engine's panels (and, for a fit, every W^T but the
first's): written once when a call starts, then by the optimizer's update, in the
same task, so that no product packs W again.

Determinism: every output element of a product is one chain of multiply-adds over
the inner dimension in its order, whatever tile it falls in, so a stage may be
split into as many tiles as its team can use, and the same fit gives the same bits
on 1, 2 or 64 threads, whichever thread takes which tile. There is no reduction
across threads: sums over the batch happen inside one product's chain, one tile's
loop or a sequential loop.
"""
cimport numpy as cnp
from cpython.object cimport PyObject
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

cnp.import_array()

from ._engine cimport (
    EPI_BIAS,
    EPI_BIAS_RELU,
    EPI_DLOGISTIC,
    EPI_DRELU,
    EPI_DTANH,
    EPI_NONE,
    EPI_WGRAD,
    Product,
    pack_rows,
    panel_width,
    product_nn,
    product_tn,
)
from ._kernels cimport (
    IDENTITY,
    LOGISTIC,
    RELU,
    TANH,
    activation_backward,
    bias_activation,
    column_sums,
    fastmlp_prefetch,
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
    Packing,
    Workspace,
    check_targets,
    check_x,
    delta_rows,
    input_rows,
)
from ._team cimport (
    Grid,
    Stage,
    ThreadPolicy,
    backward_stage,
    barrier,
    batch_flops,
    claim,
    fastmlp_team,
    forward_grid,
    grid_tile,
    is_row_split,
    param_task,
    param_tasks,
    row_split,
    tile_start,
)
from ._updates cimport Step, update_range

from ._layout import as_input


cdef enum:
    GATHER_AHEAD = 8     # rows whose cache lines a gather asks for ahead of copying


# ---------------------------------------------------------------------------
# Layer 0's rows: X's rows read in place, through the batch's row indices
# ---------------------------------------------------------------------------

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


cdef extern from "fastmlp_finite.h":
    bint all_finite_double "fastmlp_all_finite_double" (const double* x, Py_ssize_t n) noexcept nogil
    bint all_finite_float "fastmlp_all_finite_float" (const float* x, Py_ssize_t n) noexcept nogil


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """Whether x[0..n) holds neither NaN nor infinity."""
    if floating is float:
        return all_finite_float(x, n)
    else:
        return all_finite_double(x, n)





cdef void set_input_rows(Work* w, const Py_ssize_t* idx, Py_ssize_t r0, Py_ssize_t r1,
                         floating* kind) noexcept nogil:
    """Point the table of layer 0's rows r0..r1 at X's rows (row r is X's idx[r], or
    r), read in place; where X's columns are not contiguous (F-ordered X), at its
    rows gathered into the workspace's input block first. Rows of X in random order
    are asked for ahead of the products that read them."""
    cdef const Net* net = w.net
    cdef const Input* X = w.X
    cdef const void** table = input_rows(w.rows, net, 0)
    cdef const floating* x = <const floating*> X.data
    cdef floating* block = <floating*> w.acts + net.act_off[0]
    cdef Py_ssize_t r, n = X.n_cols
    if X.s1 == 1:
        for r in range(r0, r1):
            table[r] = x + (idx[r] if idx != NULL else r) * X.s0
            if idx != NULL:
                fastmlp_prefetch(table[r], n * sizeof(floating))
    else:
        gather_rows(X, idx, r0, r1, block)
        for r in range(r0, r1):
            table[r] = block + r * n


cdef bint rows_finite(const void** table, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t n,
                      floating* kind) noexcept nogil:
    """Whether rows r0..r1 of the table (n values each) hold neither NaN nor
    infinity: one check where they are consecutive in memory."""
    cdef Py_ssize_t r
    if r1 > r0 and <const floating*> table[r1 - 1] == <const floating*> table[r0] + (r1 - 1 - r0) * n:
        return all_finite(<const floating*> table[r0], (r1 - r0) * n)
    for r in range(r0, r1):
        if not all_finite(<const floating*> table[r], n):
            return False
    return True


cdef inline void set_weights(Product* p, const Work* w, Py_ssize_t l,
                             floating* kind) noexcept nogil:
    """The product's B: W[l] as its panels, or (without them) in place."""
    if w.packed != NULL:
        p.bp = <const floating*> w.packed + w.packing.w_off[l]
        p.b = NULL
    else:
        p.bp = NULL
        p.b = <const floating*> w.params + w.net.coef_off[l]
        p.ldb = w.net.units[l + 1]


cdef inline int bias_epilogue(int activation) noexcept nogil:
    """The forward product's epilogue for an activation: bias and relu, or the bias
    alone for identity; the others are applied to the tile's rows after it."""
    return EPI_BIAS_RELU if activation == RELU else (
        EPI_BIAS if activation == IDENTITY else EPI_NONE)


cdef void forward_tile(
    Work* w, const Py_ssize_t* idx,     # IN the batch's row indices into X, or NULL
    Py_ssize_t r0, Py_ssize_t r1,
    floating* out,                      # OUT the output layer's rows (prediction), or NULL
    char* nonfinite,                    # OUT whether X's rows held NaN or infinity, or NULL
    floating* kind,
) noexcept nogil:
    """Rows r0..r1 through every layer: A[l+1] = f(A[l] @ W[l] + b[l]) (feedforward).

    Each layer is one product of the engine, its bias and activation applied in the
    product's epilogue (relu, identity) or to the tile's rows right after it, while
    they are in cache (the others; softmax needs a whole row). The output layer goes
    into out's rows where out is given, else into the activations, and in a fit on
    to the output delta and the rows' losses. With nonfinite (dense X), first
    checks the tile's rows of X, just before the first product reads them; when
    they hold NaN or infinity, nothing more is computed."""
    cdef const Net* net = w.net
    cdef const Input* X = w.X
    cdef const floating* params = <const floating*> w.params
    cdef const Py_ssize_t* u = net.units
    cdef Py_ssize_t L = net.n_layers, l, n_out
    cdef int activation
    cdef floating* c
    cdef Product p
    if X.indices == NULL:
        set_input_rows(w, idx, r0, r1, kind)
        if nonfinite != NULL:
            nonfinite[0] = not rows_finite(input_rows(w.rows, net, 0), r0, r1, X.n_cols, kind)
            if nonfinite[0]:
                return
    memset(&p, 0, sizeof(p))
    for l in range(L):
        n_out = u[l + 1]
        c = out if out != NULL and l == L - 1 else <floating*> w.acts + net.act_off[l + 1]
        activation = net.hidden if l < L - 1 else net.output
        if l == 0 and X.indices != NULL:
            sparse_times_dense(X, idx, r0, r1, params, n_out, c)
            bias_activation(c + r0 * n_out, params + net.bias_off[0], r1 - r0, n_out,
                            activation)
            continue
        p.k = u[l]
        p.rows = input_rows(w.rows, net, l)
        set_weights(&p, w, l, kind)
        p.c, p.ldc = c, n_out
        p.epi, p.bias = bias_epilogue(activation), params + net.bias_off[l]
        product_nn(&p, floating is float, r0, r1, 0, n_out)
        if p.epi == EPI_NONE:
            bias_activation(c + r0 * n_out, params + net.bias_off[l], r1 - r0, n_out,
                            activation)
    if w.y != NULL:
        output_delta(net, <const floating*> w.y, <const floating*> w.sw, idx, r0, r1,
                     <floating*> w.acts + net.act_off[L],
                     <floating*> w.deltas + net.act_off[L] - net.act_off[1], w.row_loss)


cdef void forward_small(Work* w, const Py_ssize_t* idx, Py_ssize_t r0, Py_ssize_t r1,
                        floating* kind) noexcept nogil:
    """forward_tile for a row-split network's tile: the products by rows_times
    (csrc/fastmlp_small.h), X's rows read in place, relu hidden layers' bias and
    activation in the same pass."""
    cdef const Net* net = w.net
    cdef const Input* X = w.X
    cdef const floating* params = <const floating*> w.params
    cdef floating* acts = <floating*> w.acts
    cdef const Py_ssize_t* u = net.units
    cdef Py_ssize_t L = net.n_layers, l, lda, rows = r1 - r0
    cdef bint fused
    cdef floating* a_out
    cdef const floating* a_in
    cdef const Py_ssize_t* in_rows
    for l in range(L):
        a_out = acts + net.act_off[l + 1] + r0 * u[l + 1]
        if l == 0 and X.s1 != 1:
            gather_rows(X, idx, r0, r1, acts + net.act_off[0])
        a_in = tile_rows(net, X, idx, acts, l, r0, &lda, &in_rows)
        fused = l < L - 1 and net.hidden == RELU and u[l + 1] > 1
        rows_times(a_in, lda, in_rows, rows, u[l], params + net.coef_off[l], u[l + 1],
                   params + net.bias_off[l] if fused else NULL, a_out)
        if not fused:
            bias_activation(a_out, params + net.bias_off[l], rows, u[l + 1],
                            net.hidden if l < L - 1 else net.output)
    output_delta(net, <const floating*> w.y, <const floating*> w.sw, idx, r0, r1,
                 acts + net.act_off[L], <floating*> w.deltas + net.act_off[L] - net.act_off[1],
                 w.row_loss)


# ---------------------------------------------------------------------------
# Backward pass (backpropagation by the chain rule): per layer, the weight
# gradient in tiles of W, the previous layer's delta in tiles of the batch's rows
# and units, and the intercepts' gradient
# ---------------------------------------------------------------------------

cdef inline floating* delta_of(const Work* w, Py_ssize_t l, floating* kind) noexcept nogil:
    """Layer l's delta d loss / dz (l = 1..n_layers), (rows, units[l])."""
    return <floating*> w.deltas + w.net.act_off[l] - w.net.act_off[1]


cdef void weight_grad_tile(Work* w, Py_ssize_t l, Py_ssize_t f0, Py_ssize_t f1,
                           Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t rows, double sw_sum,
                           floating* kind) noexcept nogil:
    """dW[l][f0:f1, c0:c1] = (A[l][:, f0:f1].T @ delta[:, c0:c1]
                              + alpha W[l][f0:f1, c0:c1]) / sw_sum:
    the derivative of the affine layer z = a @ W + b with respect to W, summed over
    the batch's rows in their order, and the L2 term's, in the product's epilogue."""
    cdef const Net* net = w.net
    cdef Py_ssize_t n_out = net.units[l + 1]
    cdef Product p
    memset(&p, 0, sizeof(p))
    p.k, p.rows = rows, input_rows(w.rows, net, l)
    p.b, p.ldb = delta_of(w, l + 1, kind), n_out
    p.c, p.ldc = <floating*> w.grads + net.coef_off[l], n_out
    p.epi, p.w, p.ldw = EPI_WGRAD, <const floating*> w.params + net.coef_off[l], n_out
    p.alpha, p.scale = net.alpha, sw_sum
    product_tn(&p, floating is float, f0, f1, c0, c1)


cdef inline int derivative_epilogue(int activation) noexcept nogil:
    """The delta product's epilogue: the hidden activation's derivative."""
    return (EPI_DRELU if activation == RELU else EPI_DTANH if activation == TANH
            else EPI_DLOGISTIC if activation == LOGISTIC else EPI_NONE)


cdef void delta_tile(Work* w, Py_ssize_t l, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0,
                     Py_ssize_t c1, floating* kind) noexcept nogil:
    """delta[l][r0:r1, c0:c1] = (delta[l+1] @ W[l].T) * f'(A[l]) (the chain rule
    through layer l's affine map and its activation, the derivative in the
    product's epilogue), from W[l]^T's panels."""
    cdef const Net* net = w.net
    cdef Py_ssize_t n_in = net.units[l]
    cdef Product p
    memset(&p, 0, sizeof(p))
    p.k, p.rows = net.units[l + 1], delta_rows(w.rows, net, l + 1)
    p.bp = <const floating*> w.packed + w.packing.wt_off[l]
    p.c, p.ldc = delta_of(w, l, kind), n_in
    p.epi = derivative_epilogue(net.hidden)
    p.act, p.ld_act = <const floating*> w.acts + net.act_off[l], n_in
    product_nn(&p, floating is float, r0, r1, c0, c1)


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


cdef void backward_task(Work* w, Py_ssize_t l, Py_ssize_t task, const Stage* s,
                        const Py_ssize_t* idx, Py_ssize_t rows, double sw_sum,
                        floating* kind) noexcept nogil:
    """Task `task` of layer l: a weight-gradient tile, a delta tile, or the intercepts."""
    cdef Py_ssize_t r0, r1, c0, c1
    if task < s.weights.tiles:
        grid_tile(&s.weights, task, &r0, &r1, &c0, &c1)
        if l == 0 and w.X.indices != NULL:
            sparse_weight_grad_tile(w.net, w.X, idx, r0, r1, c0, c1, rows,
                                    <const floating*> w.params, delta_of(w, 1, kind), sw_sum,
                                    <floating*> w.grads)
        else:
            weight_grad_tile(w, l, r0, r1, c0, c1, rows, sw_sum, kind)
    elif task < s.weights.tiles + s.delta.tiles:
        grid_tile(&s.delta, task - s.weights.tiles, &r0, &r1, &c0, &c1)
        delta_tile(w, l, r0, r1, c0, c1, kind)
    else:
        bias_grad(w.net, l, rows, delta_of(w, l + 1, kind), sw_sum, <floating*> w.grads)


cdef void backward_rows(
    Work* w, const Py_ssize_t* idx, Py_ssize_t r0, Py_ssize_t r1,
    floating* partial,         # OUT (n_params,) this tile's unscaled gradient
    floating* kind,
) noexcept nogil:
    """Backpropagation of rows r0..r1 alone (after forward_small): partial =
    A[l][r0:r1].T @ delta and the column sums of delta, without the L2 term or the
    division by the batch size, which come once the tiles are summed."""
    cdef const Net* net = w.net
    cdef const floating* acts = <const floating*> w.acts
    cdef Py_ssize_t L = net.n_layers, l, n_in, n_out, rows = r1 - r0, lda
    cdef const floating* a
    cdef const Py_ssize_t* in_rows
    cdef floating* delta
    for l in range(L - 1, -1, -1):
        n_in, n_out = net.units[l], net.units[l + 1]
        delta = delta_of(w, l + 1, kind)
        a = tile_rows(net, w.X, idx, acts, l, r0, &lda, &in_rows)
        rows_t_times(a, lda, in_rows, rows, n_in, delta + r0 * n_out, n_out,
                     partial + net.coef_off[l])
        column_sums(delta, r0, r1, n_out, partial + net.bias_off[l])
        if l == 0:
            break
        if n_out == 1 and net.hidden == RELU:     # the outer product through relu's mask
            outer_relu(delta + r0, <const floating*> w.params + net.coef_off[l],
                       acts + net.act_off[l] + r0 * n_in, rows, n_in,
                       delta_of(w, l, kind) + r0 * n_in)
        else:
            delta_tile(w, l, r0, r1, 0, n_in, kind)


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
        l2 += sum_of_squares(params + net.coef_off[i], net.units[i] * net.units[i + 1])
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


cdef inline bint packs_transposed(const Work* w, Py_ssize_t l) noexcept nogil:
    """Whether W[l]^T's panels are kept: for the delta products of a fit, but those
    a row-split network computes as outer products (one output unit, relu)."""
    return w.fit and l > 0 and not (
        w.row_split and w.net.units[l + 1] == 1 and w.net.hidden == RELU)


cdef void repack(const Work* w, Py_ssize_t start, Py_ssize_t stop, floating* kind) noexcept nogil:
    """The panels of the weights params[start:stop] (whole rows of W's, the first of
    each a multiple of the panel width) written again from the parameters: W[l]'s
    for the forward products (but a row-split network's, whose forward products
    read W in place), W[l]^T's for the deltas."""
    cdef const Net* net = w.net
    cdef const floating* params = <const floating*> w.params
    cdef floating* packed = <floating*> w.packed
    cdef Py_ssize_t l, n_in, n_out, lo, hi
    cdef bint forward = not w.row_split
    for l in range(net.n_layers):
        n_in, n_out = net.units[l], net.units[l + 1]
        lo = max(start, net.coef_off[l]) - net.coef_off[l]
        hi = min(stop, net.coef_off[l] + n_in * n_out) - net.coef_off[l]
        if lo < hi and (forward or packs_transposed(w, l)):
            pack_rows(params + net.coef_off[l], n_in, n_out, lo // n_out, hi // n_out,
                      w.packing.nr, packed + w.packing.w_off[l] if forward else NULL,
                      packed + w.packing.wt_off[l] if packs_transposed(w, l) else NULL)


cdef void pack_weights(Work* w) noexcept nogil:
    """Every W's panels from the parameters as they are (when a call starts)."""
    if w.packed == NULL:
        return
    if w.single:
        repack(w, 0, w.net.n_coefs, <float*> NULL)
    else:
        repack(w, 0, w.net.n_coefs, <double*> NULL)


cdef void params_pass(Work* w, Py_ssize_t task, long t, Py_ssize_t split, double sw_sum,
                      int threads, floating* kind) noexcept nogil:
    """Task `task` of the pass over the parameters after the backward pass: a
    row-split batch's partial gradients summed and scaled there, then the
    optimizer's update (without w.step: the gradient alone) and, in the same task
    while they are in cache, the updated weights' panels."""
    cdef Py_ssize_t start, stop
    cdef floating* params = <floating*> w.params
    cdef floating* grads = <floating*> w.grads
    param_task(w.net, floating is float, threads, task, &start, &stop)
    if split:
        sum_partials(w.net, params, <floating*> w.partial, split, w.n_params, sw_sum,
                     start, stop, grads)
    if w.step != NULL:
        update_range(w.step, t, params, grads, start, stop)
        repack(w, start, stop, kind)


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

    A row-split network (w.row_split) takes each of its row tiles forward and
    backward in one task, and the pass over the parameters sums the tiles' partial
    gradients in tile order. Otherwise the forward pass is one stage of row tiles
    and each layer's backward pass one of its own (weight-gradient tiles, delta
    tiles and the intercepts), every stage in as many tiles as the team can use.
    The L2 term is a task of the first stage (before any update), the loss one of
    the next."""
    cdef const Net* net = w.net
    cdef const floating* params = <floating*> w.params
    cdef double sw_sum = batch_weight(<const floating*> w.sw, idx, rows)
    cdef int threads = team.n
    cdef bint single = floating is float
    cdef Py_ssize_t split = row_split(net, rows) if w.row_split else 0
    cdef Py_ssize_t task, tiles, l, r0, r1, c0, c1, L = net.n_layers
    cdef Py_ssize_t ranges = param_tasks(net, single, threads)
    cdef Grid fg
    cdef Stage st
    if split:
        tiles = split
    else:
        fg = forward_grid(net, rows, single, threads)
        tiles = fg.tiles
    while not stopping(w, tid):        # the forward pass (row-split: and backward)
        task = claim(team)
        if task > tiles:
            break
        if task == tiles:
            w.l2 = weights_squared(net, params)
        elif split:
            r0, r1 = tile_start(rows, split, task), tile_start(rows, split, task + 1)
            forward_small(w, idx, r0, r1, kind)
            backward_rows(w, idx, r0, r1, <floating*> w.partial + task * w.n_params, kind)
        else:
            grid_tile(&fg, task, &r0, &r1, &c0, &c1)
            forward_tile(w, idx, r0, r1, NULL, NULL, kind)
    barrier(team)
    for l in range(-1 if split else L - 1, -1, -1):       # backpropagation
        st = backward_stage(net, l, rows, single, threads)
        while not stopping(w, tid):
            task = claim(team)
            if task > st.tasks or (task == st.tasks and l < L - 1):
                break
            if task == st.tasks:
                batch_loss(w, rows, sw_sum)
            else:
                backward_task(w, l, task, &st, idx, rows, sw_sum, kind)
        barrier(team)
    if w.stop or (not split and w.step == NULL):
        return w.loss                  # abandoned; or the gradient is complete
    while True:                        # the pass over the parameters
        task = claim(team)
        if task > ranges or (task == ranges and not split):
            break
        if task == ranges:
            batch_loss(w, rows, sw_sum)
        else:
            params_pass(w, task, t, split, sw_sum, threads, kind)
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
    """The rows of w.X (a chunk's) through the network into w.out's rows from
    w.first on, in row tiles; each tile's rows checked for NaN and infinity as they
    are read (w.finite)."""
    cdef const Net* net = w.net
    cdef Py_ssize_t rows = w.X.n_rows, task, r0, r1, c0, c1
    cdef Grid g = forward_grid(net, rows, floating is float, team.n)
    cdef floating* out = <floating*> w.out + w.first * net.units[net.n_layers]
    cdef char nonfinite
    while True:
        task = claim(team)
        if task >= g.tiles:
            break
        grid_tile(&g, task, &r0, &r1, &c0, &c1)
        forward_tile(w, NULL, r0, r1, out, &nonfinite if w.X.indices == NULL else NULL, kind)
        if w.X.indices == NULL and nonfinite:
            w.finite = False


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
    w.packed = cnp.PyArray_DATA(ws.packed)
    w.packing = &ws.packing
    w.rows = ws.rows
    w.acts = cnp.PyArray_DATA(ws.acts)
    w.finite = True


cdef int init_training(Work* w, Workspace ws, InputMatrix x, const floating[::1] params,
                       floating[::1] grads, const floating[:, ::1] Y,
                       const floating[::1] sample_weight, Py_ssize_t rows_max) except -1:
    """Check what a training job is handed against the workspace (rows_max rows of
    X at most), then point w at it all, with W's panels made from params."""
    check_x(ws.layout, params.shape[0], x, np.dtype(np.float32 if floating is float
                                                    else np.float64), rows_max)
    check_targets(ws.layout, x.input.n_rows, Y, sample_weight)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads and params have different lengths")
    cdef floating[::1] deltas = ws.deltas
    cdef double[::1] row_loss = ws.row_loss
    cdef floating[::1] partial = ws.partial
    init_work(w, ws, &x.input, floating is float, <void*> &params[0], params.shape[0])
    w.grads = &grads[0]
    w.y = &Y[0, 0]
    if sample_weight is not None:
        w.sw = &sample_weight[0]
    w.deltas, w.row_loss = &deltas[0], &row_loss[0]
    w.partial = partial_buffer(partial, params.shape[0])
    w.fit = True
    w.row_split = (w.partial != NULL and x.input.indices == NULL
                   and is_row_split(w.net, w.net.capacity))
    with nogil:
        pack_weights(w)
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
    init_training(&w, ws, x, params, grads, Y, sample_weight, ws.layout.net.capacity)
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
                                                    else np.float64), x.input.n_rows)
    cdef Py_ssize_t n_out = net.units[net.n_layers], n = x.input.n_rows, start
    if out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("out has the wrong shape")
    cdef Input chunk
    cdef Work w
    init_work(&w, ws, &chunk, floating is float, <void*> &params[0], params.shape[0])
    w.out = &out[0, 0]
    with nogil:
        pack_weights(&w)
    for start in range(0, n, net.capacity):
        chunk = row_block(&x.input, start, min(net.capacity, n - start), sizeof(floating))
        w.first = start
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


cdef bint rows_forward(Layout layout, const floating* params, const floating* X,
                       Py_ssize_t n, floating* out) noexcept nogil:
    """out = the network's output for n C-ordered rows of X (n <= the layout's
    capacity), on the calling thread, in work buffers of its own, W read in place
    (its panels would cost more to make than these rows' products). False (out not
    written) when X holds NaN or infinity, or memory runs out."""
    cdef const Net* net = &layout.net
    cdef Py_ssize_t L = net.n_layers, l, r, cap = net.capacity
    cdef Input x
    x.data = <const void*> X
    x.s0, x.s1 = net.units[0], 1
    x.indices = x.indptr = NULL
    x.n_rows, x.n_cols = n, net.units[0]
    cdef floating* acts = <floating*> malloc(max(net.act_off[L], 1) * sizeof(floating))
    cdef const void** rows = <const void**> malloc(L * cap * sizeof(void*))
    cdef Work w
    cdef char nonfinite = True
    if acts != NULL and rows != NULL:
        memset(&w, 0, sizeof(Work))
        w.net, w.X, w.params, w.acts, w.rows = net, &x, <void*> params, acts, rows
        for l in range(1, L):
            for r in range(n):
                rows[l * cap + r] = acts + net.act_off[l] + r * net.units[l]
        forward_tile(&w, NULL, 0, n, out, &nonfinite, <floating*> NULL)
    free(acts)
    free(<void*> rows)
    return not nonfinite


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
            finite = rows_forward(layout, <const float*> p.data, <const float*> x.data,
                                  shape[0], <float*> out.data)
        else:
            finite = rows_forward(layout, <const double*> p.data, <const double*> x.data,
                                  shape[0], <double*> out.data)
    return out if finite else None
