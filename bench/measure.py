"""Measurements: GEMM peak, training time, prediction speed, threads, memory.

Timing rules used everywhere:
  * wall clock (time.perf_counter), medians over repeats;
  * the systems are ALTERNATED: repeat r runs them in an order rotated by r,
    so slow drifts of the machine (turbo, other load) hit every system alike;
  * every system gets an untimed warm-up call first (imports, lazy init);
  * a short pause between timed runs lets idle worker threads of the other
    systems' thread pools (OpenMP, BLAS) stop spinning before the next run.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from workloads import PREDICT_WORKLOAD, WORKLOADS_BY_NAME, make_data

RUN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def rotate(items, r):
    items = list(items)
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


def ratios(times, reference="fastmlp"):
    """{"<other>/fastmlp": time_other / time_fastmlp}: > 1 means fastmlp is faster."""
    ref = times.get(reference)
    return {f"{name}/{reference}": (t / ref if ref and t else None)
            for name, t in times.items() if name != reference}


def paired_ratios(samples, reference="fastmlp"):
    """{"<other>/fastmlp": median over the repeats of time_other / time_fastmlp}.

    The machine's speed drifts between phases ~1.6x apart (bench/README.md), and
    one repeat runs the systems back to back, so the ratio within a repeat is
    steadier than the ratio of two medians. Where a system missed a repeat, the
    ratio of the medians stands in."""
    ref = samples.get(reference) or []
    out = {}
    for name, values in samples.items():
        if name == reference:
            continue
        if values and len(values) == len(ref):
            out[f"{name}/{reference}"] = float(np.median(np.divide(values, ref)))
        else:
            out.update(ratios({name: float(np.median(values)) if values else None,
                               reference: float(np.median(ref)) if ref else None},
                              reference))
    return out


def cpu_snapshot():
    """Jiffies from /proc/stat (busy, steal, total) plus this process tree's CPU."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    t = os.times()
    own = (t.user + t.system + t.children_user + t.children_system) * \
        os.sysconf("SC_CLK_TCK")
    idle = v[3] + v[4]
    return {"busy": sum(v) - idle - v[7], "steal": v[7], "total": sum(v), "own": own}


def noise_report(start, end):
    """Share of the machine's CPU time that was stolen or used by other processes
    during the run; high values mean the timings are unreliable."""
    if not start or not end or end["total"] <= start["total"]:
        return {}
    total = end["total"] - start["total"]
    other = (end["busy"] - start["busy"]) - (end["own"] - start["own"])
    return {"cpu_steal_fraction": (end["steal"] - start["steal"]) / total,
            "other_processes_cpu_fraction": max(0.0, other / total),
            "loadavg_end": os.getloadavg()}


def add_gemm_fractions(results):
    """Peak GEMM = best of the runs at start and end; fraction for every fit."""
    for dtype, gemm in results["gemm"].items():
        gemm["gflops"] = max(run["gflops"] for run in gemm["runs"])
    for entry in results["training"]:
        gemm = results["gemm"].get(entry["dtype"])
        for info in entry["systems"].values():
            if "gflops" in info and gemm:
                info["gemm_fraction"] = info["gflops"] / gemm["gflops"]


