"""The core's elementwise loops (csrc/fastmlp_elementwise.h) against NumPy.

They are built for AVX-512, AVX2 and the baseline, and must give NumPy's bits
exactly whichever runs: relu(z + b), the mask of its derivative, column sums added
row after row, and the sum of squares in its fixed order of partial sums.
"""
import numpy as np
import pytest

from fastmlp._core._kernels import column_sums_of, relu_delta, relu_layer, relu_outer, sum_squares

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


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 100, 78400])
def test_sum_of_squares_in_its_order(dtype, n):
    """In double, eight partial sums (lane j takes elements j, j + 8, ...) added in
    order, then the elements past the last whole eight."""
    x = np.random.RandomState(n).standard_cauchy(n).astype(dtype)
    v = x.astype(np.float64)
    whole = n // 8 * 8
    lanes = np.zeros(8)
    for start in range(0, whole, 8):
        lanes = lanes + v[start:start + 8] * v[start:start + 8]
    expected = 0.0
    for lane in lanes:
        expected = expected + lane
    for value in v[whole:]:
        expected = expected + value * value
    assert sum_squares(x) == expected
