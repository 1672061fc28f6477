"""The exp of the core (csrc/fastmlp_exp.h) and the activations made of it:
within 1 ulp of the correctly rounded exp, exact where exp is exact, the IEEE
special values right, and the logistic, softmax and Poisson outputs agreeing with
scikit-learn's formulas (scipy's expit, NumPy's exp)."""
import numpy as np
import pytest
from scipy.special import expit

from fastmlp._core._kernels import Activation, activate

DTYPES = {"f64": np.float64, "f32": np.float32}


def exp_of(x):
    """The core's exp of every element of x (the EXP activation, bias 0)."""
    z = np.ascontiguousarray(np.atleast_2d(x).copy())
    activate(z, np.zeros(z.shape[1], dtype=z.dtype), Activation.EXP)
    return z.reshape(np.shape(x))


def ulps(actual, dtype, x):
    """|actual - exp(x)| in units of the last place of the exact exp (long double)."""
    exact = np.exp(x.astype(np.longdouble))
    finfo = np.finfo(dtype)
    spacing = np.spacing(np.maximum(exact.astype(dtype), finfo.smallest_subnormal))
    return np.abs(actual.astype(np.longdouble) - exact) / spacing.astype(np.longdouble)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double")
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
def test_within_one_ulp(dtype):
    lo, hi = (-745.0, 709.7) if dtype == np.float64 else (-103.9, 88.7)
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.uniform(lo, hi, 200_000), rng.uniform(-1, 1, 100_000),
                        rng.uniform(-1e-6, 1e-6, 1000)]).astype(dtype)
    assert ulps(exp_of(x), dtype, x).max() <= 1.0


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
def test_special_values(dtype):
    big, small = (710.0, -746.0) if dtype == np.float64 else (89.0, -105.0)
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big, small, 1.0], dtype=dtype)
    out = exp_of(x)
    assert out[0] == 1 and out[1] == 1
    assert out[2] == np.inf and out[3] == 0 and np.isnan(out[4])
    assert out[5] == np.inf and out[6] == 0
    assert out[7] == pytest.approx(np.e, rel=float(np.finfo(dtype).eps))
    # the edges of the range: the largest finite result, the smallest subnormal
    top = np.nextafter(np.log(np.finfo(dtype).max), 0, dtype=dtype)
    assert np.isfinite(exp_of(np.array([top]))[0])
    tiny = np.log(np.finfo(dtype).smallest_subnormal).astype(dtype)
    assert exp_of(np.array([tiny]))[0] == np.finfo(dtype).smallest_subnormal


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("rows, n", [(1, 1), (3, 10), (17, 7), (200, 64)])
def test_activations_agree_with_scikit_learns(dtype, rows, n):
    rng = np.random.RandomState(rows * n)
    z = (4 * rng.randn(rows, n)).astype(dtype)
    b = rng.randn(n).astype(dtype)
    rtol = 4 * np.finfo(dtype).eps
    for kind, ref in [(Activation.LOGISTIC, expit(z + b)),
                      (Activation.EXP, np.exp(z + b))]:
        out = z.copy()
        activate(out, b, kind)
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=0)
    out = z.copy()
    activate(out, b, Activation.SOFTMAX)
    shifted = z + b - (z + b).max(axis=1, keepdims=True)
    ref = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=8 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=n * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("kind", [Activation.LOGISTIC, Activation.EXP])
def test_one_column_gives_the_bits_of_a_row(dtype, kind):
    """A one-column block (a binary classifier's or a Poisson regressor's output)
    runs a loop of its own down the rows: the same operations, the same bits."""
    rng = np.random.RandomState(7)
    z = (4 * rng.randn(1001)).astype(dtype)
    z[::97] = np.nan
    b = dtype(rng.randn())
    column = z.reshape(-1, 1).copy()
    activate(column, np.array([b], dtype=dtype), kind)
    row = z.reshape(1, -1).copy()
    activate(row, np.full(z.size, b, dtype=dtype), kind)
    np.testing.assert_array_equal(column.ravel(), row.ravel())


def test_softmax_keeps_a_row_with_nan_nan_and_others_finite():
    z = np.array([[np.nan, 1.0, 2.0], [0.0, 1000.0, -1000.0]])
    activate(z, np.zeros(3), Activation.SOFTMAX)
    assert np.isnan(z[0]).all()
    np.testing.assert_array_equal(z[1], [0.0, 1.0, 0.0])
