"""hidden_layer_sizes=(): a network without hidden layer, i.e. a linear model
(logistic/softmax regression, linear regression) trained by the same solvers, in
parity with scikit-learn 1.9.1."""
import numpy as np
import pytest

from _helpers import (
    assert_same_model,
    assert_same_predictions,
    estimators,
    fit_both,
    make_data,
    make_sample_weight,
)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
def test_no_hidden_layer_parity(task, solver, dtype, weighted):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, hidden_layer_sizes=(), solver=solver, learning_rate_init=0.05,
                          alpha=0.01, batch_size=32, max_iter=10, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)

    assert fast.n_layers_ == 2
    assert len(fast.coefs_) == len(fast.intercepts_) == 1
    n_outputs = {"binary": 1, "multiclass": 3, "multilabel": 3, "regression": 1,
                 "multioutput": 2}[task]
    assert fast.coefs_[0].shape == (X.shape[1], n_outputs)
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


@pytest.mark.parametrize("sizes", [[], np.array([], dtype=int)], ids=["list", "array"])
def test_empty_sizes_of_other_types(sizes):
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", hidden_layer_sizes=sizes, solver="adam", max_iter=5,
                          random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)


def test_no_hidden_layer_is_linear():
    # the regressor is an affine function of X: predict(X) == X @ W + b
    X, y = make_data("multioutput")
    fast, _ = estimators("reg", hidden_layer_sizes=(), solver="lbfgs", activation="relu",
                         max_iter=50, random_state=0)
    fit_both(fast, _, X, y)
    np.testing.assert_allclose(fast.predict(X), X @ fast.coefs_[0] + fast.intercepts_[0],
                               rtol=1e-12, atol=1e-12)
    # and lbfgs on it finds the (ridge-like) least squares fit
    assert fast.score(X, y) > 0.9


def test_no_hidden_layer_partial_fit_and_early_stopping():
    X, y = make_data("binary", n_samples=150)
    fast, sk = estimators("clf", hidden_layer_sizes=(), solver="sgd", learning_rate_init=0.1,
                          random_state=0)
    fit_both(fast, sk, X, y, method="partial_fit", classes=[0, 1])
    fit_both(fast, sk, X, y, method="partial_fit")
    assert_same_model(fast, sk, np.float64)

    fast, sk = estimators("clf", hidden_layer_sizes=(), early_stopping=True, max_iter=30,
                          n_iter_no_change=3, learning_rate_init=0.05, random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)
