"""Compare two builds of fastmlp on one workload, one fit (or prediction) each in turn.

    python bench/compare_builds.py WORKLOAD DTYPE N before=PATH after=PATH
        [--activation A] [--condition C] [--fits K]

WORKLOAD is a training workload of workloads.py (a fit of 3 epochs with the
arguments run.py gives it), or "predict" (predict_proba of 1,000,000 rows, as
run.py's throughput section); DTYPE float64 or float32; each PATH a directory
holding a built ``fastmlp`` package (a checkout built with ``python setup.py
build_ext --inplace``). Each build lives in a long-lived process of its own, and
the two run one timed call each in turn, N times (the order flipped every round),
so that the machine's slow and fast phases fall on both alike. --condition
after_blas|busy_1|busy_2 runs them right after a threaded BLAS call, or beside 1
or 2 busy processes, as run.py's contention section does. --fits K times K fits
one right after another in each call, as a grid search or a cross-validation
runs them (training workloads only). Printed: per build the
median time with its quartiles, and the median of the within-round ratios to the
first build. This is how the before/after figures of bench/README.md were
measured; it is not part of run.py.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(workload_name, dtype, activation, after_blas, fits):
    """Load, warm up, then time one call per line read from stdin (after_blas: right
    after a threaded numpy product, whose BLAS threads spin on for ~0.1 s)."""
    sys.path.insert(0, HERE)
    import warnings

    import fastmlp
    from systems import estimator_params
    from workloads import PREDICT_WORKLOAD, WORKLOADS_BY_NAME, make_data

    warnings.simplefilter("ignore")
    dtype = np.dtype(dtype)
    if workload_name == "predict":      # as measure.bench_throughput
        w = PREDICT_WORKLOAD
        X, y = make_data(w, dtype)
        model = fastmlp.MLPClassifier(**dict(estimator_params(w, 1, 0),
                                             activation=activation)).fit(X, y)
        rows = np.random.default_rng(1).standard_normal((1_000_000, w.n_features))
        rows = rows.astype(dtype)
        model.predict_proba(rows[:10000])

        def call():
            model.predict_proba(rows)
    else:
        w = WORKLOADS_BY_NAME[workload_name]
        X, y = make_data(w, dtype)
        cls = fastmlp.MLPRegressor if w.kind == "regression" else fastmlp.MLPClassifier
        params = dict(estimator_params(w, 3, 0), activation=activation)
        cls(**dict(params, max_iter=1)).fit(X[:2000], y[:2000])

        def call():
            for _ in range(fits):
                cls(**params).fit(X, y)
    A = np.random.default_rng(0).standard_normal((1000, 1000))
    print("ready", flush=True)
    for _ in sys.stdin:
        if after_blas:
            A @ A
        start = time.perf_counter()
        call()
        print(time.perf_counter() - start, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload")
    parser.add_argument("dtype", choices=["float64", "float32"])
    parser.add_argument("rounds", type=int)
    parser.add_argument("builds", nargs="+", help="name=PATH")
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--condition", default="idle",
                        choices=["idle", "after_blas", "busy_1", "busy_2"],
                        help="as run.py's contention section: right after a threaded "
                             "BLAS call, or beside 1 or 2 processes spinning on a CPU")
    parser.add_argument("--fits", type=int, default=1,
                        help="fits one right after another in each timed call")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.workload, args.dtype, args.activation,
                      args.condition == "after_blas", args.fits)
    sys.path.insert(0, HERE)
    from scenarios import busy_processes
    procs = []
    for spec in args.builds:
        name, path = spec.split("=", 1)
        proc = subprocess.Popen(
            [sys.executable, __file__, args.workload, args.dtype, "1", "x", "--worker",
             "--activation", args.activation, "--condition", args.condition,
             "--fits", str(args.fits)],
            env={**os.environ, "PYTHONPATH": os.path.abspath(path)},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        if proc.stdout.readline().strip() != "ready":
            sys.exit(f"build {name} at {path} did not start")
        procs.append((name, proc))
    seconds = {name: [] for name, _ in procs}
    busy = int(args.condition[5:]) if args.condition.startswith("busy_") else 0
    with busy_processes(busy):
        for r in range(args.rounds):
            for name, proc in procs if r % 2 == 0 else procs[::-1]:
                if args.condition != "after_blas":
                    time.sleep(0.2)     # let every other pool's threads go to sleep
                proc.stdin.write("go\n")
                seconds[name].append(float(proc.stdout.readline()))
    first = procs[0][0]
    for name, s in seconds.items():
        ms = np.multiply(s, 1e3)
        print(f"{args.workload} {args.dtype} {args.condition} {name:>10}: median {np.median(ms):9.2f} ms "
              f"[{np.percentile(ms, 25):.2f}-{np.percentile(ms, 75):.2f}]  "
              f"{name}/{first} {np.median(np.divide(s, seconds[first])):.3f}")
    for _, proc in procs:
        proc.stdin.close()
        proc.wait()


if __name__ == "__main__":
    main()
