"""Calls from several Python threads at once give the bits one call alone gives,
and leave BLAS's thread counts as they found them.

What concurrent calls share is the process: BLAS's thread count (held at one
thread while the core runs, and by a prediction of a few rows where BLAS could
thread its products) and the OpenMP runtime. The wide models below make that
sharing visible: their products (400 inputs into 64 units, float64) round
differently when OpenBLAS runs them on two threads, so a call that ran while
another had given BLAS its threads back differs in the last bits.
"""
import itertools
import os
import random
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import OpenBLASController, threadpool_info, threadpool_limits

import fastmlp
from fastmlp._threads import BlasHold, blas_single_threaded, n_threads, prediction_policy


def blas_threads():
    """Each loaded BLAS's thread count, as threadpoolctl reports them."""
    return sorted((info["filepath"], info["num_threads"]) for info in threadpool_info()
                  if info["user_api"] == "blas")


# ---------------------------------------------------------------------------
# The BLAS hold: one for the whole process, counted
# ---------------------------------------------------------------------------

class FakeBlas:
    """A BLAS as threadpoolctl's controllers show one: its thread count is the
    process's, or each thread's own (OpenBLAS built with OpenMP)."""
    user_api, internal_api = "blas", "openblas"

    def __init__(self, threads, per_thread=False):
        self.threading_layer = "openmp" if per_thread else "pthreads"
        self.threads = threads
        self.own = threading.local() if per_thread else None

    def get_num_threads(self):
        return self.threads if self.own is None else getattr(self.own, "threads", self.threads)

    def set_num_threads(self, threads):
        if self.own is None:
            self.threads = threads
        else:
            self.own.threads = threads


