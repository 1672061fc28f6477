"""The rate of the core's products, as a batch's tiles run them, against OpenBLAS's.

    python bench/tile_products.py [ROUNDS]

Times the product engine's three products of training (csrc/fastmlp_gemm.h,
through the test hooks of fastmlp._core._engine, which release the GIL): the
forward product A @ W from W's panels, with bias and relu in its epilogue; the
delta D @ W^T from W^T's panels, with relu's derivative in its epilogue; and the
weight gradient A^T @ D with its L2 term and scale. Each case runs on one thread,
and on two threads at once each on its own operands (as a team of two runs its
tiles), beside OpenBLAS's single-threaded product of the same shape (numpy's
matmul with BLAS held at one thread: it packs both operands on every call) and
numpy's 2048^3 product on all threads (run.py's peak). Rounds alternate the cases;
printed are medians of GFLOP/s with the lowest and highest round. Not part of
run.py.
"""
import os
import sys
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastmlp._core import _engine  # noqa: E402

# (name, product, m, n, k): the output (m, n), the inner size k; the shapes of a
# batch's whole products (MNIST-shaped: 200 rows, 784-100-10; wide: 256 rows,
# 256-512-512-10)
CASES = [
    ("MNIST-shaped forward 200 x 784 @ 784 x 100", "forward", 200, 100, 784),
    ("MNIST-shaped weight gradient (784 x 200) @ (200 x 100)", "wgrad", 784, 100, 200),
    ("wide forward 256 x 512 @ 512 x 512", "forward", 256, 512, 512),
    ("wide delta 256 x 512 @ (512 x 512)^T", "delta", 256, 512, 512),
    ("wide weight gradient (512 x 256) @ (256 x 512)", "wgrad", 512, 512, 256),
]
SECONDS = 0.3      # per case and round


def operands(product, m, n, k, dtype, seed):
    rng = np.random.default_rng(seed)
    if product == "wgrad":        # out (m, n) = A.T @ D with A (k, m), D (k, n)
        return (rng.standard_normal((k, m)).astype(dtype),
                rng.standard_normal((k, n)).astype(dtype),
                rng.standard_normal((m, n)).astype(dtype))
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    act = np.maximum(rng.standard_normal((m, n)), 0).astype(dtype)
    return A, B, act


def call(system, product, ops, out, reps):
    A, B, extra = ops
    if system == "openblas":
        for _ in range(reps):
            np.matmul(A.T if product == "wgrad" else A, B, out=out)
    elif product == "wgrad":
        _engine.tn(A, B, out, W=extra, alpha=1e-4, scale=200.0, repeat=reps)
    elif product == "forward":
        _engine.nn(A, B, out, epilogue="bias_relu", bias=extra[0].copy(), repeat=reps)
    else:
        _engine.nn(A, B, out, epilogue="drelu", act=extra, repeat=reps)


def rate(system, product, m, n, k, dtype, threads):
    """GFLOP/s of `threads` threads each multiplying its own operands, repeatedly."""
    ops = [operands(product, m, n, k, dtype, t) for t in range(threads)]
    out = [np.empty((m, n), dtype) for _ in range(threads)]
    reps = max(3, int(SECONDS * 3e10 / (2 * m * n * k)))
    for t in range(threads):
        call(system, product, ops[t], out[t], 1)
    pool = [threading.Thread(target=call, args=(system, product, ops[t], out[t], reps))
            for t in range(threads)]
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
    print(f"engine: {_engine.isa()}")
    for dtype in (np.float64, np.float32):
        rates = {}
        for r in range(rounds):
            rates.setdefault("peak", []).append(peak_rate(dtype))
            with threadpool_limits(limits=1, user_api="blas"):
                for case in CASES[r % len(CASES):] + CASES[:r % len(CASES)]:
                    for threads in (1, 2):
                        for system in ("fastmlp", "openblas")[::1 if r % 2 else -1]:
                            rates.setdefault((case[0], system, threads), []).append(
                                rate(system, *case[1:], dtype, threads))
        peak = np.median(rates["peak"])
        print(f"{np.dtype(dtype).name}: numpy 2048^3 on all threads {peak:.1f} GFLOP/s")
        for name, *_ in CASES:
            cells = []
            for system in ("fastmlp", "openblas"):
                for threads in (1, 2):
                    v = rates[(name, system, threads)]
                    cells.append(f"{system} {threads}t {np.median(v):6.1f} [{min(v):.0f}-{max(v):.0f}]")
            share = np.median(rates[(name, "fastmlp", 2)]) / peak
            print(f"  {name:58s} " + "  ".join(cells) + f"  fastmlp 2t / peak {share:.0%}")


if __name__ == "__main__":
    main()
