"""fastmlp benchmark harness: fastmlp vs scikit-learn vs PyTorch (CPU).

    python bench/run.py                  # full run (~10 min on 2 cores)
    python bench/run.py --quick          # smoke run (~1-2 min)
    python bench/run.py --update-readme  # also rewrite bench/README.md's table
    python bench/run.py --report-only --update-readme   # re-render from JSON

See bench/README.md for what is measured and how.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
# Measure this checkout: its own build (pip install . also leaves the compiled core
# beside the sources) comes before an installed fastmlp, which may be stale.
if glob.glob(os.path.join(REPO_ROOT, "fastmlp", "_core", "_network*.so")):
    sys.path.insert(0, REPO_ROOT)
else:
    sys.path.append(REPO_ROOT)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import measure  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402
from systems import ALL_SYSTEMS, load_systems  # noqa: E402
from workloads import WORKLOADS, shrink  # noqa: E402

SECTIONS = ("training", "predict", "scaling", "memory", "contention", "user")
FULL = dict(epochs=5, repeats=5, sample_factor=1, latency_calls=2000,
            predict_rows=1_000_000, predict_repeats=3, scaling_epochs=3,
            scaling_repeats=3, memory_epochs=2, pause=0.2,
            contention_dtype="float64", contention_repeats=7,
            contention_epochs={"small_tabular": 5, "mnist_shaped": 2},
            contention_samples={"small_tabular": 20_000, "mnist_shaped": 10_000},
            user_repeats=3)
QUICK = dict(epochs=2, repeats=2, sample_factor=10, latency_calls=200,
             predict_rows=100_000, predict_repeats=2, scaling_epochs=1,
             scaling_repeats=1, memory_epochs=1, pause=0.05,
             contention_dtype="float64", contention_repeats=2,
             contention_epochs={"small_tabular": 2, "mnist_shaped": 1},
             contention_samples={"small_tabular": 4_000, "mnist_shaped": 2_000},
             user_repeats=1)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short smoke run: 1/10 of the samples, 2 epochs x 2 repeats")
    p.add_argument("--out", help="JSON results path (default: bench/results.json; "
                                 "with --quick, bench/quick-results.json)")
    p.add_argument("--chart", help="PNG chart path (default: bench/results.png; with "
                                   "--quick, bench/quick-results.png)")
    p.add_argument("--no-chart", action="store_true", help="do not draw the chart")
    p.add_argument("--update-readme", action="store_true",
                   help="rewrite the 'Latest results' section of bench/README.md")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: re-print/re-render the tables from --out")
    p.add_argument("--systems", default=",".join(ALL_SYSTEMS),
                   help="comma list of systems (default: sklearn,fastmlp,torch)")
    p.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS),
                   help="comma list of training workloads (default: all)")
    p.add_argument("--dtypes", default="float64,float32",
                   help="comma list of dtypes (default: float64,float32)")
    p.add_argument("--skip", default="",
                   help=f"comma list of sections to skip: {','.join(SECTIONS)}")
    p.add_argument("--epochs", type=int, help="epochs per timed fit (default 5)")
    p.add_argument("--repeats", type=int, help="timed fits per system (default 5)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="threads for every system (default: all cores)")
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: subprocess task
    args = p.parse_args(argv)
    # a smoke run never overwrites the committed results
    prefix = "quick-results" if args.quick else "results"
    args.out = args.out or os.path.join(BENCH_DIR, prefix + ".json")
    args.chart = args.chart or os.path.join(BENCH_DIR, prefix + ".png")
    if args.quick and args.update_readme:
        p.error("--quick runs are smoke tests: their figures do not go into the README")
    return args


def make_config(args):
    config = dict(QUICK if args.quick else FULL)
    for key in ("epochs", "repeats"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    config.update(
        quick=args.quick, threads=args.threads,
        systems=[s for s in args.systems.split(",") if s],
        workloads=[w for w in args.workloads.split(",") if w],
        dtypes=[d for d in args.dtypes.split(",") if d],
        skip=[s for s in args.skip.split(",") if s])
    unknown = set(config["skip"]) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown --skip section(s): {sorted(unknown)}")
    return config


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        out = subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(system_info):
    """CPU, versions and the thread pools (BLAS/OpenMP) loaded in this process."""
    import scipy
    import sklearn
    import threadpoolctl
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__, "sklearn": sklearn.__version__,
                "threadpoolctl": threadpoolctl.__version__}
    for name in ("torch", "fastmlp"):
        versions[name] = system_info.get(name, {}).get("version", "not available")
    keys = ("user_api", "internal_api", "version", "num_threads", "architecture",
            "threading_layer", "filepath")
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "git_commit": git_commit(),
            "versions": versions,
            "threadpools": [{k: p[k] for k in keys if k in p}
                            for p in threadpool_info()]}


def save(results, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def run_training(results, systems, config, save_fn):
    names = set(config["workloads"])
    workloads = [shrink(w, config["sample_factor"]) if config["sample_factor"] > 1
                 else w for w in WORKLOADS if w.name in names]
    for workload in workloads:
        for dtype in config["dtypes"]:
            print(f"[bench] training {workload.name} {dtype}: {workload.describe()}",
                  flush=True)
            entry = measure.bench_training(
                systems, workload, np.dtype(dtype), config["epochs"],
                config["repeats"], config["pause"])
            for name, info in entry["systems"].items():
                if "sec_per_epoch_median" in info:
                    print(f"[bench]   {name:8s} {info['sec_per_epoch_median'] * 1e3:9.1f}"
                          f" ms/epoch  {info['gflops']:6.2f} GFLOP/s", flush=True)
            results["training"].append(entry)
            save_fn()


def run_predict(results, systems, config, save_fn):
    for dtype in config["dtypes"]:
        print(f"[bench] predict latency {dtype}", flush=True)
        results["predict_latency"].append(
            measure.bench_latency(systems, np.dtype(dtype), config["latency_calls"]))
        print(f"[bench] predict throughput {dtype} ({config['predict_rows']:,} rows)",
              flush=True)
        results["predict_throughput"].append(measure.bench_throughput(
            systems, np.dtype(dtype), config["predict_rows"],
            config["predict_repeats"], config["pause"]))
        save_fn()


def run_subprocess_sections(results, available, config, save_fn):
    wide = shrink(WORKLOADS[2], config["sample_factor"]).n_samples
    mnist = shrink(WORKLOADS[1], config["sample_factor"]).n_samples
    counts = sorted({1, config["threads"]})
    for dtype in config["dtypes"]:
        if "scaling" not in config["skip"] and "fastmlp" in available:
            print(f"[bench] thread scaling fastmlp wide {dtype} {counts}", flush=True)
            try:
                results["thread_scaling"].append(measure.bench_thread_scaling(
                    "fastmlp", dtype, config["scaling_epochs"],
                    config["scaling_repeats"], counts, wide))
            except Exception as exc:
                print(f"[bench]   failed: {exc}", flush=True)
                results["thread_scaling"].append(
                    {"system": "fastmlp", "dtype": dtype, "error": str(exc)})
        if "memory" not in config["skip"]:
            print(f"[bench] peak memory mnist_shaped {dtype}", flush=True)
            results["memory"].append(measure.bench_memory(
                available, dtype, config["memory_epochs"], mnist))
        save_fn()


def run_all(config, out_path):
    systems, info = load_systems(config["systems"], config["threads"])
    results = {"schema": 1, "created": datetime.datetime.now().isoformat(timespec="seconds"),
               "command": " ".join(["python", "bench/run.py"] + sys.argv[1:]),
               "config": config, "systems": info, "machine": machine_info(info),
               "gemm": {}, "training": [], "predict_latency": [],
               "predict_throughput": [], "thread_scaling": [], "memory": [],
               "contention": [], "user": []}
    save_fn = lambda: save(results, out_path)  # noqa: E731
    start = measure.cpu_snapshot()
    results["machine"]["loadavg_start"] = os.getloadavg()
    if os.getloadavg()[0] > 0.5:
        print(f"[bench] WARNING: load average {os.getloadavg()[0]:.2f} before the "
              "run: other processes will disturb the timings", flush=True)
    run_gemm(results, config)
    with threadpool_limits(limits=config["threads"]):
        if "training" not in config["skip"]:
            run_training(results, systems, config, save_fn)
        if "predict" not in config["skip"]:
            run_predict(results, systems, config, save_fn)
    run_subprocess_sections(results, [s.name for s in systems], config, save_fn)
    if "contention" not in config["skip"] and "fastmlp" in config["systems"]:
        results["contention"] = scenarios.bench_contention(measure.run_child, config)
        save_fn()
    if "user" not in config["skip"] and "fastmlp" in config["systems"]:
        results["user"] = scenarios.bench_user(measure.run_child, config)
        save_fn()
    run_gemm(results, config)
    measure.add_gemm_fractions(results)
    results["machine"].update(measure.noise_report(start, measure.cpu_snapshot()))
    save_fn()
    return results


def run_gemm(results, config):
    """numpy 2048^3 GEMM per dtype; run at the start and at the end."""
    for dtype in config["dtypes"]:
        run = measure.gemm_gflops(np.dtype(dtype), n_threads=config["threads"])
        results["gemm"].setdefault(dtype, {"runs": []})["runs"].append(run)
        print(f"[bench] GEMM 2048^3 {dtype}: {run['gflops']:.1f} GFLOP/s", flush=True)


def emit(results, args):
    """Print the tables; write the chart and the README section if asked."""
    markdown = report.results_markdown(results)
    print("\n" + markdown)
    if not args.no_chart and report.write_chart(results, args.chart):
        print(f"[bench] chart written to {args.chart}")
    if args.update_readme:
        readme = os.path.join(BENCH_DIR, "README.md")
        report.update_readme(readme, markdown)
        print(f"[bench] results table written to {readme}")


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        from child import child_main
        child_main(args.child)
        return
    if args.report_only:
        with open(args.out) as f:
            results = json.load(f)
    else:
        results = run_all(make_config(args), args.out)
        print(f"[bench] results written to {args.out}")
    emit(results, args)


if __name__ == "__main__":
    main()
