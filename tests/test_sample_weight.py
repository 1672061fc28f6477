"""sample_weight in fit and partial_fit: parity with scikit-learn 1.9.1, whose
objective is sum(w_i * loss_i) / sum(w_i) + alpha / 2 * ||W||^2 / sum(w_i), and
its consequences for lbfgs (weights of 2 are duplicated rows, zero weights
dropped rows)."""
import numpy as np
import pytest
from scipy.special import expit, softmax

import fastmlp
from _helpers import (
    assert_close,
    assert_same_model,
    assert_same_predictions,
    estimators,
    fit_both,
    fit_quietly,
    make_data,
    make_sample_weight,
)

CASES = [("sgd", "binary"), ("sgd", "multioutput"), ("adam", "multiclass"),
         ("adam", "regression"), ("adam", "multilabel"), ("lbfgs", "multiclass"),
         ("lbfgs", "regression")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,task", CASES)
def test_fit_parity(solver, task, dtype):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0], random_state=3)
    fast, sk = estimators(task, solver=solver, hidden_layer_sizes=(5,), learning_rate_init=0.05,
                          alpha=0.01, batch_size=32, max_iter=10, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,task", [("sgd", "multiclass"), ("adam", "regression")])
def test_partial_fit_parity(solver, task, dtype):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0], random_state=4)
    fast, sk = estimators(task, solver=solver, hidden_layer_sizes=(5,), learning_rate_init=0.05,
                          batch_size=32, random_state=0)
    extra = {"classes": np.unique(y)} if task == "multiclass" else {}
    for i in range(3):
        rows = slice(40 * i, 40 * i + 50)
        fit_both(fast, sk, X[rows], y[rows], method="partial_fit", sample_weight=sw[rows],
                 **(extra if i == 0 else {}))
        assert_same_model(fast, sk, dtype)


@pytest.mark.parametrize("sw_dtype", [np.float32, np.int64, "list"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_weight_of_another_dtype(dtype, sw_dtype):
    # sample weights of any dtype are accepted, as by scikit-learn
    X, y = make_data("regression", dtype)
    sw = np.random.RandomState(0).randint(1, 4, X.shape[0])
    sw = sw.tolist() if sw_dtype == "list" else sw.astype(sw_dtype)
    fast, sk = estimators("reg", solver="adam", hidden_layer_sizes=(4,), max_iter=5,
                          random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert_same_model(fast, sk, dtype)


def test_scalar_sample_weight():
    # a number is a weight for every row; with alpha > 0 it is not the same as None
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="lbfgs", hidden_layer_sizes=(4,), alpha=1.0,
                          max_iter=10, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=3.0)
    assert_same_model(fast, sk, np.float64)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_unit_weights_equal_no_weights(solver):
    X, y = make_data("multiclass")
    params = dict(solver=solver, hidden_layer_sizes=(5,), alpha=0.1, batch_size=32,
                  max_iter=8, random_state=0)
    weighted = fit_quietly(fastmlp.MLPClassifier(**params), X, y,
                           sample_weight=np.ones(X.shape[0]))
    plain = fit_quietly(fastmlp.MLPClassifier(**params), X, y)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, plain.coefs_ + plain.intercepts_):
        assert_close(a, b, np.float64, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
def test_lbfgs_weight_two_equals_duplicated_rows(task, dtype):
    # integer weights repeat rows: the same objective (alpha's denominator included),
    # so L-BFGS follows the same path. Not so for sgd/adam, whose batches differ.
    X, y = make_data(task, dtype)
    rng = np.random.RandomState(0)
    twice = rng.uniform(size=X.shape[0]) < 0.3
    sw = np.where(twice, 2.0, 1.0)
    rows = np.concatenate([np.arange(X.shape[0]), np.flatnonzero(twice)])
    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.05, max_iter=20,
                  random_state=0)
    kind = "clf" if task in ("binary", "multiclass", "multilabel") else "reg"
    weighted, _ = estimators(kind, **params)
    repeated, _ = estimators(kind, **params)
    fit_quietly(weighted, X, y, sample_weight=sw)
    fit_quietly(repeated, X[rows], y[rows])
    assert weighted.n_iter_ == repeated.n_iter_
    assert_close(weighted.loss_, repeated.loss_, dtype)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_,
                    repeated.coefs_ + repeated.intercepts_):
        assert_close(a, b, dtype)


