"""Machines that are not idle, and what users run: two sections of the bench.

"contention": the small-tabular and MNIST-shaped fits on a machine in each of
    five conditions (idle; right after a threaded OpenBLAS call in the same
    process; beside one busy process; beside two; the process held to one CPU by
    its affinity mask), each with fastmlp as it comes, fastmlp held to one thread
    and scikit-learn, alternated. Each condition runs in a fresh process, so that
    no thread pool carries over from one to the next.
"user": end-to-end runs of what users do, fastmlp against scikit-learn
    alternated in one fresh process: GridSearchCV over Pipeline(StandardScaler,
    [PCA,] MLPClassifier) on the bundled digits data, cross_val_score of a default
    MLPClassifier, a partial_fit stream, a one-row predict_proba serving loop.
    The search with PCA runs again with OpenBLAS's idle threads told to stop
    spinning at once (OPENBLAS_THREAD_TIMEOUT), the baseline of its target.

The parent side (bench_contention, bench_user) starts the processes; the child
side (contention_task, user_task) runs in them (run.py --child).
"""
import contextlib
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from systems import EstimatorSystem, load_system
from workloads import WORKLOADS_BY_NAME, make_data

CONDITIONS = ("idle", "after_blas", "busy_1", "busy_2", "one_cpu")
CONTENTION_WORKLOADS = ("small_tabular", "mnist_shaped")
CONTENTION_SYSTEMS = ("fastmlp", "fastmlp_1", "sklearn")
USER_WORKLOADS = ("grid_pca", "grid", "cross_val", "partial_fit", "serving")


# ---------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def busy_processes(n):
    """n processes spinning on a CPU each, for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(n)]
    try:
        time.sleep(0.2)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def one_cpu():
    """Held to one CPU by the affinity mask (run in the child before it starts)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def bench_contention(run_child, config):
    """{"conditions": [...]} : one entry per (condition, workload)."""
    entries = []
    for condition in CONDITIONS:
        if condition == "one_cpu" and not hasattr(os, "sched_setaffinity"):
            continue
        for name in CONTENTION_WORKLOADS:
            spec = {"task": "contention", "workload": name, "condition": condition,
                    "dtype": config["contention_dtype"],
                    "epochs": config["contention_epochs"][name],
                    "repeats": config["contention_repeats"],
                    "n_samples": config["contention_samples"][name]}
            print(f"[bench] contention {condition} {name}", flush=True)
            busy = {"busy_1": 1, "busy_2": 2}.get(condition, 0)
            try:
                with busy_processes(busy):
                    result = run_child(spec, preexec_fn=one_cpu if condition == "one_cpu"
                                       else None)
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            entries.append({**spec, **result})
            for system, info in result.get("systems", {}).items():
                print(f"[bench]   {system:10s} {info['sec_per_epoch_median'] * 1e3:9.2f}"
                      " ms/epoch", flush=True)
    return entries


def bench_user(run_child, config):
    """[entry per user workload]; the PCA search also without BLAS spinning."""
    entries = []
    for name in USER_WORKLOADS:
        spec = {"task": "user", "workload": name, "repeats": config["user_repeats"],
                "quick": config["quick"]}
        print(f"[bench] user workload {name}", flush=True)
        try:
            result = run_child(spec)
            if name == "grid_pca":
                # OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's idle threads wait 2^4 cycles
                # before they sleep, instead of ~2^28 (read when OpenBLAS loads)
                quiet = run_child({**spec, "systems": ["fastmlp"]},
                                  env={"OPENBLAS_THREAD_TIMEOUT": "4"})
                result["no_spin"] = quiet["systems"]["fastmlp"]
                result["spin_cost"] = float(np.median(
                    result["systems"]["fastmlp"]["seconds_samples"])
                    / quiet["systems"]["fastmlp"]["seconds_median"])
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        entries.append({"workload": name, "repeats": spec["repeats"], **result})
        for system, info in result.get("systems", {}).items():
            print(f"[bench]   {system:10s} {info['seconds_median']:9.3f} s", flush=True)
    return entries


# ---------------------------------------------------------------------------
# Child side: contention
# ---------------------------------------------------------------------------

class OneThreadSystem(EstimatorSystem):
    """fastmlp held to one thread (threadpoolctl's OpenMP limit)."""

    def fit(self, *args, **kwargs):
        with threadpool_limits(limits=1, user_api="openmp"):
            return super().fit(*args, **kwargs)


def contention_systems():
    fast = load_system("fastmlp", None)
    one = OneThreadSystem("fastmlp_1", fast.classifier, fast.regressor, fast.version)
    return [fast, one, load_system("sklearn", None)]


