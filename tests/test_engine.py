"""The product engine (csrc/fastmlp_gemm.h through fastmlp._core._engine): each
product and epilogue against NumPy, in both dtypes, on shapes off every block size
(one row, one column, primes, the edges of the register blocks and of the inner
blocks), with W packed into panels or read in place; the same bits however the
output is cut into tiles; and the same on every instruction set the CPU has (the
AVX-512 and AVX2 kernels compute the same chains: the same bits)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastmlp._core import _engine as E

DTYPES = [np.float64, np.float32]
# (m, k, n): one row / column / inner element, primes, and sizes one past the
# register blocks (12 and 6 rows, 16/32 and 8/16 columns) and past the inner block
SHAPES = [(1, 1, 1), (1, 7, 3), (3, 1, 5), (13, 5, 17), (29, 31, 37), (12, 16, 16),
          (25, 100, 10), (7, 513, 33), (97, 64, 1), (200, 130, 65)]
TILINGS = [(1, 1), (2, 1), (3, 2), (7, 5)]


def tolerance(dtype, k):
    return (1e-13 if dtype == np.float64 else 2e-5) * max(1, k) ** 0.5


def operands(m, k, n, dtype, seed=0):
    rng = np.random.default_rng(seed + m * 1000 + k * 10 + n)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    return rng, A, B


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_nn_product(m, k, n, dtype):
    _, A, B = operands(m, k, n, dtype)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    outs = []
    for packed in (True, False):
        for tiles in TILINGS:
            out = np.full((m, n), np.nan, dtype)
            outs.append(E.nn(A, B, out, packed=packed, tiles=tiles))
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(outs[0], ref, rtol=0, atol=tolerance(dtype, k) * scale)
    for out in outs[1:]:        # every tiling, packed or not: the same bits
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_nn_reads_rows_through_indices(m, k, n, dtype):
    rng, A, B = operands(m, k, n, dtype)
    big = rng.standard_normal((3 * m + 2, k)).astype(dtype)
    rows = rng.choice(big.shape[0], m, replace=False)
    out = E.nn(big, B, np.empty((m, n), dtype), rows=rows, tiles=(2, 2))
    np.testing.assert_array_equal(out, E.nn(big[rows], B, np.empty((m, n), dtype)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("m, k, n", SHAPES)
@pytest.mark.parametrize("epilogue", ["bias", "bias_relu", "drelu", "dtanh", "dlogistic"])
def test_nn_epilogues(m, k, n, dtype, epilogue):
    """Each epilogue is the elementwise loop's operations on the product: the same
    bits as the product followed by NumPy's operations in the dtype."""
    rng, A, B = operands(m, k, n, dtype)
    bias = rng.standard_normal(n).astype(dtype)
    act = rng.uniform(-1, 1, (m, n)).astype(dtype)
    act[rng.random((m, n)) < 0.3] = 0           # relu's zeros
    z = E.nn(A, B, np.empty((m, n), dtype))
    one = dtype(1)
    expected = {
        "bias": z + bias,
        "bias_relu": np.where(z + bias <= 0, dtype(0), z + bias),
        "drelu": np.where(act != 0, z, dtype(0)),
        "dtanh": z * (one - act * act),
        "dlogistic": z * act * (one - act),
    }[epilogue]
    for tiles in TILINGS:
        out = E.nn(A, B, np.empty((m, n), dtype), epilogue=epilogue, bias=bias, act=act,
                   tiles=tiles)
        np.testing.assert_array_equal(out, expected.astype(dtype))


