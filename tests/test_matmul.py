"""The core's matrix product (``_kernels.gemm``) against NumPy.

One row of A takes the row-times-matrix loop of csrc/fastmlp_rowvec.h (AVX-512,
blocks of up to 16 vectors of the output, the last one masked) or BLAS's gemv;
more rows take BLAS's gemm. The widths cross every block and mask boundary, and
B and out are column slices of wider arrays, so a read or write outside them, or a
lane of a masked vector left out, shows.
"""
import numpy as np
import pytest

from fastmlp._core._kernels import matmul

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
