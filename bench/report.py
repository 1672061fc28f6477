"""Markdown tables, the README "Latest results" section and the PNG chart."""
import re

README_START = "<!-- results:start (written by bench/run.py --update-readme) -->"
README_END = "<!-- results:end -->"
SYSTEM_ORDER = ("fastmlp", "sklearn", "torch")


def fmt(x, unit=""):
    """Three-ish significant digits without scientific notation."""
    if x is None:
        return "n/a"
    digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2
    return f"{x:,.{digits}f}{unit}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def systems_in(results):
    return [s for s in SYSTEM_ORDER if s in results.get("systems", {})]


def cell(entry, system, key, scale=1.0, unit=""):
    info = entry["systems"].get(system)
    if info is None:
        return "n/a"
    if "error" in info:
        return "error"
    return fmt(info[key] * scale, unit)


def ratio_cells(entry, others):
    return [fmt(entry["ratios"].get(f"{o}/fastmlp"), "x") for o in others]


def machine_md(results):
    m = results["machine"]
    blas = ", ".join(f"{p.get('internal_api')} {p.get('version')} "
                     f"({p.get('num_threads')} threads)"
                     for p in m.get("threadpools", []))
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [f"Machine: {m['cpu_model']}, {m['cpu_count']} cores; {versions}.",
             f"Thread pools: {blas or 'n/a'}."]
    if m.get("cpu_steal_fraction") is not None:
        lines.append(
            f"Noise during the run: {m['other_processes_cpu_fraction']:.1%} of the "
            f"CPU time used by other processes, {m['cpu_steal_fraction']:.1%} stolen "
            "by the hypervisor (a few % at most for trustworthy timings).")
    gemm = results.get("gemm", {})
    if gemm:
        lines.append("Large-GEMM peak (numpy 2048x2048 product, all cores, best of "
                     "start and end of the run): " +
                     ", ".join(f"{dt} {fmt(g.get('gflops'))} GFLOP/s"
                               for dt, g in gemm.items()) + ".")
    return "\n".join(lines)


def training_md(results):
    systems = systems_in(results)
    others = [s for s in systems if s != "fastmlp"]
    cfg = results["config"]
    header = ["workload", "dtype"] + [f"{s} ms/epoch" for s in systems] + \
             [f"{o}/fastmlp" for o in others]
    rows = [[e["workload"], e["dtype"]] +
            [cell(e, s, "sec_per_epoch_median", 1e3) for s in systems] +
            ratio_cells(e, others) for e in results.get("training", [])]
    eff_rows = [[e["workload"], e["dtype"]] +
                [_efficiency(e, s) for s in systems]
                for e in results.get("training", [])]
    return "\n\n".join([
        f"**Training** (median time per epoch over {cfg['repeats']} alternated "
        f"repeats of {cfg['epochs']} epochs; ratio > 1 means fastmlp is faster)",
        table(header, rows),
        "**Training efficiency** (GFLOP/s of the dense layers, and % of the "
        "same-dtype GEMM peak)",
        table(["workload", "dtype"] + [f"{s} GFLOP/s" for s in systems], eff_rows)])


def _efficiency(entry, system):
    info = entry["systems"].get(system)
    if not info or "error" in info:
        return "n/a" if not info else "error"
    frac = info.get("gemm_fraction")
    return fmt(info["gflops"]) + (f" ({frac:.0%})" if frac is not None else "")


def prediction_md(results):
    systems = systems_in(results)
    others = [s for s in systems if s != "fastmlp"]
    parts = []
    lat = results.get("predict_latency", [])
    if lat:
        rows = [[e["dtype"]] + [cell(e, s, "median_us") for s in systems] +
                ratio_cells(e, others) for e in lat]
        parts += [f"**One-row predict_proba latency** (MNIST-shaped classifier, "
                  f"median of {lat[0]['n_calls']} calls, microseconds)",
                  table(["dtype"] + [f"{s} us" for s in systems] +
                        [f"{o}/fastmlp" for o in others], rows)]
    thr = results.get("predict_throughput", [])
    if thr:
        rows = [[e["dtype"]] + [cell(e, s, "rows_per_s", 1e-6) for s in systems] +
                ratio_cells(e, others) for e in thr]
        parts += [f"**Batch predict_proba throughput** ({thr[0]['n_rows']:,} rows "
                  f"x 64 features, hidden (100,), 10 classes; million rows/s)",
                  table(["dtype"] + [f"{s} Mrows/s" for s in systems] +
                        [f"{o}/fastmlp" for o in others], rows)]
    return "\n\n".join(parts)


