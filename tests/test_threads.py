"""The same fit on any number of threads gives the same bits, and the number of
threads follows the limits in force and what the machine has free.

A stage's tiles follow the team that runs it (more threads, more tiles), and the
engine's products give the same bits however they are split. The shapes are
chosen so the core really splits its work: batches of 256 rows, layers of >= 128
units and > 16384 parameters. The teams a fit runs on are forced (`teams_of`, up
to 64 threads on this machine's few cores): left to itself, the policy runs on
one thread whenever the machine is busy, which a test machine often is.
"""
import contextlib
import os
import subprocess
import sys
import textwrap
import time
import warnings
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import fastmlp
import fastmlp._mlp
import fastmlp._solver
from fastmlp._core._kernels import max_threads
from fastmlp._core._layout import Layout, Workspace
from fastmlp._core._network import loss_grad
from fastmlp._core._team import ThreadPolicy, tiling
from fastmlp._functions import HIDDEN_ACTIVATIONS, LOSS_OF_OUTPUT, OUTPUT_ACTIVATIONS
from fastmlp._threads import n_threads, usable_cpus

THREADS = [1, 2, 3, 4, 8, 16, 64]
N_SAMPLES, N_FEATURES, HIDDEN = 600, 64, (192, 128)
PARAM_RANGE = 16384

rng = np.random.RandomState(0)
X = rng.randn(N_SAMPLES, N_FEATURES)
Z = X @ rng.randn(N_FEATURES, 3) / 8 + rng.randn(N_SAMPLES, 3)
Y_CLASS = np.argmax(Z, axis=1)
Y_REG = Z[:, :2]
X_PREDICT = np.random.RandomState(1).randn(4500, N_FEATURES)   # two chunks of rows


@contextlib.contextmanager
def teams_of(schedule):
    """Fits and predictions inside run their chunks on teams of the sizes
    `schedule` lists, cycled through. Yields the policies made."""
    made = []

    def policy():
        made.append(ThreadPolicy(max(schedule), schedule=schedule))
        return made[-1]

    with mock.patch.object(fastmlp._solver, "fit_policy", policy), \
            mock.patch.object(fastmlp._mlp, "prediction_policy", policy):
        yield made
    if max(schedule) > 1:
        assert any(p.parallel_chunks for p in made), "no chunk ran on a team"


def n_params(n_outputs):
    units = [N_FEATURES, *HIDDEN, n_outputs]
    return sum(a * b + b for a, b in zip(units[:-1], units[1:]))


def test_shapes_split_the_work():
    assert n_params(2) > PARAM_RANGE and n_params(3) > PARAM_RANGE
    assert N_SAMPLES >= 2 * 256
    layout = Layout([N_FEATURES, *HIDDEN, 3], 3, 4, 1, 1e-4, 256)
    split = tiling(layout, 256, 2)
    assert split["forward"] > 1 and split["params"] > 2
    weights, delta = zip(*split["backward"])
    assert min(weights) > 1 and min(delta[1:]) > 1 and delta[0] == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_tiles_follow_the_threads(dtype):
    """One tile per stage on one thread; more threads, more tiles, up to what the
    shapes offer: at 16 threads every stage of the MNIST-shaped and the wide
    network has 16 tiles at least."""
    for units, rows in [([784, 100, 10], 200), ([256, 512, 512, 10], 256)]:
        layout = Layout(units, 3, 4, 1, 1e-4, rows)
        one = tiling(layout, rows, 1, dtype)
        assert one["forward"] == 1 and one["params"] >= 1
        assert all(w == 1 and d in (0, 1) for w, d in one["backward"])
        previous = one
        for k in [2, 4, 8, 16]:
            split = tiling(layout, rows, k, dtype)
            assert split["forward"] >= previous["forward"]
            previous = split
        assert split["forward"] >= 16 and split["params"] >= 16
        # a stage: its weight-gradient tiles, its delta tiles and the intercepts
        assert all(w + d + 1 >= 16 for w, d in split["backward"])


def test_threadpool_limits_set_the_core_thread_count():
    for k in THREADS:
        with threadpool_limits(limits=k, user_api="openmp"):
            assert max_threads() == k
            assert n_threads() == min(k, usable_cpus())


