"""The core's matrix product (``_kernels.gemm``) and its relu loops against NumPy.

One row of A takes the row-times-matrix loop of csrc/fastmlp_rowvec.h (AVX-512,
blocks of up to 16 vectors of the output, the last one masked) or BLAS's gemv;
more rows take BLAS's gemm. The widths cross every block and mask boundary, and
B and out are column slices of wider arrays, so a read or write outside them, or a
lane of a masked vector left out, shows.

The relu layer's loops (csrc/fastmlp_elementwise.h) are built for AVX-512, AVX2 and
the baseline, and must give NumPy's bits exactly whichever runs: relu(z + b),
the mask of its derivative, and column sums added row after row.
"""
import numpy as np
import pytest

from fastmlp._core._kernels import column_sums_of, matmul, relu_delta, relu_layer, relu_outer

EPS = {np.float32: np.finfo(np.float32).eps, np.float64: np.finfo(np.float64).eps}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("k", [1, 7, 784])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 15, 16, 17, 100, 127, 128, 129, 255, 256, 257, 300])
def test_product_matches_numpy(dtype, rows, k, n):
    rng = np.random.RandomState(n * 1000 + k)
    A = rng.uniform(-1, 1, (rows, k)).astype(dtype)
    wide_B = rng.uniform(-1, 1, (k, n + 11)).astype(dtype)
    B = wide_B[:, 5:5 + n]              # leading dimension n + 11
    wide_B[:, :5] = np.nan              # read by mistake, they would show in out
    wide_B[:, 5 + n:] = np.nan
    wide_out = np.full((rows, n + 9), 7.0, dtype=dtype)
    out = wide_out[:, 4:4 + n]

    matmul(A, B, out)

    exact = A.astype(np.float64) @ B.astype(np.float64)
    bound = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64)
    assert np.all(np.abs(out - exact) <= 2 * k * EPS[dtype] * bound)
    assert np.all(wide_out[:, :4] == 7.0) and np.all(wide_out[:, 4 + n:] == 7.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m, n, k", [(100, 64, 1), (7, 130, 1), (1, 1, 1), (64, 1, 100),
                                     (129, 1, 33), (1, 17, 300), (5, 1, 1)])
@pytest.mark.parametrize("sliced", [False, True])
def test_small_shapes_with_transposes(dtype, trans_a, trans_b, m, n, k, sliced):
    """Inner size 1 (the outer product, exact: one rounding per element), A.T times
    one column and one row times B (the row loop), each in every transposition."""
    rng = np.random.RandomState(m + n + k)
    # sliced: column slices of wider arrays, leading dimensions beyond the widths
    shape_a, shape_b = ((k, m) if trans_a else (m, k)), ((n, k) if trans_b else (k, n))
    pad_a, pad_b = (3, 5) if sliced else (0, 0)
    A = rng.uniform(-1, 1, (shape_a[0], shape_a[1] + pad_a)).astype(dtype)
    B = rng.uniform(-1, 1, (shape_b[0], shape_b[1] + pad_b)).astype(dtype)
    A, B = A[:, pad_a:], B[:, pad_b:]
    wide_out = np.full((m, n + 3), 7.0, dtype=dtype)
    out = wide_out[:, 1:1 + n]

    matmul(A, B, out, trans_a, trans_b)

    op_a, op_b = (A.T if trans_a else A), (B.T if trans_b else B)
    if k == 1:
        np.testing.assert_array_equal(out, op_a * op_b)
    exact = op_a.astype(np.float64) @ op_b.astype(np.float64)
    bound = np.abs(op_a).astype(np.float64) @ np.abs(op_b).astype(np.float64)
    assert np.all(np.abs(out - exact) <= 2 * k * EPS[dtype] * bound)
    assert np.all(wide_out[:, 0] == 7.0) and np.all(wide_out[:, 1 + n:] == 7.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_one_row_product_is_the_row_of_a_batch_product(dtype):
    """The row loop and BLAS's gemm agree to rounding on the same row."""
    rng = np.random.RandomState(0)
    A = rng.randn(5, 300).astype(dtype)
    B = rng.randn(300, 130).astype(dtype)
    one, batch = np.empty((1, 130), dtype), np.empty((5, 130), dtype)
    matmul(A[2:3], B, one)
    matmul(A, B, batch)
    np.testing.assert_allclose(one[0], batch[2], rtol=100 * EPS[dtype], atol=100 * EPS[dtype])


def test_bad_shapes_raise():
    A, B = np.ones((1, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="shapes"):
        matmul(A, B, np.empty((1, 5)))
    with pytest.raises(ValueError, match="contiguous"):
        matmul(A, np.ones((3, 8))[:, ::2], np.empty((1, 4)))


SIZES = [(1, 1), (3, 7), (5, 16), (7, 33), (200, 64), (13, 129)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("rows, n", SIZES)
def test_relu_loops_match_numpy_bit_for_bit(dtype, rows, n):
    rng = np.random.RandomState(rows * n)
    z = rng.randn(rows, n).astype(dtype)
    b = rng.randn(n).astype(dtype)
    z.flat[::5] = -b[np.arange(z.size)[::5] % n]      # z + b == 0 exactly
    z[0, 0] = np.nan                                    # divergence stays visible
    expected = np.maximum(z + b, 0)
    relu_layer(z, b)
    np.testing.assert_array_equal(z, expected)          # NaN where NumPy has NaN
    assert not np.signbit(z[~np.isnan(z)]).any()       # relu(-0.0) is +0.0 as np.maximum's

    delta = rng.randn(rows * n).astype(dtype)
    expected = np.where(z.ravel() != 0, delta, 0)
    relu_delta(delta, z.ravel())
    np.testing.assert_array_equal(delta, expected)

    # the delta before a one-unit layer: outer product and mask in one pass
    x, w = rng.randn(rows).astype(dtype), rng.randn(n).astype(dtype)
    out = np.full((rows, n), np.nan, dtype)
    relu_outer(x, w, z, out)
    np.testing.assert_array_equal(out, np.where(z != 0, np.outer(x, w), 0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("rows, n", SIZES)
def test_column_sums_add_rows_in_order(dtype, rows, n):
    x = np.random.RandomState(n).standard_cauchy((rows, n)).astype(dtype)   # rounding shows
    expected = np.zeros(n, dtype)
    for row in x:
        expected = expected + row
    out = np.full(n, np.nan, dtype)
    column_sums_of(x, out)
    np.testing.assert_array_equal(out, expected)