def scaling_md(results):
    entries = results.get("thread_scaling", [])
    if not entries:
        return ""
    counts = list(entries[0]["threads"])
    rows = [[e["dtype"]] +
            [fmt(e["threads"][t]["sec_per_epoch_median"] * 1e3) for t in counts] +
            [fmt(e["speedup"], "x"), fmt(e.get("gemm_speedup"), "x")]
            for e in entries if "threads" in e]
    return "\n\n".join([
        f"**Thread scaling** ({entries[0]['system']}, wide workload, "
        f"n={entries[0].get('n_samples')}, ms/epoch, fresh process per run; beside it, "
        f"numpy's 2048^3 product over the same thread counts: what the machine itself gains)",
        table(["dtype"] + [f"{t} thread(s)" for t in counts] +
              ["speed-up", "numpy GEMM speed-up"], rows)])


def memory_md(results):
    entries = results.get("memory", [])
    if not entries:
        return ""
    rows = []
    for e in entries:
        for name, m in e["systems"].items():
            if "error" in m:
                rows.append([e["dtype"], name, "error", "error", "n/a", "n/a"])
                continue
            rows.append([e["dtype"], name, fmt(m["rss_peak_increase_mib"]),
                         fmt(m.get("tracemalloc_peak_mib")),
                         fmt(m["rss_before_fit_mib"]), fmt(m["data_mib"])])
    return "\n\n".join([
        f"**Peak memory of a fit** (MNIST-shaped, n={entries[0]['n_samples']}, "
        f"epochs={entries[0]['epochs']}, fresh process per system, MiB)",
        table(["dtype", "system", "peak RSS increase", "tracemalloc peak",
               "RSS before fit", "X + y size"], rows)])


CONDITION_LABELS = {"idle": "idle", "after_blas": "after a threaded BLAS call",
                    "busy_1": "beside 1 busy process", "busy_2": "beside 2 busy processes",
                    "one_cpu": "affinity: one CPU"}


def contention_md(results):
    entries = results.get("contention", [])
    if not entries:
        return ""
    rows = []
    for e in entries:
        label = [CONDITION_LABELS.get(e["condition"], e["condition"]), e["workload"]]
        if "error" in e:
            rows.append(label + ["error"] * 5)
            continue
        sysinfo, r = e["systems"], e["ratios"]
        rows.append(label + [fmt(sysinfo[n]["sec_per_epoch_median"] * 1e3)
                             for n in ("fastmlp", "fastmlp_1", "sklearn")] +
                    [fmt(r["fastmlp/fastmlp_1"], "x"), fmt(r["sklearn/fastmlp"], "x")])
    first = entries[0]
    return "\n\n".join([
        f"**Contention** ({first['dtype']}, medians of {first['repeats']} alternated "
        "repeats, ms/epoch; fastmlp as it comes, fastmlp held to one thread, "
        "scikit-learn; each condition in a fresh process; target: "
        "fastmlp/fastmlp 1 thread <= 1.15x, sklearn/fastmlp > 1)",
        table(["condition", "workload", "fastmlp", "fastmlp 1 thread", "sklearn",
               "fastmlp / 1 thread", "sklearn/fastmlp"], rows)])


def user_md(results):
    entries = results.get("user", [])
    if not entries:
        return ""
    rows = []
    for e in entries:
        if "error" in e:
            rows.append([e["workload"]] + ["error"] * 4)
            continue
        info = e["systems"]
        rows.append([e["workload"], fmt(info["fastmlp"]["seconds_median"], " s"),
                     fmt(info["sklearn"]["seconds_median"], " s"),
                     fmt(e["ratios"]["sklearn/fastmlp"], "x"),
                     "yes" if e.get("same_results") else "**no**"])
    parts = ["**User workloads** (end to end, seconds, medians of "
             f"{entries[0].get('repeats', '?')} alternated repeats in one process; "
             "target: sklearn/fastmlp >= 2)",
             table(["workload", "fastmlp", "sklearn", "sklearn/fastmlp",
                    "same results"], rows)]
    pca = next((e for e in entries if e["workload"] == "grid_pca" and "no_spin" in e), None)
    if pca:
        parts.append(
            "GridSearchCV with PCA: fastmlp "
            f"{fmt(pca['systems']['fastmlp']['seconds_median'], ' s')} as it comes, "
            f"{fmt(pca['no_spin']['seconds_median'], ' s')} with OpenBLAS's idle "
            "threads sleeping at once (`OPENBLAS_THREAD_TIMEOUT=4`, another process): "
            f"**{fmt(pca['spin_cost'], 'x')}** (target <= 1.15x).")
    return "\n\n".join(parts)