def run_python(code, **env):
    """Run code in a fresh interpreter; returns its stdout."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env={**os.environ, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("value", ["1", "3", "7"])
def test_omp_num_threads_sets_the_core_thread_count(value):
    # scikit-learn's convention: OMP_NUM_THREADS, when set, is taken as it is
    out = run_python("from fastmlp._threads import n_threads; print(n_threads())",
                     OMP_NUM_THREADS=value)
    assert int(out) == int(value)


def test_default_thread_count_is_the_usable_cpus():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = subprocess.run(
        [sys.executable, "-c", "from fastmlp._threads import n_threads, usable_cpus;"
                               "import joblib;"
                               "print(n_threads(), usable_cpus(),"
                               " joblib.cpu_count(only_physical_cores=True))"],
        env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    threads, usable, joblib_count = map(int, proc.stdout.split())
    assert threads == usable == joblib_count


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks here")
def test_affinity_mask_limits_the_core_thread_count():
    mask = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(mask)})
        assert n_threads() == 1
        assert fastmlp._threads.fit_policy().max_threads == 1
    finally:
        os.sched_setaffinity(0, mask)
    assert n_threads() == min(max_threads(), usable_cpus())


def assert_same_bits_and_sklearns_weights(kind, params, X, y):
    """Fits on 1, 2, 4 and 8 threads give the same bits, and scikit-learn's weights
    to rounding: the tiled, parallel computation is also the right one."""
    fits = [fit_with_threads(kind, params, X, y, k) for k in THREADS]
    first = fits[0]
    assert first.coefs_[0].dtype == X.dtype
    for k, est in zip(THREADS[1:], fits[1:]):
        for a, b in zip(first.coefs_ + first.intercepts_, est.coefs_ + est.intercepts_):
            np.testing.assert_array_equal(b, a, err_msg=f"{k} threads")
        assert est.loss_curve_ == first.loss_curve_
    ref = getattr(sk, kind)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    rtol = 1e-6 if X.dtype == np.float64 else 1e-3
    for a, r in zip(first.coefs_ + first.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, r, rtol=rtol, atol=rtol * np.max(np.abs(r)))
    np.testing.assert_allclose(first.loss_curve_, ref.loss_curve_, rtol=rtol)


def fit_with_threads(kind, params, X, y, k):
    """Fit with every chunk on k threads (a list: the teams of successive chunks)."""
    est = getattr(fastmlp, kind)(**params)
    with teams_of(k if isinstance(k, list) else [k]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    return est


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_fit_bit_identical_across_thread_counts(kind, solver, dtype):
    params = dict(hidden_layer_sizes=HIDDEN, activation="relu", solver=solver,
                  batch_size=256, max_iter=3, random_state=0, alpha=1e-3,
                  learning_rate_init=0.01 if solver == "sgd" else 1e-3)
    Xd = X.astype(dtype)
    y = Y_CLASS if kind == "MLPClassifier" else Y_REG
    assert_same_bits_and_sklearns_weights(kind, params, Xd, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_partial_fit_bit_identical_across_thread_counts(dtype):
    """A stream of partial_fit calls, each on its own team size, and the same
    stream on one thread: the same bits."""
    params = dict(hidden_layer_sizes=HIDDEN, solver="adam", batch_size=128, random_state=0)
    Xd = X.astype(dtype)
    results = []
    for schedule in ([1], [2], [3], [4], [8], [16], [64], [2, 1, 3, 8]):
        est = fastmlp.MLPClassifier(**params)
        with teams_of(schedule):
            for start in range(0, N_SAMPLES, 200):
                est.partial_fit(Xd[start:start + 200], Y_CLASS[start:start + 200],
                                classes=[0, 1, 2])
        results.append(weights_of(est))
    for weights in results[1:]:
        for a, b in zip(results[0], weights):
            np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_predict_bit_identical_across_thread_counts(dtype):
    params = dict(hidden_layer_sizes=HIDDEN, activation="tanh", batch_size=256,
                  max_iter=2, random_state=0)
    est = fit_with_threads("MLPClassifier", params, X.astype(dtype), Y_CLASS, 2)
    Xp = X_PREDICT.astype(dtype)
    outputs = []
    for k in THREADS:
        with teams_of([k]):
            outputs.append((est.predict_proba(Xp), est.predict(Xp)))
    for proba, pred in outputs[1:]:
        np.testing.assert_array_equal(proba, outputs[0][0])
        np.testing.assert_array_equal(pred, outputs[0][1])
    # rows are predicted 4096 at a time: the second chunk is the rows after 4096
    np.testing.assert_array_equal(
        np.vstack([est.predict_proba(Xp[:4096]), est.predict_proba(Xp[4096:])]),
        outputs[0][0])
    ref = sk.MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X.astype(dtype), Y_CLASS)
    rtol = 1e-6 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(outputs[0][0], ref.predict_proba(Xp), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("hidden", ["relu", "logistic"])
def test_loss_grad_bit_identical_across_thread_counts(hidden, dtype, sparse):
    units = [N_FEATURES, *HIDDEN, 3]
    layout = Layout(units, HIDDEN_ACTIVATIONS[hidden], OUTPUT_ACTIVATIONS["softmax"],
                    LOSS_OF_OUTPUT["softmax"], 1e-2, N_SAMPLES)
    assert tiling(layout, N_SAMPLES, 2)["backward"][0][0] > 1   # tiles of dW[0]
    Xk = X.astype(dtype)
    if sparse:
        Xk = sp.csr_matrix(np.where(np.abs(Xk) > 1, Xk, 0))
    r = np.random.RandomState(2)
    params = (0.1 * r.randn(layout.n_params)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[Y_CLASS]
    sw = r.uniform(0.5, 2, N_SAMPLES).astype(dtype)
    results = []
    for k in THREADS:
        grads = np.empty(layout.n_params, dtype=dtype)
        loss = loss_grad(Workspace(layout, dtype), params, grads, Xk, Y, sw, k)
        results.append((loss, grads))
    for loss, grads in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grads, results[0][1])
    if sparse:      # the sparse kernels' tiles compute what the dense ones do
        grads = np.empty(layout.n_params, dtype=dtype)
        loss = loss_grad(Workspace(layout, dtype), params, grads, Xk.toarray(), Y, sw, 2)
        rtol = 1e-10 if dtype == np.float64 else 1e-4
        assert loss == pytest.approx(results[0][0], rel=rtol)
        np.testing.assert_allclose(results[0][1], grads, rtol=rtol, atol=rtol)


# The smallest networks train row-split: each of two row tiles goes forward and
# backward on one thread and leaves a partial gradient; the two are summed in order.
SMALL_UNITS, SMALL_BATCH = [20, 64, 1], 200


def test_small_network_trains_row_split():
    layout = Layout(SMALL_UNITS, 3, 1, 2, 1e-4, SMALL_BATCH)
    assert tiling(layout, SMALL_BATCH, 2)["row_split"] == 2
    assert tiling(layout, 40, 2)["row_split"] == 1     # a short last batch: one tile


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_row_split_fit_bit_identical_across_thread_counts(solver, dtype):
    params = dict(hidden_layer_sizes=tuple(SMALL_UNITS[1:-1]), activation="relu",
                  solver=solver, batch_size=SMALL_BATCH, max_iter=3, random_state=0,
                  alpha=1e-3, learning_rate_init=0.01 if solver == "sgd" else 1e-3)
    Xs = np.ascontiguousarray(X[:, :SMALL_UNITS[0]], dtype=dtype)
    assert_same_bits_and_sklearns_weights("MLPClassifier", params, Xs, Y_CLASS == 0)


@pytest.mark.parametrize("weighted", [False, True])
def test_row_split_gradient_is_the_whole_batch_gradient(weighted):
    """The summed partial gradients equal the gradient computed stage by stage."""
    layout = Layout(SMALL_UNITS, HIDDEN_ACTIVATIONS["tanh"], OUTPUT_ACTIVATIONS["logistic"],
                    LOSS_OF_OUTPUT["logistic"], 1e-2, SMALL_BATCH)
    r = np.random.RandomState(3)
    Xs = np.ascontiguousarray(X[:SMALL_BATCH, :SMALL_UNITS[0]])
    Y = (Y_CLASS[:SMALL_BATCH, None] == 0).astype(np.float64)
    sw = r.uniform(0.5, 2, SMALL_BATCH) if weighted else None
    params = 0.3 * r.randn(layout.n_params)
    results = []
    for gradients in (True, False):      # with and without room for partial gradients
        grads = np.empty(layout.n_params)
        ws = Workspace(layout, np.float64, gradients=gradients)
        assert (ws.partial.shape[0] > 0) == gradients
        results.append((loss_grad(ws, params, grads, Xs, Y, sw, 2), grads))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-14)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("units, output", [
    ([20, 48, 3], "softmax"),            # an output of several units: the 4 x 2 blocks
    ([12, 40, 24, 2], "identity"),       # two hidden layers: a delta through BLAS
    ([19, 67, 1], "exp"),                # widths off every block of 4 rows and 2 vectors
], ids=["softmax", "two-hidden", "poisson"])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_row_split_products_give_the_staged_gradient(units, output, hidden, dtype):
    """The row-split batch's own products (relu's bias and activation applied in the
    same pass) give the gradient the stage-by-stage BLAS products give, for every
    hidden activation, outputs of one or several units and two hidden layers."""
    batch = 150
    layout = Layout(units, HIDDEN_ACTIVATIONS[hidden], OUTPUT_ACTIVATIONS[output],
                    LOSS_OF_OUTPUT[output], 1e-3, batch)
    assert tiling(layout, batch, 2)["row_split"] == 2
    r = np.random.RandomState(len(units) * 10 + units[1])
    Xs = r.randn(batch, units[0]).astype(dtype)
    if output == "softmax":
        Y = np.eye(units[-1])[r.randint(0, units[-1], batch)]
    else:
        Y = np.abs(r.randn(batch, units[-1]))
    Y = Y.astype(dtype)
    params = (0.3 * r.randn(layout.n_params)).astype(dtype)
    results = []
    for gradients in (True, False):      # row-split, and stage by stage
        grads = np.empty(layout.n_params, dtype)
        ws = Workspace(layout, dtype, gradients=gradients)
        results.append((loss_grad(ws, params, grads, Xs, Y, None, 2), grads))
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert results[0][0] == pytest.approx(results[1][0], rel=rtol)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=rtol,
                               atol=rtol * np.abs(results[1][1]).max())


# ---------------------------------------------------------------------------
# The thread count may change between chunks, and follows the machine's load
# ---------------------------------------------------------------------------

def weights_of(est):
    return [a.copy() for a in est.coefs_ + est.intercepts_]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("units", [SMALL_UNITS, [N_FEATURES, *HIDDEN, 3]],
                         ids=["row-split", "staged"])
def test_thread_count_changing_between_chunks_gives_the_same_bits(units, solver):
    params = dict(hidden_layer_sizes=tuple(units[1:-1]), solver=solver, batch_size=64,
                  max_iter=3, random_state=0, alpha=1e-3)
    Xs = np.ascontiguousarray(X[:, :units[0]])
    kind, y = ("MLPClassifier", Y_CLASS) if units[-1] == 3 else ("MLPRegressor", Z[:, 0])
    one = fit_with_threads(kind, params, Xs, y, 1)
    changing = fit_with_threads(kind, params, Xs, y, [2, 1, 3, 1, 1, 4, 2, 8])
    for a, b in zip(weights_of(one), weights_of(changing)):
        np.testing.assert_array_equal(a, b)
    assert one.loss_curve_ == changing.loss_curve_


@pytest.fixture
def busy_processes():
    """As many processes spinning on the CPU as this process may use."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(usable_cpus())]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.parametrize("units", [SMALL_UNITS, [N_FEATURES, *HIDDEN, 3]],
                         ids=["row-split", "staged"])
