"""The network: forward pass, loss, output delta and backward pass of one batch.

Parameters live in one flat buffer packed as scikit-learn packs them for lbfgs:
every W[i].ravel() in layer order, then every intercept b[i].

Determinism: work is split into tiles whose number depends only on the shapes,
never on the thread count, and every tile is computed by one BLAS call on one
thread, so the same fit gives the same bits on 1, 2 or 8 threads. There is no
reduction across threads: sums over the batch happen inside one tile's GEMM or
in a sequential loop.
"""
cimport numpy as cnp
from cpython.object cimport PyObject
from cython cimport floating
from cython.parallel cimport prange
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
    sample_loss,
    sum_of_squares,
)
from ._layout cimport (
    MAX_TILES,
    ROW_SPLIT_TILES,
    Input,
    InputMatrix,
    Layout,
    Net,
    Workspace,
    check_targets,
    check_x,
)

from ._layout import as_input


cdef enum:
    MIN_TILE_ROWS = 96   # fewest rows (of X, or of W for a weight gradient) in a tile
                         # whose product BLAS packs: it runs near its peak from here on
    SMALL_TILE_ROWS = 32 # fewest rows in a tile whose product BLAS does not pack
    MIN_TILE_COLS = 32   # fewest columns of a weight-gradient tile
    GATHER_AHEAD = 8     # rows whose cache lines a gather asks for ahead of copying

# Work worth a tile of its own (about 10 to 50 microseconds on one core); smaller
# stages stay in one tile and run without opening a parallel region.
cdef double TILE_FLOPS = 4e5

# OpenBLAS multiplies a product of up to about this many multiply-adds (m n k)
# straight from its operands, without packing them into blocks first. Tiles of such
# products can be short: no packing cost is repeated per tile.
cdef double SMALL_PRODUCT = 1e6


cdef inline Py_ssize_t min_rows(double k_times_n) noexcept nogil:
    """Fewest rows of a tile whose products have inner size x output width up to
    k_times_n: short tiles when BLAS multiplies them unpacked, else MIN_TILE_ROWS."""
    return SMALL_TILE_ROWS if MIN_TILE_ROWS * k_times_n <= SMALL_PRODUCT else MIN_TILE_ROWS


cdef inline Py_ssize_t n_tiles(Py_ssize_t n, double item_flops, Py_ssize_t fewest,
                               Py_ssize_t most=MAX_TILES) noexcept nogil:
    """How many tiles of at least `fewest` items to split n items of `item_flops`
    each into, `most` at most: a function of the shapes alone, never of the thread
    count. A power of two, so that tiles share out evenly over 2, 4 or 8 threads."""
    cdef Py_ssize_t t = n // fewest, tiles = 1
    cdef double by_work = n * item_flops / TILE_FLOPS
    if by_work < t:
        t = <Py_ssize_t> by_work
    while tiles * 2 <= t and tiles * 2 <= most:
        tiles *= 2
    return tiles


cdef inline Py_ssize_t tile_start(Py_ssize_t n, Py_ssize_t tiles, Py_ssize_t t) noexcept nogil:
    """First row of tile t of `tiles` balanced tiles over n rows."""
    return (t * n) // tiles


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


cdef void forward_tile(
    const Net* net, const floating* params, const Input* X,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t r0, Py_ssize_t r1,
    floating* acts, floating* deltas, double* row_loss,
    char* nonfinite,
) noexcept nogil:
    """Rows r0..r1 through every layer: A[l+1] = f(A[l] @ W[l] + b[l]).

    With nonfinite (dense X), first sets it to whether the rows hold NaN or
    infinity: read just before the product reads them, they come from cache."""
    cdef const Py_ssize_t* u = net.units
    cdef Py_ssize_t L = net.n_layers, l
    cdef Py_ssize_t rows = r1 - r0
    cdef floating* a_out
    cdef const floating* a_in
    for l in range(L):
        a_out = acts + net.act_off[l + 1] + r0 * u[l + 1]
        if l == 0 and X.indices != NULL:
            sparse_times_dense(X, idx, r0, r1, params, u[1], acts + net.act_off[1])
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


