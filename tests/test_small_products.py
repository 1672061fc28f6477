"""A small network's products without BLAS (csrc/fastmlp_small.h) against the order
of additions they document, bit for bit.

The rows of A are read in place through row indices (rows of X in a shuffled
batch), in any order and with repeats. The sizes cross every block boundary: 4 rows
(or input features) per block, 2 vectors of 32 bytes across the output's columns,
lanes of 32 bytes across the inner dimension of a one-column product. Cauchy data
makes any other order of additions show in the last bits. The outputs sit between
two sentinel rows, so a write outside them shows. A relu layer's bias and activation,
applied in the same pass, give relu_layer's bits.
"""
import numpy as np
import pytest

import fastmlp
from fastmlp._core._kernels import relu_layer, small_product

M = [1, 3, 4, 5, 9, 37]
K = [1, 3, 4, 5, 8, 9, 20, 33]
N = [1, 2, 7, 8, 9, 15, 16, 17, 64, 67]


def data(dtype, m, k, n, seed):
    rng = np.random.RandomState(seed)
    A = rng.standard_cauchy((m + 7, k)).astype(dtype)
    rows = rng.randint(0, m + 7, m).astype(np.intp)     # shuffled, repeats allowed
    return rng, A, rows


def product_in_order(a, w):
    """a @ w as the loops add: over k in order, or in 32-byte lanes for one column."""
    m, k = a.shape
    if w.shape[1] > 1:
        out = np.zeros((m, w.shape[1]), a.dtype)
        for p in range(k):
            out = out + a[:, p:p + 1] * w[p]
        return out
    lanes = 32 // a.dtype.itemsize
    acc = np.zeros((m, lanes), a.dtype)
    p = 0
    while p + lanes <= k:
        acc = acc + a[:, p:p + lanes] * w[p:p + lanes, 0]
        p += lanes
    s = np.zeros(m, a.dtype)
    for lane in range(lanes):
        s = s + acc[:, lane]
    for q in range(p, k):
        s = s + a[:, q] * w[q, 0]
    return s[:, None]


def t_product_in_order(a, d):
    """a.T @ d, the rows added in order."""
    g = np.zeros((a.shape[1], d.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        g = g + a[i][:, None] * d[i][None, :]
    return g


def call(A, rows, B, n_out_rows, n, trans_a, relu_bias=None):
    room = np.full((n_out_rows + 2, n), 7.0, A.dtype)     # sentinel rows around out
    out = room[1:-1]
    small_product(A, rows, B, out, trans_a, relu_bias)
    assert np.all(room[0] == 7.0) and np.all(room[-1] == 7.0)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_rows_times_w_adds_in_order(dtype):
    for m in M:
        for k in K:
            for n in N:
                rng, A, rows = data(dtype, m, k, n, m * 10000 + k * 100 + n)
                W = rng.standard_cauchy((k, n)).astype(dtype)
                out = call(A, rows, W, m, n, False)
                expected = product_in_order(A[rows], W)
                np.testing.assert_array_equal(out, expected, err_msg=f"m={m} k={k} n={n}")
                if n > 1:     # a relu layer: bias and relu in the same pass, as relu_layer
                    b = rng.standard_cauchy(n).astype(dtype)
                    b[0] = -expected[0, 0]                  # z + b == 0 exactly
                    W[0, -1] = np.nan                       # NaN stays NaN
                    expected = product_in_order(A[rows], W)
                    out = call(A, rows, W, m, n, False, relu_bias=b)
                    relu_layer(expected, b)
                    np.testing.assert_array_equal(out, expected, err_msg=f"m={m} k={k} n={n}")
                    assert not np.signbit(out[~np.isnan(out)]).any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_rows_transposed_times_d_adds_rows_in_order(dtype):
    for m in M:
        for k in K:
            for n in N:
                rng, A, rows = data(dtype, m, k, n, m * 10000 + k * 100 + n + 1)
                D = rng.standard_cauchy((m, n)).astype(dtype)
                out = call(A, rows, D, k, n, True)
                np.testing.assert_array_equal(out, t_product_in_order(A[rows], D),
                                              err_msg=f"m={m} k={k} n={n}")


def test_small_product_checks_its_arguments():
    A = np.ones((4, 3))
    with pytest.raises(ValueError, match="shapes"):
        small_product(A, np.arange(2), np.ones((2, 5)), np.empty((2, 5)))
    with pytest.raises(ValueError, match="shapes"):
        small_product(A, np.arange(2), np.ones((3, 5)), np.empty((2, 5)), relu_bias=np.ones(4))
    with pytest.raises(ValueError, match="out of range"):
        small_product(A, np.array([0, 4]), np.ones((3, 5)), np.empty((2, 5)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_rows_read_in_place_or_gathered_give_the_same_fit(dtype):
    """A row-split network reads a shuffled batch's rows of C-ordered X in place, and
    gathers them from Fortran-ordered X or a column slice: the same bits."""
    rng = np.random.RandomState(0)
    X = rng.randn(1000, 21).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(hidden_layer_sizes=(64,), batch_size=200, max_iter=3, random_state=0)
    fits = []
    for Xk in (np.ascontiguousarray(X[:, :20]), np.asfortranarray(X[:, :20]), X[:, :20]):
        est = fastmlp.MLPClassifier(**params).fit(Xk, y)
        fits.append(est.coefs_ + est.intercepts_)
    for other in fits[1:]:
        for a, b in zip(fits[0], other):
            np.testing.assert_array_equal(a, b)
