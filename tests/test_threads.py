"""The same fit on 1, 2 and 4 OpenMP threads gives the same bits.

The shapes are chosen so the core really splits its work: batches of 256 rows
(8 row tiles of the forward pass and of the delta products), layers of >= 128
units (several weight-gradient tiles) and > 32768 parameters (the threshold
above which the optimizer update runs in parallel).
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp._core._kernels import max_threads
from fastmlp._core._layout import Layout, Workspace
from fastmlp._core._network import loss_grad, tiling
from fastmlp._functions import HIDDEN_ACTIVATIONS, LOSS_OF_OUTPUT, OUTPUT_ACTIVATIONS

THREADS = [1, 2, 4, 8]   # the issue asks for 1, 2, 4; the guide for 1, 2, 8
N_SAMPLES, N_FEATURES, HIDDEN = 600, 64, (192, 128)
PARALLEL_UPDATE_MIN = 1 << 15

rng = np.random.RandomState(0)
X = rng.randn(N_SAMPLES, N_FEATURES)
Z = X @ rng.randn(N_FEATURES, 3) / 8 + rng.randn(N_SAMPLES, 3)
Y_CLASS = np.argmax(Z, axis=1)
Y_REG = Z[:, :2]
X_PREDICT = np.random.RandomState(1).randn(4500, N_FEATURES)   # two chunks of rows


def n_params(n_outputs):
    units = [N_FEATURES, *HIDDEN, n_outputs]
    return sum(a * b + b for a, b in zip(units[:-1], units[1:]))


def test_shapes_split_the_work():
    assert n_params(2) > PARALLEL_UPDATE_MIN and n_params(3) > PARALLEL_UPDATE_MIN
    assert N_SAMPLES >= 2 * 256
    layout = Layout([N_FEATURES, *HIDDEN, 3], 3, 4, 1, 1e-4, 256)
    split = tiling(layout, 256)
    assert split["forward"] > 1
    f_tiles, c_tiles, r_tiles = zip(*split["backward"])
    # the first layer's 64 inputs are too few to split: its columns are split instead
    assert c_tiles[0] > 1 and max(f_tiles) > 1 and max(r_tiles) > 1


def test_tiles_depend_on_shapes_only():
    layout = Layout([N_FEATURES, *HIDDEN, 3], 3, 4, 1, 1e-4, 256)
    splits = []
    for k in THREADS:
        with threadpool_limits(limits=k, user_api="openmp"):
            splits.append(tiling(layout, 256))
    assert all(s == splits[0] for s in splits)


def test_threadpool_limits_sets_the_core_thread_count():
    for k in THREADS:
        with threadpool_limits(limits=k, user_api="openmp"):
            assert max_threads() == k


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
    est = getattr(fastmlp, kind)(**params)
    with threadpool_limits(limits=k, user_api="openmp"):
        assert max_threads() == k
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
def test_predict_bit_identical_across_thread_counts(dtype):
    params = dict(hidden_layer_sizes=HIDDEN, activation="tanh", batch_size=256,
                  max_iter=2, random_state=0)
    est = fit_with_threads("MLPClassifier", params, X.astype(dtype), Y_CLASS, 2)
    Xp = X_PREDICT.astype(dtype)
    outputs = []
    for k in THREADS:
        with threadpool_limits(limits=k, user_api="openmp"):
            assert max_threads() == k
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
    assert tiling(layout, N_SAMPLES)["backward"][0][1] > 1   # column tiles of dW[0]
    Xk = X.astype(dtype)
    if sparse:
        Xk = sp.csr_matrix(np.where(np.abs(Xk) > 1, Xk, 0))
    r = np.random.RandomState(2)
    params = (0.1 * r.randn(layout.n_params)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[Y_CLASS]
    sw = r.uniform(0.5, 2, N_SAMPLES).astype(dtype)
    results = []
    for k in [1, 2, 3, 4]:
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
    split = tiling(layout, SMALL_BATCH)
    assert split["row_split"] == 2 and split["forward"] == 1
    assert tiling(layout, 40)["row_split"] == 1     # a short last batch: one tile


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
