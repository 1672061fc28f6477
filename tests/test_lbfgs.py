"""solver='lbfgs': parity with scikit-learn 1.9.1 (weights, n_iter_, loss_,
warnings, attributes) for classification and regression, float64 and float32."""
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from _helpers import (
    assert_same_model,
    assert_same_predictions,
    estimators,
    fit_both,
    make_data,
    make_sample_weight,
    warning_messages,
)

TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput"]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", TASKS)
def test_lbfgs_parity(task, dtype, weighted):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    # L-BFGS amplifies rounding from iteration to iteration. Both compute float32 X in
    # float32 (see test_lbfgs_objective_is_evaluated_in_xs_dtype), but not with the
    # same roundings (summation orders differ, and by CPU): after 25 iterations on
    # these problems they part by up to 3e-4 in the weights and 4e-3 in probabilities
    # (binary, weighted), after 12 by at most 2e-5 (any task, seeds 0 to 3).
    max_iter = 25 if dtype == np.float64 else 12
    fast, sk = estimators(task, solver="lbfgs", hidden_layer_sizes=(5,), alpha=1e-3,
                          max_iter=max_iter, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X, y, sample_weight=sw)

    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)
    # scikit-learn's L-BFGS returns float64 parameters whatever X's dtype
    assert all(c.dtype == np.float64 for c in fast.coefs_ + fast.intercepts_)
    assert fast.n_iter_ == max_iter
    assert not hasattr(fast, "loss_curve_") and not hasattr(sk, "loss_curve_")
    # max_iter reached: the same ConvergenceWarning, word for word
    sk_warnings = warning_messages(sk_rec, ConvergenceWarning)
    assert sk_warnings, "scikit-learn did not warn: the test's setting is wrong"
    assert warning_messages(fast_rec, ConvergenceWarning) == sk_warnings


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_lbfgs_activations_two_hidden_layers(activation):
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", solver="lbfgs", hidden_layer_sizes=(6, 4),
                          activation=activation, max_iter=20, random_state=3)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)
    assert_same_predictions(fast, sk, X, np.float64)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_lbfgs_converges_before_max_iter(task):
    # a loose tol: L-BFGS-B stops on its own, at the same iteration as scikit-learn
    X, y = make_data(task)
    fast, sk = estimators(task, solver="lbfgs", hidden_layer_sizes=(4,), tol=1e-2,
                          max_iter=200, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X, y)
    assert sk.n_iter_ < 200, "scikit-learn did not converge: the test's setting is wrong"
    assert_same_model(fast, sk, np.float64)
    assert warning_messages(fast_rec, ConvergenceWarning) == []
    assert warning_messages(sk_rec, ConvergenceWarning) == []


def test_lbfgs_float32_converges_before_max_iter():
    X, y = make_data("binary", np.float32)
    fast, sk = estimators("clf", solver="lbfgs", hidden_layer_sizes=(3,), tol=5e-2,
                          max_iter=200, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X, y)
    assert sk.n_iter_ < 200
    assert_same_model(fast, sk, np.float32)
    assert warning_messages(fast_rec, ConvergenceWarning) == []


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_lbfgs_objective_is_evaluated_in_xs_dtype(kind, dtype, weighted, monkeypatch):
    """SciPy's L-BFGS-B evaluates the objective at parameters of x0's dtype (its
    ScalarFunction keeps a floating x0's dtype), and x0 holds the weights in X's
    dtype: scikit-learn's products are float32 for float32 X, and so are fastmlp's.
    Both return float64 weights, SciPy's own."""
    import fastmlp._solver
    X, y = make_data("binary" if kind == "clf" else "regression", dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(kind, solver="lbfgs", hidden_layer_sizes=(3,), max_iter=3,
                          random_state=0)
    seen = {"fastmlp": set(), "sklearn": set()}
    loss_grad = fastmlp._solver.loss_grad

    def fast_loss_grad(ws, packed, *args):
        seen["fastmlp"].add(packed.dtype)
        return loss_grad(ws, packed, *args)

    def sk_loss_grad(packed, *args):
        seen["sklearn"].add(packed.dtype)
        return type(sk)._loss_grad_lbfgs(sk, packed, *args)

    monkeypatch.setattr(fastmlp._solver, "loss_grad", fast_loss_grad)
    sk._loss_grad_lbfgs = sk_loss_grad
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert seen == {"fastmlp": {np.dtype(dtype)}, "sklearn": {np.dtype(dtype)}}
    assert all(c.dtype == np.float64 for c in sk.coefs_ + fast.coefs_)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_lbfgs_max_fun_warning(task):
    # stopping on the number of function evaluations: scikit-learn's message
    X, y = make_data(task)
    fast, sk = estimators(task, solver="lbfgs", hidden_layer_sizes=(5,), max_fun=7,
                          max_iter=200, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X, y)
    sk_warnings = warning_messages(sk_rec, ConvergenceWarning)
    assert sk_warnings and "EVALUATIONS EXCEEDS LIMIT" in sk_warnings[0][1]
    assert warning_messages(fast_rec, ConvergenceWarning) == sk_warnings
    assert_same_model(fast, sk, np.float64)


def test_lbfgs_loss_is_the_objective_at_the_returned_weights():
    # loss_ is the full-batch objective (log-loss + alpha/2 ||W||^2 / n) at coefs_
    X, y = make_data("binary")
    fast, _ = estimators("clf", solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.5,
                         max_iter=15, random_state=0)
    fit_both(fast, _, X, y)
    p = np.clip(fast.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
    log_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    l2 = 0.5 * 0.5 * sum(np.sum(c ** 2) for c in fast.coefs_) / X.shape[0]
    np.testing.assert_allclose(fast.loss_, log_loss + l2, rtol=1e-10)


def test_lbfgs_random_state_instance_continues_the_stream():
    # a RandomState instance is consumed by each fit: the second fit starts elsewhere,
    # exactly as scikit-learn's does
    X, y = make_data("regression")
    rng_fast, rng_sk = np.random.RandomState(7), np.random.RandomState(7)
    fast, sk = estimators("reg", solver="lbfgs", hidden_layer_sizes=(4,), max_iter=10,
                          random_state=rng_fast)
    sk.set_params(random_state=rng_sk)
    for _ in range(2):
        fit_both(fast, sk, X, y)
        assert_same_model(fast, sk, np.float64)
