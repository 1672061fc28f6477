"""How many threads each stage of a training batch could keep busy.

    python bench/scaling_model.py [NAME=PATH ...] [--threads 2,4,8,16,32,64]

For each training workload of workloads.py and each build (a directory holding a
built ``fastmlp`` package; the default is this checkout), the tiles of work that
each stage of one batch offers a team of T threads, as the core's own tiling
function (``fastmlp._core._team.tiling``) computes them: the forward pass, each
layer's backward stage (weight-gradient tiles + delta tiles + the intercepts'
task), and the pass over the parameters (update, and the panels written again).
A stage of k tiles keeps at most k threads busy; in a row-split network each
row tile goes forward and backward at once, so that count stands for all of
them. This is a model (counts, not times): it runs on any machine, whatever its
cores. Builds older than the engine fix their tiles by the shapes, whatever T.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def stages(workload_names, threads):
    """{workload: {stage: [tiles at each T]}} for the fastmlp on sys.path."""
    sys.path.insert(0, HERE)
    from fastmlp._core import _team
    from fastmlp._core._layout import Layout
    from fastmlp._functions import HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS
    from workloads import WORKLOADS_BY_NAME

    out = {}
    for name in workload_names:
        w = WORKLOADS_BY_NAME[name]
        output = ("identity" if w.kind == "regression" else
                  "logistic" if w.kind == "binary" else "softmax")
        loss = "squared_error" if w.kind == "regression" else (
            "binary_log_loss" if w.kind == "binary" else "log_loss")
        layout = Layout(w.layer_sizes, HIDDEN_ACTIVATIONS["relu"],
                        OUTPUT_ACTIVATIONS[output], LOSSES[loss], 1e-4, w.batch_size)
        rows = {}
        for t in threads:
            try:
                s = _team.tiling(layout, w.batch_size, t)
            except TypeError:           # before the engine: a function of the shapes
                s = _team.tiling(layout, w.batch_size)
                s["backward"] = [(f * c, r) for f, c, r in s["backward"]]
                s.setdefault("params", None)
            if s["row_split"] > 1:
                stage = {"row tiles (forward+backward)": s["row_split"]}
            else:
                stage = {"forward": s["forward"]}
                for l, (weights, delta) in enumerate(s["backward"]):
                    stage[f"backward {l}"] = weights + delta + 1
            if s["params"] is not None:
                stage["parameters"] = s["params"]
            for k, v in stage.items():
                rows.setdefault(k, []).append(v)
        out[name] = rows
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="*", help="NAME=PATH of a built checkout")
    parser.add_argument("--threads", default="2,4,8,16,32,64")
    parser.add_argument("--workloads", default="small_tabular,mnist_shaped,wide,regression")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    names = args.workloads.split(",")
    if args.child:
        print(json.dumps(stages(names, threads)))
        return
    builds = [b.split("=", 1) for b in args.builds] or [["this", os.path.dirname(HERE)]]
    results = {}
    for label, path in builds:
        env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
        run = subprocess.run([sys.executable, __file__, "--child", "--threads", args.threads,
                              "--workloads", args.workloads],
                             env=env, capture_output=True, text=True, check=True, cwd=path)
        results[label] = json.loads(run.stdout)
    labels = [label for label, _ in builds]
    print("Tiles of work per stage of one batch (the most threads a stage keeps busy);"
          f" builds: {' -> '.join(labels)}\n")
    head = "| workload | stage | " + " | ".join(f"{t} threads" for t in threads) + " |"
    print(head)
    print("|" + "---|" * (2 + len(threads)))
    for name in names:
        stage_names = []
        for label in labels:
            stage_names += [s for s in results[label][name] if s not in stage_names]
        for s in stage_names:
            cells = []
            for i in range(len(threads)):
                values = [results[label][name].get(s, [None] * len(threads))[i]
                          for label in labels]
                cells.append(" -> ".join("-" if v is None else str(v) for v in values))
            print(f"| {name} | {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