def test_lbfgs_zero_weight_equals_dropped_rows():
    X, y = make_data("regression")
    keep = np.random.RandomState(1).uniform(size=X.shape[0]) < 0.7
    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.05, max_iter=20,
                  random_state=0)
    weighted = fit_quietly(fastmlp.MLPRegressor(**params), X, y,
                           sample_weight=keep.astype(float))
    dropped = fit_quietly(fastmlp.MLPRegressor(**params), X[keep], y[keep])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, dropped.coefs_ + dropped.intercepts_):
        assert_close(a, b, np.float64)


def forward(est, X):
    """The network's output layer, in NumPy."""
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "logistic": expit,
           "identity": lambda z: z}[est.activation]
    a = X
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ W + b
        if i < len(est.coefs_) - 1:
            a = act(a)
    return {"softmax": lambda z: softmax(z, axis=1), "logistic": expit,
            "identity": lambda z: z, "exp": np.exp}[est.out_activation_](a)


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "multioutput"])
def test_lbfgs_loss_is_the_weighted_objective(task):
    # loss_ = sum(w * loss_i) / sum(w) + alpha / 2 * sum ||W||^2 / sum(w), at coefs_
    X, y = make_data(task)
    sw = make_sample_weight(X.shape[0], random_state=5)
    alpha = 0.3
    kind = "clf" if task in ("binary", "multiclass", "multilabel") else "reg"
    est, _ = estimators(kind, solver="lbfgs", hidden_layer_sizes=(4,), alpha=alpha,
                        activation="tanh", max_iter=12, random_state=0)
    fit_quietly(est, X, y, sample_weight=sw)
    out = forward(est, X)
    if task == "multiclass":
        Y = np.eye(3)[y]
        per_row = -np.sum(Y * np.log(out), axis=1)
    elif task in ("binary", "multilabel"):
        Y = y.reshape(out.shape)
        per_row = -np.sum(Y * np.log(out) + (1 - Y) * np.log(1 - out), axis=1)
    else:   # half squared error, averaged over outputs
        per_row = 0.5 * np.mean((y - out) ** 2, axis=1)
    l2 = sum(np.sum(W ** 2) for W in est.coefs_)
    expected = np.sum(sw * per_row) / sw.sum() + 0.5 * alpha * l2 / sw.sum()
    np.testing.assert_allclose(est.loss_, expected, rtol=1e-10)


def test_sgd_weighted_rows_move_the_model():
    # weights are used by sgd: up-weighting one class shifts the predicted proportions
    X, y = make_data("binary")
    params = dict(solver="sgd", hidden_layer_sizes=(5,), max_iter=30, learning_rate_init=0.05,
                  random_state=0)
    plain = fit_quietly(fastmlp.MLPClassifier(**params), X, y)
    heavy = fit_quietly(fastmlp.MLPClassifier(**params), X, y,
                        sample_weight=np.where(y == 1, 10.0, 1.0))
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05


