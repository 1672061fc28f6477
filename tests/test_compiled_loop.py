"""The compiled epoch loop holds no Python and allocates nothing per minibatch.

(a) Statically: Cython's annotation (``cython -a``, with the build's own compiler
    directives read from setup.py) scores every line of ``run_epoch``'s chunk loop
    0, i.e. no Python C-API; and every line of the ``noexcept nogil`` functions a
    chunk runs (the minibatch loop and what it calls, in _network.pyx and
    _updates.pyx) likewise, but for the Ctrl-C check of a long batch.
(b) Behaviourally: the memory traced by tracemalloc while training does not grow
    with the number of minibatches of an epoch.
"""
import ast
import html
import re
import shutil
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import fastmlp._solver
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._core._epoch import run_epoch
from fastmlp._core._layout import InputMatrix, Layout, Workspace
from fastmlp._functions import HIDDEN_ACTIVATIONS, LOSS_OF_OUTPUT, OUTPUT_ACTIVATIONS
from fastmlp._optimizers import SGD, Adam

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "fastmlp" / "_core"


# ---------------------------------------------------------------------------
# (a) the annotated source
# ---------------------------------------------------------------------------

def build_directives():
    """CYTHON_DIRECTIVES as setup.py passes them to cythonize (bounds checks and the
    like change the scores, so the annotation must use the build's directives)."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "CYTHON_DIRECTIVES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py defines no CYTHON_DIRECTIVES")


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """{module name: (source lines, {line number: score})} from `cython -a`."""
    pytest.importorskip("Cython")
    tmp = tmp_path_factory.mktemp("annotate")
    # the package layout, so that `from ._network cimport ...` resolves
    pkg = tmp / "fastmlp" / "_core"
    pkg.mkdir(parents=True)
    shutil.copy(REPO / "fastmlp" / "__init__.py", tmp / "fastmlp" / "__init__.py")
    for pattern in ("*.pyx", "*.pxd", "__init__.py"):
        for f in CORE.glob(pattern):
            shutil.copy(f, pkg / f.name)
    shutil.copytree(REPO / "csrc", tmp / "csrc")

    directives = build_directives()
    flags = ",".join(f"{k}={v}" for k, v in directives.items() if k != "language_level")
    modules = ["_epoch", "_network", "_updates"]
    cmd = [sys.executable, "-m", "cython", "-a", f"-{directives.get('language_level', 3)}",
           "-X", flags, "-I", str(tmp), "-I", str(tmp / "csrc")]
    cmd += [f"fastmlp/_core/{m}.pyx" for m in modules]
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    result = {}
    for m in modules:
        text = (pkg / f"{m}.html").read_text()
        scores = {int(num): int(score) for score, num in re.findall(
            r'<pre class="cython line score-(\d+)"[^>]*>(?:\+|&#xA0;|\xa0)?'
            r'<span class="">(\d+)</span>', text)}
        source = (pkg / f"{m}.pyx").read_text().splitlines()
        assert len(scores) == len(source), f"{m}: could not read the annotation"
        result[m] = (source, scores, text)
    return result


def indent(line):
    return len(line) - len(line.lstrip())


def block_end(source, first):
    """Index after the last line of the block whose header is source[first]."""
    end = first + 1
    for i in range(first + 1, len(source)):
        if source[i].strip() and indent(source[i]) <= indent(source[first]):
            break
        end = i + 1
    return end


def test_run_epoch_chunk_loop_holds_no_python(annotated):
    """run_epoch's loop hands chunks of batches to the compiled team (a C call) and
    looks for Ctrl-C between them: no Python object is touched per chunk."""
    source, scores, _ = annotated["_epoch"]
    start = next(i for i, line in enumerate(source) if line.startswith("def run_epoch("))
    stop = block_end(source, start)
    loops = [i for i in range(start, stop) if source[i].strip().startswith("while ")]
    assert len(loops) == 1, "run_epoch should have one chunk loop"
    body = [i for i in range(loops[0], block_end(source, loops[0])) if source[i].strip()]
    assert any("policy.run(train_job" in source[i] for i in body)
    offenders = [f"{i + 1}: score {scores[i + 1]}: {source[i].strip()}"
                 for i in body if scores[i + 1] != 0
                 and not source[i].strip().startswith("PyErr_CheckSignals()")]
    assert not offenders, "Python interaction in the chunk loop:\n" + "\n".join(offenders)


def nogil_functions(source):
    """(name, first body line index, end index) of every `cdef ... noexcept nogil` function."""
    out = []
    for i, line in enumerate(source):
        if not line.startswith("cdef "):
            continue
        j = i
        while not source[j].rstrip().endswith(":"):
            j += 1
        header = " ".join(s.strip() for s in source[i:j + 1])
        if "noexcept nogil" in header:
            name = re.search(r"(\w+)\s*\(", header).group(1)
            out.append((name, j + 1, block_end(source, i)))
    return out


def c_code_of_line(html_text, number):
    """The generated C of one source line, from the annotation."""
    start = html_text.index(f'<span class="">{number}</span>')
    code_start = html_text.index("<pre class=", start + 1)
    code_end = html_text.find('<pre class="cython line', code_start + 1)
    return html.unescape(re.sub(r"<[^>]+>", "", html_text[code_start:code_end]))


def with_gil_lines(source, body, end):
    """Lines of `with gil:` blocks between body and end: where a nogil function
    takes the GIL on purpose (to look for Ctrl-C)."""
    lines = set()
    for i in range(body, end):
        if source[i].strip() == "with gil:":
            lines.update(range(i, block_end(source, i)))
    return lines


@pytest.mark.parametrize("module", ["_network", "_updates"])
def test_nogil_kernels_hold_no_python(annotated, module):
    """Everything a chunk runs: the minibatch loop, the forward/backward pass and
    the updates. Only the Ctrl-C check of a long batch takes the GIL."""
    source, scores, text = annotated[module]
    functions = nogil_functions(source)
    names = {name for name, _, _ in functions}
    expected = {"_network": {"train_job", "train_batches", "train_batch", "forward_tile",
                             "backward_task", "predict_job", "stopping"},
                "_updates": {"sgd_step", "adam_step", "adam_step_size", "update_range"}}[module]
    assert expected <= names, f"missing nogil functions: {expected - names}"
    offenders, gil_blocks = [], []
    for name, body, end in functions:
        allowed = with_gil_lines(source, body, end)
        if allowed:
            gil_blocks.append(name)
            assert all("check_signals()" in source[i] for i in allowed
                       if source[i].strip() != "with gil:"), name
        for i in range(body, end):
            if scores[i + 1] != 0 and i not in allowed:
                offenders.append(f"{name}, line {i + 1}: score {scores[i + 1]}: "
                                 f"{source[i].strip()}")
    assert not offenders, "Python interaction in nogil kernels:\n" + "\n".join(offenders)
    assert gil_blocks == (["stopping"] if module == "_network" else [])


# ---------------------------------------------------------------------------
# (b) traced memory does not grow with the number of minibatches
# ---------------------------------------------------------------------------

N = 4000     # rows: batch_size=1 makes 4000 minibatches, so even a few bytes kept
SLACK = 8 * 1024   # per minibatch would exceed this slack many times over

rng = np.random.RandomState(0)
X = rng.randn(N, 8)
Y_REG = X[:, 0] + 0.1 * rng.randn(N)
Y_CLASS = (X[:, 1] > 0).astype(int)


def traced_peak(func):
    """Peak traced memory above what was traced when func started."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        func()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def workspace_bytes(est, batch_size):
    """The buffers a fit allocates once, sized by the batch: they may differ."""
    layout = est._layout(batch_size)
    itemsize = est.coefs_[0].dtype.itemsize
    return (layout.act_size + layout.delta_size) * itemsize + layout.capacity * 8


