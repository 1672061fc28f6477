"""early_stopping=True with validation_fraction: the split (stratified only for a
single-output classifier), validation_scores_, best_validation_score_ and the
restored best weights, in parity with scikit-learn 1.9.1."""
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from _helpers import (
    assert_close,
    assert_same_error,
    assert_same_model,
    assert_same_predictions,
    assert_same_verbose,
    estimators,
    fit_both,
    make_data,
    make_sample_weight,
)

TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput"]
PARAMS = dict(solver="adam", learning_rate_init=0.02, hidden_layer_sizes=(8,),
              early_stopping=True, validation_fraction=0.25, n_iter_no_change=4,
              tol=1e-3, max_iter=80, random_state=0)


def validation_rows(est, X, y, stratified=None):
    """The validation rows of a first fit, drawn as the estimator draws them: the
    initial weights first, then train_test_split on the same RandomState
    (stratified as scikit-learn does unless `stratified` says otherwise)."""
    rng = np.random.RandomState(est.random_state)
    units = [X.shape[1], *est.hidden_layer_sizes, est.n_outputs_]
    factor = 2.0 if est.activation == "logistic" else 6.0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        rng.uniform(-bound, bound, (fan_in, fan_out))
        rng.uniform(-bound, bound, fan_out)
    if stratified is None:   # stratified only for a single-output classifier (binary)
        stratified = hasattr(est, "classes_") and est.n_outputs_ == 1
    stratify = y if stratified else None
    _, val = train_test_split(np.arange(X.shape[0]), random_state=rng,
                              test_size=est.validation_fraction, stratify=stratify)
    return val


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", TASKS)
def test_early_stopping_parity(task, dtype, weighted):
    X, y = make_data(task, dtype, n_samples=160)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, **PARAMS)
    fit_both(fast, sk, X, y, sample_weight=sw)

    # the setting must exercise early stopping: it stops before max_iter
    assert sk.n_iter_ < PARAMS["max_iter"]
    assert len(sk.validation_scores_) == sk.n_iter_
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)
    assert fast.best_loss_ is None
    assert fast.best_validation_score_ == max(fast.validation_scores_)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_best_weights_are_restored(task, weighted):
    # a setting that overfits: the best validation score comes epochs before the end
    X, y = make_data(task, n_samples=160, random_state=2)
    if task == "regression":
        y = y + 0.5 * np.random.RandomState(0).standard_normal(y.shape[0])
    sw = make_sample_weight(X.shape[0], random_state=2) if weighted else None
    params = {**PARAMS, "learning_rate_init": 0.05, "hidden_layer_sizes": (16,),
              "n_iter_no_change": 5}
    fast, sk = estimators(task, **params)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert_same_model(fast, sk, np.float64)
    best_epoch = int(np.argmax(fast.validation_scores_)) + 1
    assert best_epoch < fast.n_iter_, "the last epoch is the best: bad setting"

    # the fitted weights are those after the best epoch: the same training cut
    # short at that epoch ends with the same weights
    short, _ = estimators(task, **{**params, "max_iter": best_epoch,
                                   "n_iter_no_change": 1000})
    fit_both(short, _, X, y, sample_weight=sw)
    assert short.n_iter_ == best_epoch
    for a, b in zip(fast.coefs_ + fast.intercepts_, short.coefs_ + short.intercepts_):
        np.testing.assert_array_equal(a, b)

    # and they score best_validation_score_ on the validation rows
    val = validation_rows(fast, X, y)
    assert len(val) == int(np.ceil(0.25 * 160))
    sw_val = None if sw is None else sw[val]
    assert_close(fast.score(X[val], y[val], sample_weight=sw_val),
                 fast.best_validation_score_, np.float64)


