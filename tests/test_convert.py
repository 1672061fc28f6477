"""est.to_sklearn() and MLPClassifier/MLPRegressor.from_sklearn(): the same
parameters, weights and fitted attributes on the other side, nothing shared, and
the optimizer's state carried over, so that partial_fit (or a warm start)
continues there exactly as an uninterrupted run."""
import warnings

import numpy as np
import pytest
import sklearn.neural_network as skn
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

import fastmlp
from _helpers import (
    PUBLIC_ATTRIBUTES,
    assert_close,
    assert_same_model,
    estimators,
    fit_quietly,
    make_data,
)

SK_CLASS = {fastmlp.MLPClassifier: skn.MLPClassifier, fastmlp.MLPRegressor: skn.MLPRegressor}


def _arrays(est):
    return est.coefs_ + est.intercepts_


def assert_same_fitted(a, b):
    """Every fitted attribute of `a` equals `b`'s, exactly; no array is shared."""
    for name in PUBLIC_ATTRIBUTES + ("feature_names_in_",):
        assert hasattr(a, name) == hasattr(b, name), name
    for p, q in zip(_arrays(a), _arrays(b), strict=True):
        assert p.dtype == q.dtype and p.shape == q.shape
        np.testing.assert_array_equal(p, q)
        assert not np.shares_memory(p, q)
    for name in ("n_iter_", "loss_", "t_", "best_loss_", "best_validation_score_",
                 "n_layers_", "n_outputs_", "out_activation_", "n_features_in_",
                 "loss_curve_", "validation_scores_", "_no_improvement_count"):
        if hasattr(b, name):
            assert getattr(a, name) == getattr(b, name), name
    if hasattr(b, "classes_"):
        np.testing.assert_array_equal(a.classes_, b.classes_)
        assert a._label_binarizer is not b._label_binarizer


def _problem(task, dtype=np.float64):
    X, y = make_data(task, dtype)
    cls = fastmlp.MLPRegressor if task == "regression" else fastmlp.MLPClassifier
    return X, y, cls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_same_model_on_both_sides(task, solver, dtype):
    X, y, cls = _problem(task, dtype)
    params = dict(solver=solver, hidden_layer_sizes=(5, 3), max_iter=5, random_state=0)
    fast = fit_quietly(cls(**params), X, y)
    sk = fast.to_sklearn()
    assert type(sk) is SK_CLASS[cls]
    assert sk.get_params() == {k: v for k, v in fast.get_params().items()
                               if k != "class_weight"}
    assert_same_fitted(sk, fast)
    back = cls.from_sklearn(sk)
    assert type(back) is cls and back.get_params() == fast.get_params()
    assert_same_fitted(back, sk)
    # each predicts what the other does (the weights are the same; the arithmetic
    # differs, within the dtype's tolerance)
    for method in ("predict_proba",) if cls is fastmlp.MLPClassifier else ("predict",):
        assert_close(getattr(sk, method)(X), getattr(fast, method)(X), dtype)
        np.testing.assert_array_equal(getattr(back, method)(X), getattr(fast, method)(X))
    # the model made from scikit-learn's is whole: its weights are one live buffer
    assert all(a.base is back.coefs_[0].base is not None for a in _arrays(back))


def _partial_fits(est, X, y, calls, classes):
    for i, rows in enumerate(calls):
        extra = {"classes": classes} if classes is not None and i == 0 else {}
        est.partial_fit(X[rows], y[rows], **extra)
    return est


CALLS = [slice(0, 80), slice(40, 120), slice(None), slice(10, 90)]


@pytest.mark.parametrize("direction", ["fastmlp-to-sklearn", "sklearn-to-fastmlp"])
@pytest.mark.parametrize("solver, schedule", [
    ("sgd", "constant"), ("sgd", "invscaling"), ("adam", "constant")])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_partial_fit_continues_on_the_other_side(kind, solver, schedule, direction):
    X, y = make_data("multiclass" if kind == "clf" else "regression")
    classes = [0, 1, 2] if kind == "clf" else None
    params = dict(solver=solver, learning_rate=schedule, hidden_layer_sizes=(6,),
                  learning_rate_init=0.05, batch_size=32, random_state=0,
                  nesterovs_momentum=schedule == "constant")
    fast_whole, sk_whole = estimators(kind, **params)
    _partial_fits(fast_whole, X, y, CALLS, classes)
    _partial_fits(sk_whole, X, y, CALLS, classes)

    fast_first, sk_first = estimators(kind, **params)
    if direction == "fastmlp-to-sklearn":
        first = _partial_fits(fast_first, X, y, CALLS[:2], classes)
        other = first.to_sklearn()
        back = type(first).from_sklearn(other)      # there and back again
        same_kind_as_back = fast_whole
    else:
        first = _partial_fits(sk_first, X, y, CALLS[:2], classes)
        other = type(fast_whole).from_sklearn(first)
        back = other.to_sklearn()
        same_kind_as_back = sk_whole
    _partial_fits(other, X, y, CALLS[2:], None)
    _partial_fits(back, X, y, CALLS[2:], None)

    # the other side continued as an uninterrupted run on either side
    assert_same_model(other, fast_whole, np.float64)
    assert_same_model(other, sk_whole, np.float64)
    # there and back again: the same bits as never converted
    for p, q in zip(_arrays(back), _arrays(same_kind_as_back), strict=True):
        np.testing.assert_array_equal(p, q)
    assert back.loss_curve_ == same_kind_as_back.loss_curve_