def results_markdown(results):
    parts = []
    sub = results["systems"].get("fastmlp", {}).get("substitute")
    if sub:
        parts.append(f"> **WARNING: fastmlp was substituted: {sub}.**")
    busy = results["machine"].get("other_processes_cpu_fraction") or 0
    steal = results["machine"].get("cpu_steal_fraction") or 0
    if busy + steal > 0.1:
        parts.append(f"> **WARNING: other processes ({busy:.0%}) and the hypervisor "
                     f"({steal:.0%}) took CPU time during this run: the timings are "
                     "unreliable; re-run on a quiet machine.**")
    missing = [f"{n} ({i['reason']})" for n, i in results["systems"].items()
               if not i.get("available")]
    if missing:
        parts.append("Unavailable: " + "; ".join(missing) + ".")
    parts += [f"Run: `{results['command']}` on {results['created']}"
              f"{' (quick mode)' if results['config']['quick'] else ''}.",
              machine_md(results), training_md(results), prediction_md(results),
              scaling_md(results), memory_md(results), contention_md(results),
              user_md(results)]
    return "\n\n".join(p for p in parts if p) + "\n"


def update_readme(path, markdown):
    """Replace the text between the README markers (append them if absent)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# fastmlp benchmarks\n"
    block = f"{README_START}\n{markdown}{README_END}"
    pattern = re.escape(README_START) + r".*?" + re.escape(README_END)
    if re.search(pattern, text, flags=re.S):
        text = re.sub(pattern, lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def _ratio_groups(results):
    """[(title, [(label, {"sklearn/fastmlp": r, ...})])] for the chart."""
    training = [(f"{e['workload']}\n{e['dtype']}", e["ratios"])
                for e in results.get("training", [])]
    predict = [(f"1-row latency\n{e['dtype']}", e["ratios"])
               for e in results.get("predict_latency", [])]
    predict += [(f"{e['n_rows']:,} rows\n{e['dtype']}", e["ratios"])
                for e in results.get("predict_throughput", [])]
    return [("Training: time per epoch", training),
            ("Prediction: predict_proba", predict)]


def write_chart(results, path):
    """Bar chart of the speed ratios; returns False (with a message) if skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        print("[bench] matplotlib is not installed: chart skipped "
              "(pip install matplotlib)")
        return False
    groups = [(t, [(lbl, r) for lbl, r in g if any(v for v in r.values())])
              for t, g in _ratio_groups(results)]
    groups = [(t, g) for t, g in groups if g]
    if not groups:
        print("[bench] no fastmlp ratios to plot: chart skipped")
        return False
    widths = [max(len(g), 2) for _, g in groups]
    fig, axes = plt.subplots(1, len(groups), figsize=(2 + 0.9 * sum(widths), 4.5),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, (title, group) in zip(axes[0], groups):
        keys = sorted({k for _, r in group for k in r})
        width = 0.8 / len(keys)
        for j, key in enumerate(keys):
            xs = [i + (j - (len(keys) - 1) / 2) * width for i in range(len(group))]
            bars = ax.bar(xs, [r.get(key) or 0 for _, r in group], width, label=key)
            ax.bar_label(bars, fmt="%.2g", fontsize=6)
        if max((v or 0) for _, r in group for v in r.values()) > 8:
            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            ax.tick_params(axis="y", which="minor", labelsize=6)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(group)))
        ax.set_xticklabels([lbl for lbl, _ in group], fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("time ratio (> 1: fastmlp faster)")
        ax.legend(fontsize=8)
    sub = results["systems"].get("fastmlp", {}).get("substitute")
    busy = (results["machine"].get("other_processes_cpu_fraction") or 0) + \
        (results["machine"].get("cpu_steal_fraction") or 0)
    fig.suptitle("fastmlp speed-up" + (f" [SUBSTITUTE: {sub}]" if sub else "") +
                 (f" [NOISY RUN: {busy:.0%} CPU taken by others]" if busy > 0.1
                  else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
