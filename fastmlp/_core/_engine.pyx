"""The product engine's test hooks: each product, epilogue and packing of
csrc/fastmlp_gemm.h on NumPy arrays, split into a grid of tiles of the caller's
choice (for the tests: the bits must not depend on the grid)."""
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memset

import numpy as np

from ._engine cimport (
    EPI_BIAS,
    EPI_BIAS_RELU,
    EPI_DLOGISTIC,
    EPI_DRELU,
    EPI_DTANH,
    EPI_NONE,
    EPI_WGRAD,
    Product,
    block_rows,
    isa_used,
    pack_rows,
    panel_width,
    panels,
    product_nn,
    product_tn,
)

cnp.import_array()

EPILOGUES = {"none": EPI_NONE, "bias": EPI_BIAS, "bias_relu": EPI_BIAS_RELU,
             "drelu": EPI_DRELU, "dtanh": EPI_DTANH, "dlogistic": EPI_DLOGISTIC,
             "wgrad": EPI_WGRAD}


def isa():
    """The instruction set the kernels run with: 'portable', 'avx2' or 'avx512'."""
    return ("portable", "avx2", "avx512")[isa_used()]


def panel_width_of(dtype):
    """Columns of a packed panel of W in `dtype`."""
    return panel_width(np.dtype(dtype) == np.float32)


def block_rows_of(dtype):
    """Rows of the kernels' register block in `dtype`."""
    return block_rows(np.dtype(dtype) == np.float32)


def pack(const floating[:, ::1] W, bint transposed=False):
    """W (n_in, n_out) as the engine's panels of W (for A @ W), or of W^T."""
    cdef Py_ssize_t n_in = W.shape[0], n_out = W.shape[1]
    cdef Py_ssize_t nr = panel_width(floating is float)
    cdef floating[::1] out = np.full(
        panels(n_in if transposed else n_out, nr) * nr * (n_out if transposed else n_in),
        np.nan, dtype=np.float32 if floating is float else np.float64)
    if transposed:
        pack_rows(&W[0, 0], n_in, n_out, 0, n_in, nr, NULL, &out[0])
    else:
        pack_rows(&W[0, 0], n_in, n_out, 0, n_in, nr, &out[0], NULL)
    return np.asarray(out)


cdef const void** row_table(const floating[:, ::1] A, rows) except NULL:
    """The addresses of A's rows `rows` (all, in order, with None), malloc'ed."""
    cdef Py_ssize_t n = A.shape[0] if rows is None else len(rows), r, i
    cdef const void** table = <const void**> malloc(max(n, 1) * sizeof(void*))
    if table == NULL:
        raise MemoryError()
    for r in range(n):
        i = r if rows is None else rows[r]
        if not 0 <= i < A.shape[0]:
            free(table)
            raise IndexError("row index out of range")
        table[r] = &A[i, 0]
    return table


def _tile_bounds(n, tiles, unit):
    """`tiles` consecutive ranges covering 0..n, each starting at a multiple of unit."""
    blocks = -(-n // unit)
    starts = [min(n, (t * blocks // tiles) * unit) for t in range(tiles)] + [n]
    return list(zip(starts[:tiles], starts[1:]))


cdef _run_tiles(Product* p, bint single, bint tn, Py_ssize_t m, Py_ssize_t n, tiles,
                int repeat):
    """p's product (tn: A^T D, else A B) over m x n outputs in tiles[0] x tiles[1]
    tiles, `repeat` times over; frees p.rows."""
    cdef Py_ssize_t i0, i1, j0, j1
    try:
        for _ in range(repeat):
            for i0, i1 in _tile_bounds(m, tiles[0], block_rows(single)):
                for j0, j1 in _tile_bounds(n, tiles[1], panel_width(single)):
                    if i0 < i1 and j0 < j1:
                        with nogil:
                            if tn:
                                product_tn(p, single, i0, i1, j0, j1)
                            else:
                                product_nn(p, single, i0, i1, j0, j1)
    finally:
        free(<void*> p.rows)


def nn(const floating[:, ::1] A, const floating[:, ::1] B, floating[:, ::1] out, rows=None,
       bint packed=True, epilogue="none", const floating[::1] bias=None,
       const floating[:, ::1] act=None, tiles=(1, 1), int repeat=1):
    """out = epilogue(A[rows] @ B), computed in tiles[0] x tiles[1] tiles of out
    (`repeat` times over, for bench/tile_products.py).

    B (k, n) is packed into panels first, or read in place (packed=False); bias
    (n,) for the bias epilogues, act (m, n) the activations of the derivative ones."""
    cdef bint single = floating is float
    cdef Py_ssize_t m = out.shape[0], n = out.shape[1], k = B.shape[0]
    if A.shape[1] != k or B.shape[1] != n or m != (A.shape[0] if rows is None else len(rows)):
        raise ValueError("shapes do not match")
    cdef int kind = EPILOGUES[epilogue]
    if kind in (EPI_BIAS, EPI_BIAS_RELU) and (bias is None or bias.shape[0] != n):
        raise ValueError("this epilogue needs a bias of length n")
    if kind in (EPI_DRELU, EPI_DTANH, EPI_DLOGISTIC) and (
            act is None or act.shape[0] != m or act.shape[1] != n):
        raise ValueError("this epilogue needs act of out's shape")
    if kind == EPI_WGRAD:
        raise ValueError("the weight gradient's epilogue is tn's")
    cdef floating[::1] bp
    cdef Product p
    memset(&p, 0, sizeof(p))
    p.k, p.b, p.ldb, p.c, p.ldc, p.epi = k, &B[0, 0], n, &out[0, 0], n, kind
    p.bp = NULL
    if packed:
        bp = pack(B)
        p.bp = &bp[0]
    p.bias = &bias[0] if bias is not None else NULL
    p.act = &act[0, 0] if act is not None else NULL
    p.ld_act = n
    p.w = NULL
    p.rows = row_table(A, rows)
    _run_tiles(&p, single, False, m, n, tiles, repeat)
    return np.asarray(out)


def tn(const floating[:, ::1] A, const floating[:, ::1] D, floating[:, ::1] out, rows=None,
       const floating[:, ::1] W=None, double alpha=0.0, double scale=1.0, tiles=(1, 1),
       int repeat=1):
    """out = A[rows].T @ D, or with W (the weight gradient's epilogue)
    (A[rows].T @ D + alpha W) / scale, in tiles[0] x tiles[1] tiles of out
    (`repeat` times over)."""
    cdef bint single = floating is float
    cdef Py_ssize_t f = out.shape[0], n = out.shape[1], k = D.shape[0]
    if A.shape[1] != f or D.shape[1] != n or k != (A.shape[0] if rows is None else len(rows)):
        raise ValueError("shapes do not match")
    if W is not None and (W.shape[0] != f or W.shape[1] != n):
        raise ValueError("W must have out's shape")
    cdef Product p
    memset(&p, 0, sizeof(p))
    p.k, p.bp, p.b, p.ldb, p.c, p.ldc = k, NULL, &D[0, 0], n, &out[0, 0], n
    p.epi = EPI_WGRAD if W is not None else EPI_NONE
    p.bias = p.act = NULL
    p.w = &W[0, 0] if W is not None else NULL
    p.ldw, p.alpha, p.scale = n, alpha, scale
    p.rows = row_table(A, rows)
    _run_tiles(&p, single, True, f, n, tiles, repeat)
    return np.asarray(out)