def gemm_gflops(dtype, n=2048, repeats=5, n_threads=None):
    """GFLOP/s of an n x n x n numpy matrix product with BLAS on all cores."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    with threadpool_limits(limits=n_threads or os.cpu_count(), user_api="blas"):
        a @ b  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
    median = float(np.median(times))
    return {"n": n, "seconds_median": median, "gflops": 2 * n**3 / median / 1e9}


def warm_up(systems, workload, X, y, errors):
    """One untimed 1-epoch fit on a slice; systems that fail are dropped."""
    n = min(len(X), 4 * workload.batch_size)
    ok = []
    for system in systems:
        try:
            system.fit(workload, X[:n], y[:n], 1)
            ok.append(system)
        except Exception as exc:
            errors[system.name] = f"{type(exc).__name__}: {exc}"
            print(f"[bench]   {system.name} failed: {errors[system.name]}", flush=True)
    return ok


def time_training(systems, workload, X, y, epochs, repeats, pause):
    """Per-system lists of seconds/epoch, alternating the systems per repeat."""
    errors = {}
    active = warm_up(systems, workload, X, y, errors)
    samples = {s.name: [] for s in active}
    n_iter = {}
    for r in range(repeats):
        for system in rotate(active, r):
            if system.name in errors:
                continue
            try:
                _, seconds, n_iter[system.name] = system.fit(workload, X, y, epochs, seed=r)
            except Exception as exc:
                errors[system.name] = f"{type(exc).__name__}: {exc}"
                continue
            samples[system.name].append(seconds / n_iter[system.name])
            time.sleep(pause)
    return samples, n_iter, errors


def bench_training(systems, workload, dtype, epochs, repeats, pause):
    """One (workload, dtype) entry of the "training" list in the JSON."""
    X, y = make_data(workload, dtype)
    samples, n_iter, errors = time_training(systems, workload, X, y, epochs,
                                            repeats, pause)
    flops = workload.flops_per_epoch(len(X))
    entry = {"workload": workload.name, "dtype": np.dtype(dtype).name,
             "description": workload.describe(), "n_samples": len(X),
             "layer_sizes": list(workload.layer_sizes), "solver": workload.solver,
             "batch_size": workload.batch_size, "epochs": epochs,
             "flops_per_epoch": flops, "systems": {}}
    medians = {}
    for name, values in samples.items():
        if not values:
            continue
        medians[name] = float(np.median(values))
        gflops = flops / medians[name] / 1e9
        entry["systems"][name] = {
            "sec_per_epoch_median": medians[name],
            "sec_per_epoch_samples": [float(v) for v in values],
            "n_iter": n_iter[name], "gflops": gflops}
        if n_iter[name] != epochs:
            print(f"[bench]   WARNING {name} ran {n_iter[name]} epochs, not {epochs}")
    for name, message in errors.items():
        entry["systems"].setdefault(name, {})["error"] = message
    entry["ratios"] = paired_ratios(samples)
    return entry


def fitted_models(systems, workload, X, y):
    """{name: model} trained for one epoch; failing systems are left out."""
    models = {}
    for system in systems:
        try:
            models[system.name] = system.fit(workload, X, y, 1)[0]
        except Exception as exc:
            print(f"[bench]   {system.name} failed: {type(exc).__name__}: {exc}")
    return models


def bench_latency(systems, dtype, n_calls, blocks=10):
    """Median one-row predict_proba latency (us), MNIST-shaped classifier."""
    workload = WORKLOADS_BY_NAME["mnist_shaped"]
    X, y = make_data(workload, dtype, n_samples=5_000)
    models = fitted_models(systems, workload, X, y)
    active = [s for s in systems if s.name in models]
    row = np.ascontiguousarray(X[:1])
    samples = {s.name: [] for s in active}
    for system in active:                       # warm-up
        for _ in range(50):
            system.predict_proba(models[system.name], row)
    per_block = max(1, n_calls // blocks)
    for b in range(blocks):
        for system in rotate(active, b):
            model, out = models[system.name], samples[system.name]
            for _ in range(per_block):
                start = time.perf_counter_ns()
                system.predict_proba(model, row)
                out.append(time.perf_counter_ns() - start)
    medians = {n: float(np.median(v)) / 1e3 for n, v in samples.items()}
    result = {name: {"median_us": medians[name],
                     "p10_us": float(np.percentile(v, 10)) / 1e3,
                     "p90_us": float(np.percentile(v, 90)) / 1e3}
              for name, v in samples.items()}
    return {"workload": workload.name, "dtype": np.dtype(dtype).name,
            "n_calls": per_block * blocks, "systems": result,
            "ratios": ratios(medians)}


def bench_throughput(systems, dtype, n_rows, repeats, pause):
    """predict_proba rows/s on n_rows x 64 (classifier trained for 1 epoch)."""
    workload = PREDICT_WORKLOAD
    X, y = make_data(workload, dtype)
    models = fitted_models(systems, workload, X, y)
    active = [s for s in systems if s.name in models]
    rng = np.random.default_rng(1)
    X_big = rng.standard_normal((n_rows, workload.n_features)).astype(dtype)
    samples = {s.name: [] for s in active}
    for system in active:                       # warm-up
        system.predict_proba(models[system.name], X_big[:10_000])
    for r in range(repeats):
        for system in rotate(active, r):
            start = time.perf_counter()
            system.predict_proba(models[system.name], X_big)
            samples[system.name].append(time.perf_counter() - start)
            time.sleep(pause)
    medians = {n: float(np.median(v)) for n, v in samples.items()}
    result = {name: {"seconds_median": t, "rows_per_s": n_rows / t,
                     "seconds_samples": samples[name]}
              for name, t in medians.items()}
    return {"workload": workload.describe(), "dtype": np.dtype(dtype).name,
            "n_rows": n_rows, "systems": result, "ratios": paired_ratios(samples)}


# ---------------------------------------------------------------- subprocesses

def run_child(spec, threads=None, timeout=1800, env=None, preexec_fn=None):
    """Run ``run.py --child SPEC`` in a fresh interpreter (with `env` added to the
    environment, and preexec_fn called in it before it starts); return its JSON."""
    env = {**os.environ, **(env or {})}
    if threads:
        env.update({var: str(threads) for var in THREAD_ENV_VARS})
    proc = subprocess.run([sys.executable, RUN_PY, "--child", json.dumps(spec)],
                          env=env, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec_fn)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(" | ".join(tail) or f"exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_thread_scaling(system, dtype, epochs, repeats, thread_counts, n_samples):
    """Wide workload, seconds/epoch with each thread count (fresh processes)."""
    spec = {"task": "fit", "system": system, "workload": "wide",
            "dtype": np.dtype(dtype).name, "epochs": epochs, "n_samples": n_samples}
    samples = {t: [] for t in thread_counts}
    gemm = {t: [] for t in thread_counts}   # seconds of numpy's 2048^3 product
    for r in range(repeats):
        for threads in rotate(thread_counts, r):
            result = run_child({**spec, "threads": threads}, threads=threads)
            samples[threads].append(result["sec_per_epoch"])
            result = run_child({"task": "gemm", "dtype": spec["dtype"], "threads": threads},
                               threads=threads)
            gemm[threads].append(result["seconds_median"])

    def speedup(times):
        # within each repeat, whose runs were back to back (as paired_ratios)
        return paired_ratios({"one": times[min(thread_counts)],
                              "most": times[max(thread_counts)]}, "most")["one/most"]
    return {"system": system, "workload": "wide", "dtype": spec["dtype"],
            "n_samples": n_samples, "epochs": epochs,
            "threads": {str(t): {"sec_per_epoch_median": float(np.median(samples[t])),
                                 "sec_per_epoch_samples": samples[t],
                                 "gemm_seconds_samples": gemm[t]}
                        for t in thread_counts},
            "speedup": speedup(samples), "gemm_speedup": speedup(gemm)}


def bench_memory(system_names, dtype, epochs, n_samples):
    """Peak memory of one MNIST-shaped fit per system, each in a fresh process."""
    entry = {"workload": "mnist_shaped", "dtype": np.dtype(dtype).name,
             "n_samples": n_samples, "epochs": epochs, "systems": {}}
    for name in system_names:
        spec = {"task": "memory", "system": name, "workload": "mnist_shaped",
                "dtype": entry["dtype"], "epochs": epochs, "n_samples": n_samples}
        try:
            entry["systems"][name] = run_child(spec)
        except Exception as exc:
            entry["systems"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    return entry