def in_order(*steps):
    """Run steps = [(thread, function)] one after another, each in its thread (0 or
    1), so that what one thread does falls between two steps of the other."""
    turn = [threading.Event() for _ in range(len(steps) + 1)]
    errors = []

    def run(me):
        for i, (thread, step) in enumerate(steps):
            if thread == me:
                turn[i].wait()
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 -- raised below, in the test
                    errors.append(exc)
                turn[i + 1].set()

    threads = [threading.Thread(target=run, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    turn[0].set()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_overlapping_holds_keep_blas_at_one_thread_until_the_last_ends():
    """Thread 0's hold begins, then thread 1's; thread 0's ends first: BLAS stays on
    one thread for thread 1, and gets its threads back when thread 1's ends. Counts
    kept per thread are each thread's own business; holds nest."""
    shared, own = FakeBlas(4), FakeBlas(3, per_thread=True)
    hold = BlasHold(libraries=lambda: ([shared], [own]))
    seen = []

    def look(what):
        return lambda: seen.append((what, shared.get_num_threads(), own.get_num_threads()))

    in_order((0, hold.__enter__), (0, hold.__enter__), (0, look("0 nested")),
             (1, hold.__enter__), (0, lambda: hold.__exit__(None, None, None)),
             (0, lambda: hold.__exit__(None, None, None)), (0, look("0 out")),
             (1, look("1 alone")), (1, lambda: hold.__exit__(None, None, None)),
             (1, look("1 out")))
    assert seen == [("0 nested", 1, 1), ("0 out", 1, 3), ("1 alone", 1, 1), ("1 out", 4, 3)]


def test_overlapping_holds_on_the_loaded_blas():
    """The same with the BLAS threadpoolctl finds, through its own controllers (which,
    from threadpoolctl 3.8, let one thread at a time change OpenBLAS's pool)."""
    before = blas_threads()
    holds, inside = {}, []

    def begin(me):
        holds[me] = blas_single_threaded()
        holds[me].__enter__()

    in_order((0, lambda: begin(0)), (1, lambda: begin(1)),
             (0, lambda: holds[0].__exit__(None, None, None)),
             (1, lambda: inside.append(blas_threads())),
             (1, lambda: holds[1].__exit__(None, None, None)))
    assert all(threads == 1 for _, threads in inside[0])
    assert blas_threads() == before


def test_hold_from_a_thread_while_another_controls_openblas():
    """threadpoolctl 3.8 gives control of OpenBLAS's pool to the thread that set it
    last, for good where that was not in a `with` block; a hold in another thread
    still holds BLAS at one thread, and then gives it back."""
    before = blas_threads()
    threadpool_limits(limits=2, user_api="blas")      # this thread takes control
    try:
        inside = []

        def predict_like():
            with blas_single_threaded():
                inside.append(blas_threads())

        t = threading.Thread(target=predict_like)
        t.start()
        t.join()
        assert all(threads == 1 for _, threads in inside[0])
        assert blas_threads() == sorted((path, 2) for path, _ in before)
    finally:
        threadpool_limits(limits=dict(before))
        if hasattr(OpenBLASController, "clear_controlling_thread"):
            OpenBLASController.clear_controlling_thread(force=True)
    assert blas_threads() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX's")
def test_a_child_forked_during_a_hold_gives_blas_its_threads_back():
    """A child forked while another thread holds BLAS has no such thread: its own
    next hold is the last to end, and gives BLAS the threads it had before."""
    before = blas_threads()
    entered, leave = threading.Event(), threading.Event()

    def hold():
        with blas_single_threaded():
            entered.set()
            leave.wait()

    t = threading.Thread(target=hold)
    t.start()
    entered.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads
        pid = os.fork()
    if pid == 0:
        ok = False
        try:
            with blas_single_threaded():
                ok = all(threads == 1 for _, threads in blas_threads())
            ok = ok and blas_threads() == before
        finally:
            os._exit(0 if ok else 1)
    leave.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert blas_threads() == before


# ---------------------------------------------------------------------------
# Fits in threads
# ---------------------------------------------------------------------------

FIT_DATA = np.random.RandomState(5).randn(400, 400)
FIT_Y = (FIT_DATA[:, 0] + FIT_DATA[:, 1] ** 2 > 1).astype(int) + (FIT_DATA[:, 2] > 0.5)


def fit(est, dtype):
    y = FIT_Y if isinstance(est, fastmlp.MLPClassifier) else FIT_DATA[:, :2] @ [1.0, -2.0]
    return est.fit(FIT_DATA.astype(dtype), y)


# (warnings.catch_warnings is not safe in threads: the filter is the test's)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fits_in_threads_give_the_sequential_bits():
    """Several estimators fitted at once by joblib's threading backend (as a grid
    search with backend="threading" fits them) get the weights they get fitted one
    after another, bit for bit; BLAS has its threads back afterwards."""
    def estimators():
        made = []
        for solver, dtype in itertools.product(["adam", "sgd", "lbfgs"],
                                               [np.float64, np.float32]):
            for cls in (fastmlp.MLPClassifier, fastmlp.MLPRegressor):
                made.append((cls(hidden_layer_sizes=(64,), solver=solver, max_iter=4,
                                 batch_size=100, random_state=1,
                                 early_stopping=solver == "adam"), dtype))
        return made

    before = blas_threads()
    sequential = [fit(est, dtype) for est, dtype in estimators()]
    threaded = Parallel(n_jobs=4, backend="threading")(
        delayed(fit)(est, dtype) for est, dtype in estimators())
    for a, b in zip(sequential, threaded):
        for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_array_equal(p, q, err_msg=f"{b!r}")
        assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_
    assert blas_threads() == before


# ---------------------------------------------------------------------------
# Predictions in threads
# ---------------------------------------------------------------------------

def test_each_thread_predicts_with_a_policy_of_its_own():
    """A prediction's thread policy is its thread's: the OpenMP limit in force is
    the calling thread's, and one policy updated by threads at once is a race."""
    mine = prediction_policy()
    assert prediction_policy() is mine
    theirs = []

    def other():
        with threadpool_limits(limits=1, user_api="openmp"):
            theirs.append(prediction_policy())

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert theirs[0] is not mine and theirs[0].max_threads == 1
    assert prediction_policy().max_threads == n_threads()


@pytest.mark.parametrize("rows", [2, 33, 64])
def test_a_few_rows_give_the_same_bits_whatever_blas_threads(rows):
    """A prediction of a few rows runs on the calling thread and calls BLAS itself:
    where BLAS could thread its products (here 64 x 400 x 64 multiply-adds) it holds
    BLAS at one thread, so the BLAS thread count in force changes no bit."""
    model = fitted("clf", 400, (64,), np.float64)
    X = inputs(400, rows, "C", np.float64, rows)
    got = []
    for threads in (1, 2, 4):
        with threadpool_limits(limits=threads, user_api="blas"):
            got.append((model.predict_proba(X), model.predict_proba(np.asfortranarray(X))))
    for proba in got[1:]:
        np.testing.assert_array_equal(proba[0], got[0][0])
        np.testing.assert_array_equal(proba[1], got[0][1])


N_THREADS = 8
ROWS = [1, 64, 65, 6000]        # one row; the most the short path takes; the core; chunks


def fitted(kind, n_features, hidden, dtype):
    rng = np.random.RandomState(n_features)
    X = rng.randn(300, n_features).astype(dtype)
    if kind == "clf":
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] + X[:, 2] ** 2 > 1)
        est = fastmlp.MLPClassifier(hidden, max_iter=3, random_state=0)
    else:
        y = np.c_[X[:, 0] + X[:, 1] ** 2, X[:, 2]]
        est = fastmlp.MLPRegressor(hidden_layer_sizes=hidden, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def inputs(n_features, n_rows, layout, dtype, seed):
    X = np.random.RandomState(seed).randn(n_rows, n_features).astype(dtype)
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "csr":
        return sp.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    return X


def targets_for(model, n_rows, seed):
    rng = np.random.RandomState(seed)
    if hasattr(model, "classes_"):
        return rng.choice(model.classes_, n_rows)
    return rng.randn(n_rows, model.n_outputs_)


@pytest.fixture(scope="module")
def cases():
    """(name, model, X, y): every model with C, F and CSR X of every row count, in
    both dtypes across the cases (so weights and X of either dtype meet)."""
    models = {
        "wide f64": fitted("clf", 400, (64,), np.float64),
        "clf f64": fitted("clf", 40, (64, 32), np.float64),
        "clf f32": fitted("clf", 40, (64, 32), np.float32),
        "reg f64": fitted("reg", 40, (32,), np.float64),
        "reg f32": fitted("reg", 40, (32,), np.float32),
    }
    made = []
    for (name, model), (i, layout), (j, n_rows) in itertools.product(
            models.items(), enumerate(["C", "F", "csr"]), enumerate(ROWS)):
        dtype = model.coefs_[0].dtype if layout == "C" else [np.float32, np.float64][(i + j) % 2]
        seed = len(made)
        X = inputs(model.n_features_in_, n_rows, layout, dtype, seed)
        made.append((f"{name} {layout} {np.dtype(dtype).name} {n_rows} rows", model, X,
                     targets_for(model, n_rows, seed)))
    return made


def answers(model, X, y):
    out = [model.predict(X)]
    if X.shape[0] > 1:              # (R^2 is undefined on one sample)
        out.append(model.score(X, y))
    if hasattr(model, "predict_proba"):
        out.append(model.predict_proba(X))
    return out


def same_bits(a, b):
    return all(np.asarray(p).dtype == np.asarray(q).dtype and np.array_equal(p, q)
               for p, q in zip(a, b))


def test_predictions_from_threads_give_the_single_threaded_bits(cases):
    """predict, predict_proba and score, from 8 threads at once on shared models,
    each thread taking the cases in an order of its own: every answer is the one the
    call alone gives, bit for bit; BLAS has its threads back afterwards."""
    before = blas_threads()
    expected = [answers(model, X, y) for _, model, X, y in cases]
    assert blas_threads() == before
    start = threading.Barrier(N_THREADS)
    wrong = []

    def work(seed):
        order = list(range(len(cases))) * 2
        random.Random(seed).shuffle(order)
        start.wait()
        for i in order:
            name, model, X, y = cases[i]
            if not same_bits(answers(model, X, y), expected[i]):
                wrong.append(name)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, f"{len(wrong)} answers differ: {sorted(set(wrong))}"
    assert blas_threads() == before