def test_binary_split_is_stratified_multiclass_is_not():
    # an imbalanced problem, where stratified and plain splits pick different rows:
    # parity of the validation scores needs the split scikit-learn makes
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 4))
    y = (rng.uniform(size=100) < 0.2).astype(int)
    y3 = np.where(y == 1, 2, rng.randint(0, 2, 100))
    for target in (y, y3):
        fast, sk = estimators("clf", **{**PARAMS, "validation_fraction": 0.2, "max_iter": 6})
        fit_both(fast, sk, X, target)
        assert_same_model(fast, sk, np.float64)
        # the premise: the other kind of split would give other validation rows
        stratified = target is y
        val = validation_rows(fast, X, target, stratified)
        other = validation_rows(fast, X, target, not stratified)
        assert set(val) != set(other)


def test_early_stopping_with_sgd_and_verbose():
    X, y = make_data("multiclass", n_samples=150)
    fast, sk = estimators("clf", **{**PARAMS, "solver": "sgd", "learning_rate_init": 0.1,
                                    "verbose": True})
    (_, fast_out), (_, sk_out) = fit_both(fast, sk, X, y)
    assert "Validation score: " in sk_out
    assert "Validation score did not improve more than tol=0.001000 for 4 consecutive " \
           "epochs. Stopping." in sk_out
    assert_same_verbose(fast_out, sk_out, np.float64)
    assert_same_model(fast, sk, np.float64)


@pytest.mark.parametrize("task,n_samples,fraction", [
    ("regression", 10, 0.1),
    ("multioutput", 15, 0.05),
    ("multilabel", 10, 0.1),
    ("multiclass", 10, 0.1),
    ("binary", 10, 0.1),
])
def test_validation_set_too_small(task, n_samples, fraction):
    X, y = make_data(task, n_samples=n_samples)
    fast, sk = estimators(task, early_stopping=True, validation_fraction=fraction,
                          hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    error = assert_same_error(lambda: fast.fit(X, y), lambda: sk.fit(X, y))
    if task in ("regression", "multioutput", "multilabel"):
        assert str(error) == ("The validation set is too small. Increase "
                              "'validation_fraction' or the size of your dataset.")


def test_validation_fraction_zero():
    X, y = make_data("regression")
    fast, sk = estimators("reg", early_stopping=True, validation_fraction=0.0,
                          hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    assert_same_error(lambda: fast.fit(X, y), lambda: sk.fit(X, y))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_early_stopping_random_state_instance(task):
    # a RandomState instance feeds the initial weights, the split and the shuffles
    X, y = make_data(task, n_samples=100)
    fast, sk = estimators(task, **{**PARAMS, "random_state": None, "max_iter": 10})
    fast.set_params(random_state=np.random.RandomState(5))
    sk.set_params(random_state=np.random.RandomState(5))
    fit_both(fast, sk, X, y)
    fit_both(fast, sk, X, y)      # a second fit continues both streams
    assert_same_model(fast, sk, np.float64)


def test_warm_start_after_early_stopping_without_improvement():
    # scikit-learn restores the best weights by making them *the* weights
    # (coefs_ = _best_coefs): from then on the two are the same arrays. A warm fit that
    # never beats best_validation_score_ so ends with its last weights, not with the
    # first fit's best ones, and so must fastmlp.
    X, y = make_classification(n_samples=150, n_features=5, n_informative=3, n_redundant=0,
                               class_sep=3.0, random_state=0)
    fast, sk = estimators("clf", solver="adam", warm_start=True, early_stopping=True,
                          validation_fraction=0.2, n_iter_no_change=2, learning_rate_init=0.05,
                          hidden_layer_sizes=(5,), max_iter=40, random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)
    first_best = [c.copy() for c in sk.coefs_]
    fast.set_params(max_iter=4)
    sk.set_params(max_iter=4)
    fit_both(fast, sk, X, y)
    # the premise: no improvement in the second fit, and weights that moved
    assert max(sk.validation_scores_[-4:]) <= sk.best_validation_score_
    assert not np.allclose(sk.coefs_[0], first_best[0])
    assert_same_model(fast, sk, np.float64)
    assert_same_predictions(fast, sk, X, np.float64)
