"""The rate of the core's tile products: the ceiling of a fit's share of peak.

    python bench/tile_products.py [ROUNDS]

A batch's products are cut into tiles fixed by the shapes, each one BLAS call on
one thread (fastmlp/_core/_team.pyx). This times such calls, through the core's
own `gemm` (the test hook `_kernels.matmul`, which releases the GIL), on one
thread and on two threads at once, as a team of two runs them, beside numpy's
2048^3 product on all threads (run.py's peak). Rounds alternate the cases; printed
are medians of GFLOP/s with the lowest and highest round. Not part of run.py.
"""
import os
import sys
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastmlp._core._kernels import matmul  # noqa: E402

# (name, m, n, k, trans_a): out (m, n) = op(A) @ B with op(A) of shape (m, k); for
# trans_a, A is (k, m): the batch's rows by a tile of W's input features
TILES = [
    ("wide forward 128 x 512 -> 512", 128, 512, 512, False),
    ("wide weight gradient A^T (128 features x 256 rows) @ D", 128, 512, 256, True),
    ("MNIST-shaped forward 100 x 784 -> 100", 100, 100, 784, False),
    ("MNIST-shaped weight gradient A^T (98 features x 200 rows) @ D", 98, 100, 200, True),
]
SECONDS = 0.3      # per case and round


def tile_rate(m, n, k, trans_a, dtype, threads):
    """GFLOP/s of `threads` threads each multiplying its own tile, repeatedly."""
    rng = np.random.default_rng(0)
    A = [rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype) for _ in range(threads)]
    B = rng.standard_normal((k, n)).astype(dtype)
    out = [np.empty((m, n), dtype) for _ in range(threads)]
    reps = max(3, int(SECONDS * 3e10 / (2 * m * n * k)))

    def work(t):
        for _ in range(reps):
            matmul(A[t], B, out[t], trans_a=trans_a)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    return threads * reps * 2 * m * n * k / (time.perf_counter() - start) / 1e9


def peak_rate(dtype):
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(dtype)
    a @ a
    start = time.perf_counter()
    a @ a
    return 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for dtype in (np.float64, np.float32):
        rates = {}
        for _ in range(rounds):
            rates.setdefault("peak", []).append(peak_rate(dtype))
            with threadpool_limits(limits=1, user_api="blas"):
                for name, m, n, k, trans_a in TILES:
                    for threads in (1, 2):
                        rates.setdefault((name, threads), []).append(
                            tile_rate(m, n, k, trans_a, dtype, threads))
        peak = np.median(rates["peak"])
        print(f"{np.dtype(dtype).name}: numpy 2048^3 on all threads {peak:.1f} GFLOP/s")
        for name, *_ in TILES:
            cells = []
            for threads in (1, 2):
                r = rates[(name, threads)]
                cells.append(f"{threads} thread(s) {np.median(r):6.1f} [{min(r):.1f}-{max(r):.1f}]")
            share = np.median(rates[(name, 2)]) / peak
            print(f"  {name:62s} " + "  ".join(cells) + f"  2 threads / peak {share:.0%}")


if __name__ == "__main__":
    main()