def test_fit_beside_busy_processes_gives_the_same_bits(units, busy_processes):
    params = dict(hidden_layer_sizes=tuple(units[1:-1]), batch_size=64, max_iter=3,
                  random_state=0)
    Xs = np.ascontiguousarray(X[:, :units[0]])
    kind, y = ("MLPClassifier", Y_CLASS) if units[-1] == 3 else ("MLPRegressor", Z[:, 0])
    busy = getattr(fastmlp, kind)(**params)     # the policy's own choices
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        busy.fit(Xs, y)
    for p in busy_processes:
        p.kill()
        p.wait()
    idle = fit_with_threads(kind, params, Xs, y, 1)
    for a, b in zip(weights_of(idle), weights_of(busy)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(idle.predict(Xs), busy.predict(Xs))


class TestPolicy:
    """ThreadPolicy's decisions, fed chunks it did not run (`observe`)."""

    def test_a_team_only_where_cpus_are_idle(self):
        assert ThreadPolicy(4, idle_cpus=lambda: 8).next_threads() == 4
        assert ThreadPolicy(4, idle_cpus=lambda: 2).next_threads() == 3
        assert ThreadPolicy(4, idle_cpus=lambda: 0).next_threads() == 1
        assert ThreadPolicy(1, idle_cpus=lambda: 8).next_threads() == 1

    def test_contended_team_backs_off_to_one_thread(self):
        policy = ThreadPolicy(2, idle_cpus=lambda: 1)
        waits = []
        for _ in range(4):
            assert policy.next_threads() == 2
            policy.observe(2, 1_000_000, [200_000, 0])    # waited 10% of the time
            chunks = 0
            while policy.next_threads() == 1:
                policy.observe(1, 1_000_000, [0])
                chunks += 1
            waits.append(chunks)
        assert waits == [4, 8, 16, 32]          # the wait doubles after each try
        assert policy.contended_chunks == 4
        policy.observe(2, 1_000_000, [10_000, 20_000])    # 1.5%: uncontended
        assert policy.next_threads() == 2
        policy.observe(2, 1_000_000, [0, 200_000])
        n = 0
        while policy.next_threads() == 1:
            policy.observe(1, 1_000_000, [0])
            n += 1
        assert n == 4                           # started over

    def test_no_team_while_every_cpu_is_busy(self):
        idle = [0]
        policy = ThreadPolicy(2, idle_cpus=lambda: idle[0])
        for _ in range(50):
            assert policy.next_threads() == 1
            policy.observe(1, 1_000_000, [0])
        idle[0] = 1
        for _ in range(5):                      # within one backoff it tries again
            policy.observe(1, 1_000_000, [0])
        assert policy.next_threads() == 2

    def test_unknown_delays_keep_the_team(self):
        policy = ThreadPolicy(2, idle_cpus=lambda: 1)
        assert policy.next_threads() == 2
        policy.observe(2, 1_000_000, [-1, -1])
        assert policy.next_threads() == 2

    def test_limit(self):
        policy = ThreadPolicy(8, idle_cpus=lambda: 8)
        assert policy.next_threads() == 8
        policy.limit(3)
        assert policy.max_threads == 3 and policy.next_threads() == 3

    def test_schedule(self):
        policy = ThreadPolicy(4, schedule=[1, 4])
        seen = []
        for _ in range(4):
            seen.append(policy.next_threads())
            policy.observe(seen[-1], 1_000_000, [10**6] * seen[-1])
        assert seen == [1, 4, 1, 4]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="run-queue delays: Linux")
