"""Ctrl-C during a long fit: a SIGINT to the process stops training promptly, with
scikit-learn's "Training interrupted by user." warning, and leaves a usable model.

The compiled core runs whole epochs without the GIL; it must still notice the
signal between batches (an epoch here takes far longer than the allowed delay).
"""
import contextlib
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastmlp

N_ROWS, N_FEATURES = 200_000, 100
SIGNAL_AFTER = 0.5      # seconds after fit starts
MAX_DELAY = 1.5         # seconds from the signal to fit's return


@pytest.fixture(scope="module")
def big_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((N_ROWS, N_FEATURES)).astype(np.float32)
    w = rng.standard_normal(N_FEATURES).astype(np.float32)
    y = X @ w + 0.1 * rng.standard_normal(N_ROWS).astype(np.float32)
    return X, y


@contextlib.contextmanager
def default_sigint_handler():
    """Python's own SIGINT handler (KeyboardInterrupt in the main thread)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def fit_and_interrupt(est, X, y):
    """Fit, sending SIGINT to this process SIGNAL_AFTER seconds in; return the
    seconds from the signal to fit's return, and the warnings."""
    assert threading.current_thread() is threading.main_thread()
    sent = {}

    def send():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(SIGNAL_AFTER, send)
    with default_sigint_handler():
        with pytest.warns(UserWarning, match="Training interrupted by user.") as record:
            timer.start()
            try:
                est.fit(X, y)
            finally:
                returned = time.monotonic()
                timer.cancel()
    assert "at" in sent, "fit returned before the signal: the test's fit is too short"
    return returned - sent["at"], record


@pytest.mark.parametrize("cls,solver,early_stopping", [(fastmlp.MLPRegressor, "sgd", False),
                                                        (fastmlp.MLPClassifier, "adam", False)])
def test_sigint_stops_a_long_fit(big_data, cls, solver, early_stopping):
    X, y = big_data
    if cls is fastmlp.MLPClassifier:
        y = (y > 0).astype(int)
    est = cls(solver=solver, hidden_layer_sizes=(256,), max_iter=1000, learning_rate_init=1e-3,
              early_stopping=early_stopping, random_state=0)
    delay, record = fit_and_interrupt(est, X, y)

    assert delay < MAX_DELAY, f"fit returned {delay:.2f} s after the signal"
    messages = [str(w.message) for w in record if w.category is UserWarning]
    assert messages.count("Training interrupted by user.") == 1
    # interrupted within the first epochs, and left consistent and usable
    assert est.n_iter_ < 1000
    assert len(est.loss_curve_) == est.n_iter_
    assert all(np.isfinite(p).all() for p in est.coefs_ + est.intercepts_)
    pred = est.predict(X[:500])
    assert pred.shape == (500,)
    if cls is fastmlp.MLPRegressor:
        assert np.isfinite(pred).all()
    else:
        assert set(np.unique(pred)) <= {0, 1}
        assert np.isfinite(est.predict_proba(X[:500])).all()


def test_training_can_continue_after_an_interrupt(big_data):
    # the interrupted model's optimizer state is consistent: partial_fit carries on
    X, y = big_data
    est = fastmlp.MLPRegressor(solver="adam", hidden_layer_sizes=(256,), max_iter=1000,
                               random_state=0)
    delay, _ = fit_and_interrupt(est, X, y)
    assert delay < MAX_DELAY
    n_epochs, t = len(est.loss_curve_), est.t_
    est.partial_fit(X[:2000], y[:2000])
    assert est.n_iter_ == 1
    assert len(est.loss_curve_) == n_epochs + 1
    assert est.t_ == t + 2000
    assert np.isfinite(est.loss_) and np.isfinite(est.predict(X[:100])).all()