cdef double weights_per_row(const Net* net, double* widest) noexcept nogil:
    """The multiply-adds of one row's forward pass (all weights, units[l] x
    units[l+1] summed over the layers); sets widest to the largest layer's."""
    cdef double total = 0, size
    cdef Py_ssize_t l
    widest[0] = 0
    for l in range(net.n_layers):
        size = <double> net.units[l] * net.units[l + 1]
        total += size
        widest[0] = max(widest[0], size)
    return total


cdef Py_ssize_t forward_tiles(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Row tiles of the forward pass: a tile goes through every layer."""
    cdef double widest
    cdef double weights = weights_per_row(net, &widest)
    return n_tiles(rows, 2.0 * weights, min_rows(widest))


cdef void forward(
    const Net* net,
    const floating* params,
    const Input* X,
    const floating* y, const floating* sw, const Py_ssize_t* idx,
    Py_ssize_t rows,
    floating* acts,
    floating* deltas,
    double* row_loss,
    char* nonfinite,
) noexcept nogil:
    """Forward pass of `rows` rows (<= capacity), in parallel row tiles.

    With y, also each row's weighted loss and the output delta. With nonfinite
    (MAX_TILES entries), also whether each tile's input rows hold NaN or infinity."""
    cdef Py_ssize_t t, tiles = forward_tiles(net, rows)
    if tiles == 1:
        forward_tile(net, params, X, y, sw, idx, 0, rows, acts, deltas, row_loss,
                     nonfinite)
        return
    for t in prange(tiles, schedule="static", num_threads=net.n_threads):
        forward_tile(net, params, X, y, sw, idx,
                     tile_start(rows, tiles, t), tile_start(rows, tiles, t + 1),
                     acts, deltas, row_loss, nonfinite + t if nonfinite != NULL else NULL)


cdef extern from "fastmlp_finite.h":
    bint all_finite_double "fastmlp_all_finite_double" (const double* x, Py_ssize_t n) noexcept nogil
    bint all_finite_float "fastmlp_all_finite_float" (const float* x, Py_ssize_t n) noexcept nogil


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """Whether x[0..n) holds neither NaN nor infinity."""
    if floating is float:
        return all_finite_float(x, n)
    else:
        return all_finite_double(x, n)


cdef bint any_set(const char* flags, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if flags[i]:
            return True
    return False


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


cdef struct Tiling:
    # How the backward pass of one layer is split into independent tasks
    Py_ssize_t f_tiles, c_tiles   # weight gradient: f_tiles x c_tiles blocks of dW
    Py_ssize_t r_tiles            # the previous layer's delta: tiles of batch rows
    Py_ssize_t tasks              # all of them, and one more for the intercepts


cdef Tiling backward_tiling(const Net* net, Py_ssize_t l, Py_ssize_t rows) noexcept nogil:
    """Layer l's tiles. The weight gradient is split by rows of W (its input
    features); a layer with too few of them is split by W's columns instead."""
    cdef Tiling t
    cdef Py_ssize_t n_in = net.units[l], n_out = net.units[l + 1]
    t.f_tiles = n_tiles(n_in, 2.0 * rows * n_out, min_rows(<double> rows * n_out))
    t.c_tiles = 1
    if t.f_tiles == 1:
        t.c_tiles = n_tiles(n_out, 2.0 * rows * n_in, MIN_TILE_COLS)
    t.r_tiles = n_tiles(rows, 2.0 * n_in * n_out, min_rows(<double> n_in * n_out)) if l > 0 else 0
    t.tasks = t.f_tiles * t.c_tiles + t.r_tiles + 1
    return t


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


cdef void backward(
    const Net* net, const floating* params, const Input* X, const Py_ssize_t* idx,
    const floating* acts, floating* deltas, Py_ssize_t rows, double sw_sum,
    floating* grads,           # OUT (n_params,)
) noexcept nogil:
    """Backpropagation, last layer first. The tasks of one layer are independent
    and write disjoint outputs, so any schedule gives the same bits."""
    cdef Py_ssize_t l, task
    cdef Tiling t
    for l in range(net.n_layers - 1, -1, -1):
        t = backward_tiling(net, l, rows)
        if 2.0 * rows * net.units[l] * net.units[l + 1] * (2 if l > 0 else 1) < 2 * TILE_FLOPS:
            for task in range(t.tasks):
                backward_task(net, l, task, &t, params, X, idx, acts, deltas, rows,
                              sw_sum, grads)
            continue
        for task in prange(t.tasks, schedule="dynamic", num_threads=net.n_threads):
            backward_task(net, l, task, &t, params, X, idx, acts, deltas, rows,
                          sw_sum, grads)


cdef Py_ssize_t row_split(const Net* net, Py_ssize_t rows) noexcept nogil:
    """Row tiles that each take their rows through the forward and the backward
    pass on one thread, leaving a partial gradient, or 1 for none. For the
    smallest networks: products BLAS multiplies unpacked, and a forward pass too
    small to split on its own. Two tiles at most: each halves the inner size of
    the weight-gradient products, and their calls' fixed costs add up. (Measured
    on 2 cores: 20-64-1 with 200 rows ~10-25% faster; 50-128-64-1, whose stages
    split on their own, slower.) A function of the shapes alone."""
    cdef double widest
    cdef double weights = weights_per_row(net, &widest)
    if min_rows(widest) != SMALL_TILE_ROWS or forward_tiles(net, rows) > 1:
        return 1
    # 2 flops per weight each for the forward pass, dW and the delta
    return n_tiles(rows, 6.0 * weights, SMALL_TILE_ROWS, ROW_SPLIT_TILES)


cdef void backward_rows(
    const Net* net, const floating* params, const Input* X, const Py_ssize_t* idx,
    const floating* acts, floating* deltas, Py_ssize_t r0, Py_ssize_t r1,
    floating* partial,         # OUT (n_params,) this tile's unscaled gradient
) noexcept nogil:
    """Backpropagation of rows r0..r1 alone: partial = A[l][r0:r1].T @ delta and the
    column sums of delta, without the L2 term or the division by the batch size,
    which come once the tiles are summed."""
    cdef Py_ssize_t L = net.n_layers, l, n_in, n_out, rows = r1 - r0
    cdef const floating* a
    cdef floating* delta
    for l in range(L - 1, -1, -1):
        n_in, n_out = net.units[l], net.units[l + 1]
        delta = deltas + net.act_off[l + 1] - net.act_off[1]
        a = input_layer(net, X, idx, acts) if l == 0 else acts + net.act_off[l]
        gemm(True, False, <int> n_in, <int> n_out, <int> rows,
             1, a + r0 * n_in, <int> n_in, delta + r0 * n_out, <int> n_out,
             0, partial + net.coef_off[l], <int> n_out)
        column_sums(delta, r0, r1, n_out, partial + net.bias_off[l])
        if l > 0:
            delta_tile(net, l, r0, r1, params, acts, delta,
                       deltas + net.act_off[l] - net.act_off[1])


cdef void sum_partials(
    const Net* net, const floating* params, const floating* partial,
    Py_ssize_t tiles, Py_ssize_t n_params, double sw_sum,
    floating* grads,           # OUT (n_params,)
) noexcept nogil:
    """grads = (sum of the tiles' partial gradients, tile after tile
                + alpha W for the weights) / sw_sum.

    On one thread, in loops without branches, which the compiler vectorises: a
    row-split network is small (its forward pass fits one tile, so fewer than
    TILE_FLOPS / rows weights), and a parallel region would cost more."""
    cdef floating alpha = <floating> net.alpha, s = <floating> sw_sum
    cdef Py_ssize_t i, t
    memcpy(grads, partial, n_params * sizeof(floating))
    for t in range(1, tiles):
        for i in range(n_params):
            grads[i] = grads[i] + partial[t * n_params + i]
    for i in range(net.n_coefs):          # weights: the L2 term too
        grads[i] = (grads[i] + alpha * params[i]) / s
    for i in range(net.n_coefs, n_params):  # intercepts
        grads[i] = grads[i] / s


cdef double batch_loss_grad(
    const Net* net,
    const floating* params,
    floating* grads,
    const Input* X,
    const floating* y,
    const floating* sw,
    const Py_ssize_t* idx,
    Py_ssize_t rows,
    floating* acts,
    floating* deltas,
    double* row_loss,
    floating* partial,
) noexcept nogil:
    """Loss of one batch and its gradient with respect to every parameter.

    loss = sum_i sw_i loss_i / sw_sum + 0.5 alpha ||W||^2 / sw_sum, where sw_sum
    is the batch's size or the sum of its sample weights, as scikit-learn.

    A small network with room for partial gradients (dense X) trains row-split:
    each row tile goes forward and backward on one thread, and the tiles' partial
    gradients are summed in tile order. Otherwise each stage is split on its own."""
    cdef double sw_sum = 0.0, loss = 0.0, l2 = 0.0
    cdef Py_ssize_t r, i, t, tiles = 1
    cdef Py_ssize_t n_params = net.bias_off[net.n_layers - 1] + net.units[net.n_layers]
    if partial != NULL and X.indices == NULL:
        tiles = row_split(net, rows)
    if tiles > 1:
        for t in prange(tiles, schedule="static", num_threads=net.n_threads):
            forward_tile(net, params, X, y, sw, idx, tile_start(rows, tiles, t),
                         tile_start(rows, tiles, t + 1), acts, deltas, row_loss, NULL)
            backward_rows(net, params, X, idx, acts, deltas, tile_start(rows, tiles, t),
                          tile_start(rows, tiles, t + 1), partial + t * n_params)
    else:
        forward(net, params, X, y, sw, idx, rows, acts, deltas, row_loss, NULL)
    for r in range(rows):
        loss += row_loss[r]
        if sw != NULL:
            sw_sum += sw[idx[r] if idx != NULL else r]
    if sw == NULL:
        sw_sum = rows
    for i in range(net.n_layers):     # ||W||^2 layer by layer, as scikit-learn sums it
        l2 += sum_of_squares(params + net.coef_off[i], <int> (net.units[i] * net.units[i + 1]))
    if tiles > 1:
        sum_partials(net, params, partial, tiles, n_params, sw_sum, grads)
    else:
        backward(net, params, X, idx, acts, deltas, rows, sw_sum, grads)
    return loss / sw_sum + 0.5 * net.alpha * l2 / sw_sum


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


def tiling(Layout layout, Py_ssize_t rows):
    """How a batch of `rows` rows is split: the forward pass's row tiles, each
    layer's backward tiles as (feature tiles, column tiles, row tiles) of its
    weight gradient and delta, and the row tiles of a row-split batch (which
    replace the others when > 1). A function of the shapes alone (for the tests)."""
    cdef Net net = layout.net
    cdef Py_ssize_t l
    cdef Tiling t
    if not 1 <= rows <= net.capacity:
        raise ValueError(f"rows {rows} outside [1, {net.capacity}]")
    backward = []
    for l in range(net.n_layers):
        t = backward_tiling(&net, l, rows)
        backward.append((t.f_tiles, t.c_tiles, t.r_tiles))
    return {"forward": forward_tiles(&net, rows), "backward": backward,
            "row_split": row_split(&net, rows)}


cdef floating* partial_buffer(floating[::1] partial, Py_ssize_t n_params) except? NULL:
    """The workspace's room for row-split partial gradients, or NULL without it."""
    if partial.shape[0] == 0:
        return NULL
    if partial.shape[0] < ROW_SPLIT_TILES * n_params:
        raise ValueError("the workspace's partial gradients do not fit the network")
    return &partial[0]


def loss_grad(Workspace ws, const floating[::1] params, floating[::1] grads, X,
              const floating[:, ::1] Y not None, const floating[::1] sample_weight,
              int n_threads):
    """Full-batch loss and gradient (lbfgs and gradient checks).

    Parameters
    ----------
    ws : Workspace whose layout's capacity is at least n_samples
    params : ndarray of shape (n_params,)
    grads : ndarray of shape (n_params,), OUT
    X : ndarray or CSR matrix of shape (n_samples, n_features), or an InputMatrix
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    n_threads : int

    Returns
    -------
    loss : float
    """
    cdef InputMatrix x = as_input(X)
    cdef Net net = ws.layout.net
    check_x(ws.layout, params.shape[0], x, np.dtype(np.float32 if floating is float
                                                    else np.float64), net.capacity, True)
    check_targets(ws.layout, x.input.n_rows, Y, sample_weight)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads and params have different lengths")
    cdef floating[::1] acts = ws.acts
    cdef floating[::1] deltas = ws.deltas
    cdef double[::1] row_loss = ws.row_loss
    cdef floating[::1] partial = ws.partial
    cdef floating* part = partial_buffer(partial, params.shape[0])
    cdef const floating* sw = NULL if sample_weight is None else &sample_weight[0]
    cdef double loss
    net.n_threads = n_threads
    with nogil:
        loss = batch_loss_grad(&net, &params[0], &grads[0], &x.input, &Y[0, 0], sw, NULL,
                               x.input.n_rows, &acts[0], &deltas[0], &row_loss[0], part)
    return loss


def predict(Workspace ws, const floating[::1] params, X, floating[:, ::1] out,
            int n_threads):
    """Output of the network for every row of X, in chunks of the capacity.

    Parameters
    ----------
    ws : Workspace
    params : ndarray of shape (n_params,)
    X : ndarray or CSR matrix of shape (n_samples, n_features), or an InputMatrix
    out : ndarray of shape (n_samples, n_outputs), OUT
    n_threads : int

    Returns
    -------
    finite : bool
        False when dense X holds NaN or infinity (out is then incomplete). The
        rows are checked as they are read, instead of in a pass of their own.
    """
    cdef InputMatrix x = as_input(X)
    cdef Net net = ws.layout.net
    cdef Py_ssize_t itemsize = sizeof(floating)
    check_x(ws.layout, params.shape[0], x, np.dtype(np.float32 if floating is float
                                                    else np.float64), x.input.n_rows, True)
    cdef Py_ssize_t L = net.n_layers, n_out = net.units[L], n = x.input.n_rows
    if out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("out has the wrong shape")
    cdef floating[::1] acts = ws.acts
    cdef Py_ssize_t c, start, rows
    cdef Input block
    cdef const floating* no_y = NULL
    cdef floating* no_deltas = NULL
    cdef char nonfinite[MAX_TILES]
    cdef char* check = nonfinite if x.input.indices == NULL else NULL
    cdef bint finite = True
    memset(nonfinite, 0, MAX_TILES)
    net.n_threads = n_threads
    with nogil:
        for c in range((n + net.capacity - 1) // net.capacity):
            start = c * net.capacity
            rows = min(net.capacity, n - start)
            block = row_block(&x.input, start, rows, itemsize)
            forward(&net, &params[0], &block, no_y, no_y, NULL, rows, &acts[0],
                    no_deltas, NULL, check)
            if check != NULL and any_set(check, MAX_TILES):
                finite = False
                break
            memcpy(&out[start, 0], &acts[net.act_off[L]], rows * n_out * sizeof(floating))
    return finite


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


cdef bint rows_forward(Net* net, const floating* params, const floating* X, Py_ssize_t n,
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
    cdef char nonfinite[MAX_TILES]
    cdef bint finite
    if acts == NULL:
        return False
    memset(nonfinite, 0, MAX_TILES)
    net.n_threads = 1
    forward(net, params, &x, NULL, NULL, NULL, n, acts, NULL, NULL, nonfinite)
    finite = not any_set(nonfinite, MAX_TILES)
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