def measured_fit(make, X, y, batch_size, monkeypatch):
    """Fit once traced. Returns (peak of the whole fit, peak from the compiled epoch's
    start on, growth inside the compiled epoch calls, the workspace's bytes), peaks
    above the memory traced when fit started."""
    est = make(batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)   # warm-up: first-call imports and caches
    inner = fastmlp._solver.run_epoch
    peaks, epoch_growth = [], []

    def measuring_run_epoch(*args):
        current, peak = tracemalloc.get_traced_memory()
        peaks.append(peak)
        tracemalloc.reset_peak()
        try:
            return inner(*args)
        finally:
            after_peak = tracemalloc.get_traced_memory()[1]
            epoch_growth.append(after_peak - current)
            peaks.append(after_peak)
            tracemalloc.reset_peak()

    with monkeypatch.context() as m:
        m.setattr(fastmlp._solver, "run_epoch", measuring_run_epoch)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert len(epoch_growth) == 1   # max_iter=1: one compiled epoch
    return (max(peaks) - base, max(peaks[1:]) - base, epoch_growth[0],
            workspace_bytes(est, batch_size))


FIT_CASES = {
    "regressor-sgd": (lambda bs: MLPRegressor(hidden_layer_sizes=(16,), solver="sgd",
                                              batch_size=bs, max_iter=1, random_state=0),
                      Y_REG, np.float64),
    "regressor-adam-f32": (lambda bs: MLPRegressor(hidden_layer_sizes=(16, 8), solver="adam",
                                                   batch_size=bs, max_iter=1, random_state=0),
                           Y_REG, np.float32),
    "classifier-adam-f32": (lambda bs: MLPClassifier(hidden_layer_sizes=(16, 8), solver="adam",
                                                     batch_size=bs, max_iter=1, random_state=0),
                            Y_CLASS, np.float32),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_memory_does_not_grow_with_minibatches(case, monkeypatch):
    """One epoch as 1 minibatch of N rows or as N minibatches of 1 row."""
    make, y, dtype = FIT_CASES[case]
    Xd = X.astype(dtype)
    (whole_n, from_epoch_n, epoch_n, ws_n), (whole_1, from_epoch_1, epoch_1, ws_1) = (
        measured_fit(make, Xd, y, bs, monkeypatch) for bs in (N, 1))
    # tracemalloc does see the fit's NumPy buffers: the one-batch fit's workspace shows
    assert whole_n > ws_n > 100 * ws_1
    # inside the compiled epoch: a small constant, whatever the number of minibatches
    assert epoch_1 <= epoch_n + 512, (epoch_n, epoch_1)
    assert epoch_1 < 16 * 1024, epoch_1
    # the whole fit: N minibatches never peak higher than one; and from the epoch on,
    # apart from the workspace (sized by the batch), the peaks are the same. (Before
    # the epoch, input validation's temporaries can outgrow a small workspace: their
    # size depends on the NumPy and scikit-learn versions. The classifier's label
    # encoding peaks before the epoch too, so for it only the one-sided bound is exact.)
    assert whole_1 < whole_n + SLACK, (whole_n, whole_1)
    if case.startswith("regressor"):
        assert abs((from_epoch_1 - ws_1) - (from_epoch_n - ws_n)) < SLACK, (
            from_epoch_n, from_epoch_1)


def test_the_memory_check_catches_per_batch_buffers(monkeypatch):
    """Sanity of the measurement: an epoch keeping one tiny array per minibatch until
    it ends (what a Python loop collecting per-batch results would do) fails it."""
    real_run_epoch = fastmlp._solver.run_epoch

    def leaky_run_epoch(ws, params, grads, optimizer, X, Y, sw, order, batch_size, threads):
        kept = [np.empty(1) for _ in range(0, order.shape[0], batch_size)]
        loss = real_run_epoch(ws, params, grads, optimizer, X, Y, sw, order, batch_size,
                              threads)
        del kept
        return loss

    monkeypatch.setattr(fastmlp._solver, "run_epoch", leaky_run_epoch)
    make, y, dtype = FIT_CASES["regressor-sgd"]
    (_, from_epoch_n, epoch_n, ws_n), (_, from_epoch_1, epoch_1, ws_1) = (
        measured_fit(make, X, y, bs, monkeypatch) for bs in (N, 1))
    assert epoch_1 > epoch_n + 100 * 1024
    assert (from_epoch_1 - ws_1) - (from_epoch_n - ws_n) > 10 * SLACK


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_run_epoch_allocates_nothing_per_minibatch(optimizer, dtype, sparse):
    """run_epoch itself, on buffers allocated beforehand: its traced peak is a small
    constant (argument checks), the same for 1 minibatch and for N."""
    layout = Layout([8, 16, 2], HIDDEN_ACTIVATIONS["relu"], OUTPUT_ACTIVATIONS["identity"],
                    LOSS_OF_OUTPUT["identity"], 1e-4, N)
    ws = Workspace(layout, dtype)
    r = np.random.RandomState(1)
    Xd = X.astype(dtype)
    if sparse:
        Xd = sp.csr_matrix(np.where(np.abs(Xd) > 0.8, Xd, 0))
    Y = np.ascontiguousarray(r.randn(N, 2), dtype=dtype)
    sw = r.uniform(0.5, 2, N).astype(dtype)
    params = (0.1 * r.randn(layout.n_params)).astype(dtype)
    grads = np.empty_like(params)
    opt = (SGD(layout.n_params, dtype, 0.01) if optimizer == "sgd"
           else Adam(layout.n_params, dtype, 0.001))
    order = r.permutation(N).astype(np.intp)
    x = InputMatrix(Xd)    # checked (and CSR indices converted) once, as fit does

    def epoch(batch_size):
        return lambda: run_epoch(ws, params, grads, opt, x, Y, sw, order, batch_size, 2)

    epoch(N)()    # warm-up
    peaks = {bs: traced_peak(epoch(bs)) for bs in (N, 1, 7)}
    assert peaks[1] <= peaks[N] + 512, peaks
    assert peaks[7] <= peaks[N] + 512, peaks
    assert peaks[1] < 16 * 1024, peaks
    assert opt.t == (0 if optimizer == "sgd" else 1 + N + (N + 6) // 7 + 1)