@pytest.mark.parametrize("bad", ["inf", "nan", "2d"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_float32_X_weights_are_validated_as_sklearn_validates_them(kind, solver, bad):
    # scikit-learn validates the weights in float64 (its messages name float64),
    # before anything is cast to X's float32
    from _helpers import assert_same_error
    X, y = make_data("binary" if kind == "clf" else "regression", np.float32)
    sw = make_sample_weight(X.shape[0])
    if bad == "2d":
        sw = sw[:, None]
    else:
        sw[3] = np.inf if bad == "inf" else np.nan
    fast, sk = estimators(kind, solver=solver, hidden_layer_sizes=(3,), max_iter=3)
    assert_same_error(lambda: fast.fit(X, y, sample_weight=sw),
                      lambda: sk.fit(X, y, sample_weight=sw))


@pytest.mark.parametrize("scale, alpha", [(2.0 ** 1000, 0.01), (2.0 ** 40, 0.01),
                                          (2.0 ** 120, 0.0), (2.0 ** -1000, 0.0),
                                          (2.0 ** -140, 0.0)],
                         ids=["2**1000", "2**40", "2**120", "2**-1000", "2**-140"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_float32_X_weights_beyond_float32s_range(task, solver, scale, alpha):
    """Weights far outside float32's range fit, as scikit-learn's float64 weights do.
    Weights w with alpha are the objective of weights w / scale with alpha / scale
    (every loss and gradient is a ratio (sum w l + alpha ...) / sum w): the fits agree
    bit for bit where both alphas are normal float32 numbers or both zero in float32."""
    X, y = make_data(task, np.float32)
    sw = make_sample_weight(X.shape[0])
    params = dict(solver=solver, hidden_layer_sizes=(5,), batch_size=32,
                  learning_rate_init=0.01, max_iter=5, random_state=0)
    ref = fit_quietly(estimators(task, alpha=alpha / scale, **params)[0], X, y,
                      sample_weight=sw)
    est = fit_quietly(estimators(task, alpha=alpha, **params)[0], X, y,
                      sample_weight=sw * scale)
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert est.loss_ == ref.loss_
    if task == "regression" and solver == "adam":
        # scikit-learn's regressor fits them too (its classifier overflows in float32)
        fast, sk = estimators(task, alpha=alpha, **params)
        fit_both(fast, sk, X, y, sample_weight=sw * scale)
        assert_same_model(fast, sk, np.float32)


@pytest.mark.parametrize("case", ["first batch", "one row per batch", "negative pair",
                                  "lbfgs negative", "validation"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_weights_summing_to_zero(task, case):
    """scikit-learn averages each batch's loss with np.average, which raises
    ZeroDivisionError for a batch whose weights sum to zero; its validation score
    raises ValueError for a validation set whose weights are all zero. fastmlp
    raised the non-finite-weights ValueError, or fitted."""
    from _helpers import assert_same_error
    X, y = make_data(task)
    n = X.shape[0]
    sw = make_sample_weight(n)
    params = dict(solver="sgd", hidden_layer_sizes=(3,), max_iter=3, random_state=0,
                  shuffle=False, batch_size=10)
    if case == "first batch":
        sw[:10] = 0
    elif case == "one row per batch":       # shuffled, batches of one row
        sw[7] = 0
        params.update(batch_size=1, shuffle=True, max_iter=1)
    elif case == "negative pair":
        sw[10:12] = [1.5, -1.5]
        params.update(batch_size=2)
    elif case == "lbfgs negative":
        sw = np.ones(n)
        sw[0] = 1 - n             # a sum of exactly zero, in any order
        params.update(solver="lbfgs")
    else:
        fast, _ = estimators(task, **params)
        params.update(early_stopping=True, validation_fraction=0.2, solver="adam")
        # the validation rows are those scikit-learn's split draws after the weights
        units = [X.shape[1], 3, 1 if task == "regression" else 3]
        rng = np.random.RandomState(0)
        for a, b in zip(units[:-1], units[1:]):
            rng.uniform(size=(a, b)), rng.uniform(size=b)
        from sklearn.model_selection import train_test_split
        val = train_test_split(np.arange(n), random_state=rng, test_size=0.2)[1]
        sw[val] = 0
    fast, sk = estimators(task, **params)
    error = assert_same_error(lambda: fast.fit(X, y, sample_weight=sw),
                              lambda: sk.fit(X, y, sample_weight=sw))
    if case != "validation":
        assert type(error) is ZeroDivisionError


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_zero_weights_in_batches_that_sum_to_more(solver):
    X, y = make_data("multiclass")
    sw = make_sample_weight(X.shape[0])
    sw[::2] = 0
    sw[5] = -0.1
    fast, sk = estimators("clf", solver=solver, hidden_layer_sizes=(3,), max_iter=4,
                          random_state=0, batch_size=10)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert_same_model(fast, sk, np.float64)