def test_relu_epilogue_keeps_nan():
    A = np.array([[np.nan, 1.0]])
    B = np.ones((2, 3))
    out = E.nn(A, B, np.empty((1, 3)), epilogue="bias_relu", bias=np.zeros(3))
    assert np.isnan(out).all()      # as np.maximum keeps it: divergence stays visible


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_tn_weight_gradient(m, k, n, dtype):
    """A.T @ D summed over the rows in order, and (A.T @ D + alpha W) / s."""
    rng, A, _ = operands(m, k, n, dtype)
    D = rng.standard_normal((m, n)).astype(dtype)
    W = rng.standard_normal((k, n)).astype(dtype)
    ref = A.T.astype(np.float64) @ D.astype(np.float64)
    plain = [E.tn(A, D, np.empty((k, n), dtype), tiles=t) for t in TILINGS]
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(plain[0], ref, rtol=0, atol=tolerance(dtype, m) * scale)
    for g in plain[1:]:
        np.testing.assert_array_equal(g, plain[0])
    alpha, s = 1e-3, 7.0
    expected = (plain[0] + dtype(alpha) * W) / dtype(s)
    for tiles in TILINGS:
        g = E.tn(A, D, np.empty((k, n), dtype), W=W, alpha=alpha, scale=s, tiles=tiles)
        np.testing.assert_array_equal(g, expected)
    rows = rng.permutation(m)
    np.testing.assert_array_equal(E.tn(A, D[np.argsort(rows)][rows], np.empty((k, n), dtype)),
                                  plain[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("k, n", [(1, 1), (5, 3), (33, 17), (100, 10), (64, 65)])
def test_packed_panels(k, n, dtype):
    W = np.random.default_rng(k * n).standard_normal((k, n)).astype(dtype)
    nr = E.panel_width_of(dtype)
    q = -(-n // nr)
    panels = E.pack(W).reshape(q, k, nr)
    padded = np.zeros((k, q * nr), dtype)
    padded[:, :n] = W
    np.testing.assert_array_equal(panels, padded.reshape(k, q, nr).transpose(1, 0, 2))
    p = -(-k // nr)
    panels_t = E.pack(W, transposed=True).reshape(p, n, nr)
    padded = np.zeros((p * nr, n), dtype)
    padded[:k] = W
    np.testing.assert_array_equal(panels_t, padded.T.reshape(n, p, nr).transpose(1, 0, 2))


def test_shapes_are_checked():
    A, B = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match="shapes"):
        E.nn(A, B, np.empty((3, 4)))
    with pytest.raises(ValueError, match="bias"):
        E.nn(A, B, np.empty((3, 5)), epilogue="bias")
    with pytest.raises(IndexError):
        E.nn(A, B, np.empty((2, 5)), rows=[0, 3])


ISAS = ["portable", "avx2", "avx512"]
RESULTS = """
import sys
import numpy as np
from fastmlp._core import _engine as E
rng = np.random.default_rng(5)
out = {"isa": E.isa()}
for dtype in (np.float64, np.float32):
    for m, k, n in [(13, 5, 17), (200, 130, 65), (25, 100, 10)]:
        A = rng.standard_normal((m, k)).astype(dtype)
        B = rng.standard_normal((k, n)).astype(dtype)
        D = rng.standard_normal((m, n)).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        key = f"{np.dtype(dtype).name}-{m}-{k}-{n}"
        out[key + "-nn"] = E.nn(A, B, np.empty((m, n), dtype), epilogue="bias_relu", bias=b)
        out[key + "-tn"] = E.tn(A, D, np.empty((k, n), dtype))
np.savez(sys.argv[1], **out)
"""


def results_on(isa, tmp_path):
    path = tmp_path / f"{isa}.npz"
    subprocess.run([sys.executable, "-c", textwrap.dedent(RESULTS), str(path)], check=True,
                   env={**os.environ, "FASTMLP_GEMM_ISA": isa})
    return dict(np.load(path))


def test_every_instruction_set(tmp_path):
    """Each kernel the CPU can run agrees with NumPy (above, on the CPU's own); the
    AVX-512 and AVX2 kernels give the same bits; the portable kernel agrees to
    rounding."""
    results = {isa: results_on(isa, tmp_path) for isa in ISAS}
    ran = {isa: str(r.pop("isa")) for isa, r in results.items()}
    assert ran["portable"] == "portable"
    fused = [isa for isa in ("avx2", "avx512") if ran[isa] == isa]
    for isa in fused[1:]:
        for key, value in results[isa].items():
            np.testing.assert_array_equal(value, results[fused[0]][key], err_msg=key)
    for isa in fused:
        for key, value in results[isa].items():
            rtol = 1e-12 if "float64" in key else 1e-4
            np.testing.assert_allclose(value, results["portable"][key], rtol=rtol,
                                       atol=rtol * np.abs(value).max(), err_msg=key)
