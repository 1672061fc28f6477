"""One contention condition repeated in fresh processes: its distribution, and what the slow runs did.

    python bench/contention_repeats.py NAME=PATH [NAME=PATH ...]
        [--runs 12] [--repeats 5] [--workload small_tabular] [--dtype float64]
        [--condition busy_2]

Each run starts the condition afresh (for busy_N, N processes spinning on a CPU
each) and a fresh process for one build (a directory holding a built ``fastmlp``
package), which warms up and then fits the workload --repeats times with fastmlp
as it comes and --repeats times held to one thread (threadpoolctl's OpenMP
limit), alternated, as run.py's contention section does. The builds take turns,
run after run. Printed per build: the distribution over the runs of the run's
median ratio fastmlp / fastmlp on one thread (the figure run.py reports), and the
distribution of every single fit's ratio; then, for the fits slower than 1.15x
their one-thread partner and for the others, what the thread policy did: chunks
run by a team, chunks that found the team's threads waiting for a CPU, and the
fit's own CPU time over its wall time. A build older than the policy's counters
reports none.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BOUND = 1.15


def child(spec):
    """One run: {"team": [...], "one": [...]} of per-fit records."""
    sys.path.insert(0, HERE)
    import warnings

    from threadpoolctl import threadpool_limits

    import fastmlp
    import fastmlp._solver as solver
    from systems import estimator_params
    from workloads import WORKLOADS_BY_NAME, make_data

    warnings.simplefilter("ignore")
    w = WORKLOADS_BY_NAME[spec["workload"]]
    X, y = make_data(w, np.dtype(spec["dtype"]), spec["n_samples"])
    cls = fastmlp.MLPRegressor if w.kind == "regression" else fastmlp.MLPClassifier
    made = []
    if hasattr(solver, "fit_policy"):
        original = solver.fit_policy

        def recording_policy():
            made.append(original())
            return made[-1]
        solver.fit_policy = recording_policy

    def fit(seed, one_thread):
        est = cls(**estimator_params(w, spec["epochs"], seed))
        del made[:]
        limit = threadpool_limits(limits=1, user_api="openmp") if one_thread else None
        try:
            cpu, start = time.process_time(), time.perf_counter()
            est.fit(X, y)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            if limit is not None:
                limit.unregister()
        record = {"sec_per_epoch": wall / est.n_iter_, "cpu_per_wall": cpu / wall}
        if made and hasattr(made[0], "parallel_chunks"):
            p = made[0]
            record.update(chunks=p.chunks, team_chunks=p.parallel_chunks,
                          contended_chunks=p.contended_chunks)
        return record

    n = min(len(X), 4 * w.batch_size)
    cls(**estimator_params(w, 1, 0)).fit(X[:n], y[:n])      # warm-up
    out = {"team": [], "one": []}
    for r in range(spec["repeats"]):
        for k in range(2):
            one = (k + r) % 2 == 1
            time.sleep(0.15)            # every other pool's threads asleep
            out["one" if one else "team"].append(fit(r, one))
    return out


def spread(values):
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return "min {:.2f}  q1 {:.2f}  median {:.2f}  q3 {:.2f}  max {:.2f}".format(*q)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="*", help="NAME=PATH of a built checkout")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workload", default="small_tabular")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--condition", default="busy_2",
                        choices=["idle", "busy_1", "busy_2"])
    parser.add_argument("--json", help="write every record to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    sys.path.insert(0, HERE)
    from scenarios import busy_processes

    spec = {"workload": args.workload, "dtype": args.dtype, "epochs": args.epochs,
            "n_samples": args.n_samples, "repeats": args.repeats}
    builds = [b.split("=", 1) for b in args.builds] or [["this", os.path.dirname(HERE)]]
    busy = int(args.condition[5:]) if args.condition.startswith("busy_") else 0
    runs = {label: [] for label, _ in builds}
    for r in range(args.runs):
        order = builds if r % 2 == 0 else builds[::-1]
        for label, path in order:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
            with busy_processes(busy):
                done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                                      env=env, capture_output=True, text=True, cwd=path)
            if done.returncode:
                sys.exit(done.stderr)
            runs[label].append(json.loads(done.stdout))
            ratios = [t["sec_per_epoch"] / o["sec_per_epoch"]
                      for t, o in zip(runs[label][-1]["team"], runs[label][-1]["one"])]
            print(f"run {r + 1:2d} {label:>8}: fastmlp / one thread "
                  + " ".join(f"{x:.2f}" for x in ratios), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"spec": spec, "condition": args.condition, "runs": runs}, f)
    print(f"\n{args.workload} {args.dtype} {args.condition}: {args.runs} runs x "
          f"{args.repeats} fits each way")
    for label, _ in builds:
        per_run, fits = [], []
        for run in runs[label]:
            pairs = list(zip(run["team"], run["one"]))
            ratios = [t["sec_per_epoch"] / o["sec_per_epoch"] for t, o in pairs]
            per_run.append(np.median(ratios))
            fits += [(x, t) for x, (t, _) in zip(ratios, pairs)]
        print(f"{label:>8} run medians: {spread(per_run)}; runs > {BOUND}x: "
              f"{sum(x > BOUND for x in per_run)} of {len(per_run)}")
        print(f"{label:>8} single fits: {spread([x for x, _ in fits])}; fits > {BOUND}x: "
              f"{sum(x > BOUND for x, _ in fits)} of {len(fits)}")
        for name, group in [(f"> {BOUND}x", [t for x, t in fits if x > BOUND]),
                            (f"<= {BOUND}x", [t for x, t in fits if x <= BOUND])]:
            if not group:
                continue
            line = f"{'':>8}   fits {name:>7} ({len(group):2d}):"
            line += f" cpu/wall {np.median([t['cpu_per_wall'] for t in group]):.2f}"
            if "chunks" in group[0]:
                line += (f", chunks on a team {np.median([t['team_chunks'] for t in group]):.0f}"
                         f" of {np.median([t['chunks'] for t in group]):.0f}, contended"
                         f" {np.median([t['contended_chunks'] for t in group]):.0f}")
            print(line)


if __name__ == "__main__":
    main()
