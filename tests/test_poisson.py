"""MLPRegressor(loss='poisson'): exp output, half Poisson deviance, parity with
scikit-learn 1.9.1; negative targets are refused with a clear ValueError (where
scikit-learn silently trains on to NaN losses)."""
import re

import numpy as np
import pytest
from scipy.special import xlogy

import fastmlp
from _helpers import (
    assert_same_model,
    assert_same_predictions,
    capture,
    estimators,
    fit_both,
    fit_quietly,
    make_sample_weight,
)


def poisson_data(dtype=np.float64, n_samples=150, n_features=5, n_outputs=1, random_state=0):
    rng = np.random.RandomState(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.uniform(-0.4, 0.4, (n_features, n_outputs))
    y = rng.poisson(np.exp(0.3 + X @ w)).astype(np.float64)   # zeros included
    return X.astype(dtype), (y.ravel() if n_outputs == 1 else y)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_poisson_parity(solver, dtype, weighted):
    X, y = poisson_data(dtype)
    assert (y == 0).any()
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators("reg", loss="poisson", solver=solver, hidden_layer_sizes=(6,),
                          learning_rate_init=0.01, batch_size=32, max_iter=12, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert fast.out_activation_ == sk.out_activation_ == "exp"
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)
    assert (fast.predict(X) > 0).all()
    if solver != "lbfgs":
        assert fast.loss_curve_[-1] < fast.loss_curve_[0]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_poisson_multioutput_parity(solver):
    X, y = poisson_data(n_outputs=2)
    fast, sk = estimators("reg", loss="poisson", solver=solver, hidden_layer_sizes=(5,),
                          max_iter=10, random_state=1)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)
    assert_same_predictions(fast, sk, X, np.float64)


def test_poisson_partial_fit_and_early_stopping_parity():
    X, y = poisson_data(n_samples=160)
    fast, sk = estimators("reg", loss="poisson", solver="sgd", learning_rate_init=0.01,
                          hidden_layer_sizes=(5,), random_state=0)
    for rows in (slice(0, 80), slice(80, None), slice(None)):
        fit_both(fast, sk, X[rows], y[rows], method="partial_fit")
        assert_same_model(fast, sk, np.float64)
    fast, sk = estimators("reg", loss="poisson", early_stopping=True, n_iter_no_change=3,
                          learning_rate_init=0.01, hidden_layer_sizes=(5,), max_iter=40,
                          random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)


def test_poisson_loss_is_the_half_deviance():
    # loss_ = sum over outputs of average(xlogy(y, y / mu) - y + mu) + alpha/2 ||W||^2 / n
    X, y = poisson_data()
    alpha = 0.2
    est = fit_quietly(fastmlp.MLPRegressor(loss="poisson", solver="lbfgs", alpha=alpha,
                                           hidden_layer_sizes=(4,), max_iter=15,
                                           random_state=0), X, y)
    mu = est.predict(X)
    np.testing.assert_allclose(mu, np.exp(np.maximum(X @ est.coefs_[0] + est.intercepts_[0], 0)
                                          @ est.coefs_[1] + est.intercepts_[1]).ravel(),
                               rtol=1e-12)
    deviance = np.mean(xlogy(y, y / mu) - y + mu)
    l2 = 0.5 * alpha * sum(np.sum(W ** 2) for W in est.coefs_) / X.shape[0]
    np.testing.assert_allclose(est.loss_, deviance + l2, rtol=1e-10)


# the message says that y must not be negative for the Poisson loss
NEGATIVE = re.compile(r"(?is)(?=.*\by\b)(?=.*negative)(?=.*poisson)")


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_negative_targets_raise(solver, method):
    X, y = poisson_data()
    y = y.copy()
    y[3] = -1.0
    est = fastmlp.MLPRegressor(loss="poisson", solver=solver, hidden_layer_sizes=(3,),
                               max_iter=3, random_state=0)
    _, error, _, _ = capture(lambda: getattr(est, method)(X, y))
    assert type(error) is ValueError, f"expected a ValueError, got {error!r}"
    assert NEGATIVE.search(str(error)), str(error)
    assert not hasattr(est, "coefs_"), "the model was trained before the check"


def test_negative_targets_raise_in_multioutput_and_later_partial_fit():
    X, y = poisson_data(n_outputs=2)
    est = fastmlp.MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), random_state=0)
    est.partial_fit(X, y)
    y_bad = y.copy()
    y_bad[0, 1] = -0.5
    with pytest.raises(ValueError, match=NEGATIVE):
        est.partial_fit(X, y_bad)
    with pytest.raises(ValueError, match=NEGATIVE):
        est.fit(X, y_bad)


def test_negative_targets_fine_for_squared_error():
    X, y = poisson_data()
    est = fit_quietly(fastmlp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0),
                      X, y - 5.0)
    assert np.isfinite(est.loss_)


def test_diverged_loss_is_nan_as_sklearns():
    # outputs that underflow to 0 make y / a = 0 / 0 for y == 0; scipy's xlogy(0, NaN)
    # is NaN, and so is the loss (it was inf), which the stopping rule reads
    X = np.array([[52.9, 12.0], [29.4, 67.2], [56.0, -29.3]])
    y = np.array([1.0, 0.0, 0.0])
    fast, sk = estimators("reg", loss="poisson", solver="sgd", hidden_layer_sizes=(3,),
                          learning_rate_init=1e-3, max_iter=2, shuffle=False, random_state=0)
    fit_both(fast, sk, X, y)
    assert np.isnan(sk.loss_curve_[-1])
    assert_same_model(fast, sk, np.float64)