@pytest.mark.parametrize("direction", ["fastmlp-to-sklearn", "sklearn-to-fastmlp"])
def test_warm_start_with_early_stopping_continues_on_the_other_side(direction):
    # the best weights, best validation score and stall counter carry over
    X, y = make_data("multiclass", n_samples=200)
    params = dict(hidden_layer_sizes=(6,), max_iter=6, random_state=0, early_stopping=True,
                  learning_rate_init=0.05, warm_start=True, n_iter_no_change=3)
    fast_whole, sk_whole = estimators("clf", **params)
    for est in (fast_whole, sk_whole):
        fit_quietly(est, X, y)
        fit_quietly(est, X, y)
    first = fastmlp.MLPClassifier(**params)
    if direction == "sklearn-to-fastmlp":
        first = skn.MLPClassifier(**params)
    fit_quietly(first, X, y)
    other = (first.to_sklearn() if direction == "fastmlp-to-sklearn"
             else fastmlp.MLPClassifier.from_sklearn(first))
    fit_quietly(other, X, y)
    assert_same_model(other, fast_whole, np.float64)
    assert_same_model(other, sk_whole, np.float64)


def test_fit_then_partial_fit_continues_the_optimizer():
    X, y = make_data("regression")
    params = dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.05,
                  hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    fast = fit_quietly(fastmlp.MLPRegressor(**params), X, y)
    sk = fast.to_sklearn()
    sk_whole = fit_quietly(skn.MLPRegressor(**params), X, y)
    assert sk._optimizer.learning_rate == pytest.approx(sk_whole._optimizer.learning_rate)
    sk.partial_fit(X, y)
    sk_whole.partial_fit(X, y)
    assert_same_model(sk, sk_whole, np.float64)


def test_random_state_instance_is_copied_with_its_state():
    X, y = make_data("binary")
    rng = np.random.RandomState(3)
    fast = fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                             random_state=rng), X, y)
    sk = fast.to_sklearn()
    assert sk.random_state is sk._random_state and sk.random_state is not rng
    assert sk.random_state.randint(1 << 30) == rng.randint(1 << 30)


def test_unfitted_estimators_convert_to_unfitted():
    sk = fastmlp.MLPRegressor(alpha=0.5, loss="poisson").to_sklearn()
    assert type(sk) is skn.MLPRegressor and sk.alpha == 0.5 and sk.loss == "poisson"
    assert not hasattr(sk, "coefs_")
    fast = fastmlp.MLPClassifier.from_sklearn(skn.MLPClassifier(max_iter=7))
    assert fast.max_iter == 7 and not hasattr(fast, "coefs_")


@pytest.mark.parametrize("fast_first", [True, False])
def test_a_model_whose_fit_raised_converts_to_one_with_no_network(fast_first):
    # scikit-learn's fit leaves coefs_ == [] behind when hidden_layer_sizes
    # holds a float; the converted model says so as fastmlp's own would
    X, y = make_data("binary")
    fast_class, sk_class = fastmlp.MLPClassifier, skn.MLPClassifier
    first = (fast_class if fast_first else sk_class)(hidden_layer_sizes=(2.5,))
    with pytest.raises(TypeError):
        first.fit(X, y)
    other = first.to_sklearn() if fast_first else fast_class.from_sklearn(first)
    assert other.coefs_ == [] and other.n_features_in_ == X.shape[1]
    fast = other if not fast_first else first
    with pytest.raises(NotFittedError, match="no fitted network"):
        fast.predict(X)
    refit = fast.set_params(hidden_layer_sizes=(3,), max_iter=2)
    assert fit_quietly(refit, X, y).predict(X).shape == y.shape


def test_from_sklearn_takes_only_its_own_counterpart():
    with pytest.raises(TypeError, match="MLPClassifier.from_sklearn takes scikit-learn's "
                                        "MLPClassifier, got MLPRegressor"):
        fastmlp.MLPClassifier.from_sklearn(skn.MLPRegressor())
    with pytest.raises(TypeError, match="got LogisticRegression"):
        fastmlp.MLPRegressor.from_sklearn(LogisticRegression())


def test_class_weight_has_no_counterpart_in_sklearn():
    X, y = make_data("binary")
    fast = fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                             class_weight="balanced"), X, y)
    with pytest.warns(UserWarning, match="has no class_weight: the converted model "
                                         "predicts the same"):
        sk = fast.to_sklearn()
    np.testing.assert_array_equal(sk.predict(X), fast.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastmlp.MLPClassifier(hidden_layer_sizes=(3,)).to_sklearn()