def test_team_on_one_cpu_is_seen_contended():
    """Two threads sharing one CPU (the process pinned to it) wait for each other:
    the operating system's run-queue delays show it, and the policy goes on with
    one thread, with the same bits."""
    out = run_python(f"""
        import os
        os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
        import numpy as np
        from fastmlp._core._epoch import run_epoch
        from fastmlp._core._layout import Layout, Workspace
        from fastmlp._core._team import ThreadPolicy
        from fastmlp._optimizers import Adam
        rng = np.random.RandomState(0)
        layout = Layout([{N_FEATURES}, 192, 128, 3], 3, 4, 1, 1e-4, 256)
        X = rng.randn(4096, {N_FEATURES})
        Y = np.eye(3)[rng.randint(0, 3, 4096)]
        order = np.arange(4096, dtype=np.intp)
        results = []
        for policy in (ThreadPolicy(2, idle_cpus=lambda: 1), ThreadPolicy(1)):
            params = 0.1 * np.random.RandomState(1).randn(layout.n_params)
            opt = Adam(layout.n_params, np.float64)
            loss = run_epoch(Workspace(layout, np.float64), params, np.empty_like(params),
                             opt, X, Y, None, order, 256, policy)
            results.append((loss, params))
            print(policy.parallel_chunks, policy.contended_chunks, policy.chunks)
        assert results[0][0] == results[1][0]
        assert np.array_equal(results[0][1], results[1][1])
        """)
    (parallel, contended, chunks), _ = [map(int, line.split()) for line in out.splitlines()]
    assert parallel >= 1 and contended == parallel and chunks > parallel


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's counts are Linux's")
def test_idle_cpus_leave_out_the_teams_own_waiting_threads():
    """Between two parallel regions, the OpenMP runtime keeps the team's other
    threads spinning for a while (libgomp: milliseconds), which the kernel counts as
    running. The count of idle CPUs leaves them out: else a fit that starts right
    after another (every fit of a grid search) reads its own idle threads as a busy
    machine and runs its first chunks on one thread. In a fresh process: after the
    oversubscribed teams of other tests (64 threads), libgomp spins far less."""
    out = run_python("""
        import os, time, warnings
        import numpy as np
        import fastmlp, fastmlp._solver
        from fastmlp._core._team import ThreadPolicy, waiting_threads_running
        fastmlp._solver.fit_policy = lambda: ThreadPolicy(2, schedule=[2])
        rng = np.random.RandomState(0)
        X, y = rng.randn(600, 64), rng.randint(0, 3, 600)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fastmlp.MLPClassifier(hidden_layer_sizes=(64,), max_iter=1).fit(X, y)
        first = waiting_threads_running()
        for _ in range(400):       # then the runtime puts it to sleep
            if waiting_threads_running() == 0:
                break
            time.sleep(0.005)
        print(first, waiting_threads_running())
    """)
    passive = os.environ.get("OMP_WAIT_POLICY", "").lower() == "passive"
    assert out.split() == ["0" if passive else "1", "0"]
