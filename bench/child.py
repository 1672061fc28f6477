"""Tasks run by ``run.py --child SPEC`` in a fresh interpreter.

"fit"    : seconds/epoch of one fit with a given thread count (thread scaling).
"gemm"   : GFLOP/s of numpy's 2048^3 product with a given number of BLAS threads
           (the machine's own thread scaling, beside fastmlp's).
"memory" : peak memory of one fit (see memory_task for the method).
"contention", "user" : see scenarios.py.
The result is printed as one JSON line on stdout.
"""
import gc
import json
import os
import resource
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from systems import load_system
from workloads import WORKLOADS_BY_NAME, make_data


def _setup(spec):
    workload = WORKLOADS_BY_NAME[spec["workload"]]
    X, y = make_data(workload, np.dtype(spec["dtype"]), spec["n_samples"])
    system = load_system(spec["system"], spec.get("threads") or os.cpu_count())
    return workload, X, y, system


def fit_task(spec):
    workload, X, y, system = _setup(spec)
    with threadpool_limits(limits=spec["threads"]):
        n = 4 * workload.batch_size
        system.fit(workload, X[:n], y[:n], 1)          # warm-up
        time.sleep(0.2)
        _, seconds, n_iter = system.fit(workload, X, y, spec["epochs"])
        pools = [{k: p.get(k) for k in ("internal_api", "num_threads", "filepath")}
                 for p in threadpool_info()]
    return {"sec_per_epoch": seconds / n_iter, "n_iter": n_iter,
            "threads": spec["threads"], "threadpools": pools}


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss():
    """Reset the kernel's peak-RSS counter (VmHWM); False if not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_task(spec):
    """Peak RSS increase and tracemalloc peak of a fit.

    In a fresh process that has imported the library and built the data
    (which also initialises BLAS), the kernel's peak-RSS counter is reset and
    the current RSS recorded; the cost of the first fit is the new peak minus
    that RSS.  No warm-up fit: memory it freed would be reused by the measured
    fit and hide its cost.  Where the counter can't be reset, getrusage's
    ru_maxrss before/after is used (a lower bound).  A second, separate fit
    runs under tracemalloc, which sees allocations made through Python and
    numpy only (not PyTorch's allocator, nor raw malloc in compiled code).
    """
    workload, X, y, system = _setup(spec)
    gc.collect()
    if _reset_peak_rss():
        method, before = "VmHWM after clear_refs reset, minus VmRSS", _status_kib("VmRSS")
        system.fit(workload, X, y, spec["epochs"])
        peak = _status_kib("VmHWM")
    else:
        method = "ru_maxrss delta (lower bound)"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        system.fit(workload, X, y, spec["epochs"])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    tracemalloc.start()
    system.fit(workload, X, y, spec["epochs"])
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if spec["system"] == "torch":
        traced_peak = None  # torch's allocator is invisible to tracemalloc
    return {"rss_peak_increase_mib": (peak - before) / 1024, "rss_method": method,
            "rss_before_fit_mib": before / 1024,
            "tracemalloc_peak_mib": traced_peak,
            "data_mib": (X.nbytes + y.nbytes) / 2**20}


def gemm_task(spec):
    from measure import gemm_gflops
    return gemm_gflops(np.dtype(spec["dtype"]), repeats=3, n_threads=spec["threads"])


def child_main(spec_json):
    from scenarios import contention_task, user_task
    spec = json.loads(spec_json)
    task = {"fit": fit_task, "gemm": gemm_task, "memory": memory_task,
            "contention": contention_task, "user": user_task}[spec["task"]]
    print(json.dumps(task(spec)), flush=True)
