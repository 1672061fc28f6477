"""Learning-rate schedules of sgd: 'invscaling' (with power_t) and 'adaptive'
(plateaus divide the rate by 5), in parity with scikit-learn 1.9.1, including
the verbose messages."""
import re

import numpy as np
import pytest

from _helpers import (
    assert_same_model,
    assert_same_predictions,
    assert_same_verbose,
    estimators,
    fit_both,
    make_data,
    make_sample_weight,
)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task,power_t", [("multiclass", 0.5), ("regression", 0.25),
                                          ("binary", 0.8)])
def test_invscaling_parity(task, power_t, dtype, weighted):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, solver="sgd", learning_rate="invscaling", power_t=power_t,
                          learning_rate_init=0.2, hidden_layer_sizes=(6,), batch_size=32,
                          max_iter=12, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert fast.n_iter_ == 12
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


def test_invscaling_changes_the_training():
    # invscaling must not be constant in disguise: with a large power_t the steps
    # shrink, and so does the distance travelled from the initial weights
    X, y = make_data("regression")
    common = dict(solver="sgd", learning_rate_init=0.05, hidden_layer_sizes=(6,),
                  max_iter=8, momentum=0.0, random_state=0)
    const, _ = estimators("reg", learning_rate="constant", **common)
    inv, _ = estimators("reg", learning_rate="invscaling", power_t=1.0, **common)
    start, _ = estimators("reg", **{**common, "max_iter": 1, "learning_rate_init": 1e-12})
    fit_both(const, _, X, y)
    fit_both(inv, _, X, y)
    fit_both(start, _, X, y)
    moved = [np.linalg.norm(m.coefs_[0] - start.coefs_[0]) for m in (const, inv)]
    assert moved[1] < 0.5 * moved[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_invscaling_schedule_continues_in_partial_fit(dtype):
    # the rate keeps decaying with t_ across partial_fit calls after a fit
    X, y = make_data("regression", dtype)
    fast, sk = estimators("reg", solver="sgd", learning_rate="invscaling", power_t=0.3,
                          learning_rate_init=0.1, hidden_layer_sizes=(5,), max_iter=5,
                          random_state=1)
    fit_both(fast, sk, X, y)
    for _ in range(3):
        fit_both(fast, sk, X, y, method="partial_fit")
        assert_same_model(fast, sk, dtype)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_adaptive_divides_the_rate_on_plateaus(task, dtype, weighted):
    # tol=0.05 and n_iter_no_change=2: most epochs do not improve enough, so the rate
    # is divided by 5 again and again until it falls under 1e-6 and training stops
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, solver="sgd", learning_rate="adaptive", tol=0.05,
                          n_iter_no_change=2, learning_rate_init=0.3, hidden_layer_sizes=(6,),
                          batch_size=40, max_iter=100, verbose=True, random_state=0)
    (_, fast_out), (_, sk_out) = fit_both(fast, sk, X, y, sample_weight=sw)

    assert sk_out.count("Setting learning rate to") >= 5, "no plateaus: the setting is wrong"
    assert "Learning rate too small. Stopping." in sk_out
    assert sk.n_iter_ < 100
    assert_same_verbose(fast_out, sk_out, dtype)
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


def test_adaptive_rate_sequence_in_messages():
    # every plateau divides the rate by exactly 5, starting from learning_rate_init
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="sgd", learning_rate="adaptive", tol=10.0,
                          n_iter_no_change=1, learning_rate_init=0.1, hidden_layer_sizes=(4,),
                          max_iter=100, verbose=True, random_state=0)
    (_, fast_out), (_, sk_out) = fit_both(fast, sk, X, y)
    rates = [float(r) for r in re.findall(r"Setting learning rate to (\S+)", fast_out)]
    # 0.02, 0.004, ..., 1.28e-6 (still > 1e-6, so divided once more), 2.56e-7: stop
    expected = [0.1 / 5 ** k for k in range(1, 9)]
    assert len(rates) == 8
    np.testing.assert_allclose(rates, np.round(expected, 6), atol=1e-12)
    assert "Learning rate too small. Stopping." in fast_out
    # the first epoch improves on best_loss_=inf; then two epochs per rate
    # (n_iter_no_change + 1), the last rate included
    assert fast.n_iter_ == 1 + 2 * (len(rates) + 1)
    assert_same_verbose(fast_out, sk_out, np.float64)
    assert_same_model(fast, sk, np.float64)


def test_adaptive_with_early_stopping_messages():
    # with early stopping the plateau is on the validation score, and so is the message
    X, y = make_data("multiclass", n_samples=150)
    fast, sk = estimators("clf", solver="sgd", learning_rate="adaptive", early_stopping=True,
                          validation_fraction=0.2, tol=0.02, n_iter_no_change=2,
                          learning_rate_init=0.3, hidden_layer_sizes=(5,), max_iter=60,
                          verbose=True, random_state=2)
    (_, fast_out), (_, sk_out) = fit_both(fast, sk, X, y)
    assert "Validation score did not improve more than tol=0.020000 for 2 consecutive " \
           "epochs. Setting learning rate to" in sk_out
    assert_same_verbose(fast_out, sk_out, np.float64)
    assert_same_model(fast, sk, np.float64)


def test_adaptive_rate_kept_by_partial_fit():
    # a rate divided during fit stays divided in the partial_fit calls that follow
    X, y = make_data("regression")
    fast, sk = estimators("reg", solver="sgd", learning_rate="adaptive", tol=10.0,
                          n_iter_no_change=1, learning_rate_init=0.05, hidden_layer_sizes=(5,),
                          max_iter=6, random_state=0)
    fit_both(fast, sk, X, y)
    for _ in range(3):
        fit_both(fast, sk, X, y, method="partial_fit")
        assert_same_model(fast, sk, np.float64)


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_adam_ignores_the_schedule(schedule):
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="adam", learning_rate=schedule, tol=10.0,
                          n_iter_no_change=1, hidden_layer_sizes=(4,), max_iter=10,
                          verbose=True, random_state=0)
    (_, fast_out), (_, sk_out) = fit_both(fast, sk, X, y)
    assert "Stopping." in sk_out and "Setting learning rate" not in sk_out
    assert_same_verbose(fast_out, sk_out, np.float64)
    assert_same_model(fast, sk, np.float64)