def contention_task(spec):
    """seconds/epoch of each system in one condition, alternated over repeats."""
    workload = WORKLOADS_BY_NAME[spec["workload"]]
    X, y = make_data(workload, np.dtype(spec["dtype"]), spec["n_samples"])
    systems = contention_systems()
    A = np.random.default_rng(0).standard_normal((1000, 1000))
    n = min(len(X), 4 * workload.batch_size)
    for system in systems:
        system.fit(workload, X[:n], y[:n], 1)          # warm-up
    samples = {s.name: [] for s in systems}
    for r in range(spec["repeats"]):
        for k in range(len(systems)):
            system = systems[(k + r) % len(systems)]
            if spec["condition"] == "after_blas":
                A @ A           # BLAS's threads spin on after this, for ~0.1 s
            else:
                time.sleep(0.15)    # let every other pool's threads go to sleep
            _, seconds, n_iter = system.fit(workload, X, y, spec["epochs"], seed=r)
            samples[system.name].append(seconds / n_iter)
    return {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "systems": {name: {"sec_per_epoch_median": float(np.median(v)),
                               "sec_per_epoch_samples": v}
                        for name, v in samples.items()},
            "ratios": {"fastmlp/fastmlp_1": paired(samples, "fastmlp", "fastmlp_1"),
                       "sklearn/fastmlp": paired(samples, "sklearn", "fastmlp")}}


def paired(samples, a, b):
    """Median over the repeats of time(a) / time(b), each repeat's pair run back to
    back."""
    return float(np.median(np.divide(samples[a], samples[b])))


# ---------------------------------------------------------------------------
# Child side: user workloads
# ---------------------------------------------------------------------------

def digits(stack=1):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return np.vstack([X] * stack), np.concatenate([y] * stack)


def grid_search(cls, pca, quick):
    """GridSearchCV(Pipeline(StandardScaler, [PCA(40),] MLP(max_iter=50)), 4
    settings, cv=3) on digits stacked 4x. Returns the search's result."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = digits(1 if quick else 4)
    steps = [StandardScaler()] + ([PCA(40, random_state=0)] if pca else [])
    pipe = make_pipeline(*steps, cls(max_iter=50, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2],
            "mlpclassifier__hidden_layer_sizes": [(50,), (100,)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    return [round(float(s), 12) for s in search.cv_results_["mean_test_score"]]


def cross_val(cls, quick):
    """cross_val_score of a default MLPClassifier on digits, cv=5."""
    from sklearn.model_selection import cross_val_score
    X, y = digits()
    est = cls(random_state=0, max_iter=20 if quick else 200)
    return [round(float(s), 12) for s in cross_val_score(est, X, y, cv=5)]


def partial_fit_stream(cls, quick):
    """partial_fit over 50 chunks of 1,000 rows (20 features, 2 classes)."""
    workload = WORKLOADS_BY_NAME["small_tabular"]
    chunks = 10 if quick else 50
    X, y = make_data(workload, np.float64, chunks * 1000)
    est = cls(hidden_layer_sizes=(64,), random_state=0)
    for i in range(chunks):
        est.partial_fit(X[i * 1000:(i + 1) * 1000], y[i * 1000:(i + 1) * 1000],
                        classes=[0, 1])
    return [round(float(est.score(X, y)), 12)]


def serving(cls, quick):
    """1,000 one-row predict_proba calls on a digits classifier."""
    X, y = digits()
    est = cls(random_state=0, max_iter=5).fit(X, y)
    rows = [np.ascontiguousarray(X[i:i + 1]) for i in range(1000)]
    start = time.perf_counter()
    out = [est.predict_proba(row) for row in rows[:200 if quick else 1000]]
    return [time.perf_counter() - start, round(float(np.sum(out)), 9)]


USER_RUNS = {
    "grid_pca": lambda cls, quick: grid_search(cls, True, quick),
    "grid": lambda cls, quick: grid_search(cls, False, quick),
    "cross_val": cross_val,
    "partial_fit": partial_fit_stream,
    "serving": serving,
}


def user_task(spec):
    """Seconds of one user workload per system, alternated; and whether the
    systems' results (scores, predictions) were the same."""
    import sklearn.neural_network
    import fastmlp
    classes = {"fastmlp": fastmlp.MLPClassifier,
               "sklearn": sklearn.neural_network.MLPClassifier}
    names = spec.get("systems") or list(classes)
    run = USER_RUNS[spec["workload"]]
    samples = {name: [] for name in names}
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(spec["repeats"]):
            for k in range(len(names)):
                name = names[(k + r) % len(names)]
                time.sleep(0.15)
                start = time.perf_counter()
                out = run(classes[name], spec["quick"])
                seconds = time.perf_counter() - start
                if spec["workload"] == "serving":
                    seconds, out = out[0], out[1:]   # the calls alone, not the fit
                samples[name].append(seconds)
                results[name] = out
    entry = {"systems": {n: {"seconds_median": float(np.median(v)), "seconds_samples": v}
                         for n, v in samples.items()}}
    if len(names) == 2:
        entry["ratios"] = {"sklearn/fastmlp": paired(samples, "sklearn", "fastmlp")}
        entry["same_results"] = bool(np.allclose(results["fastmlp"], results["sklearn"],
                                                 rtol=1e-6, atol=1e-9))
    return entry
