"""partial_fit (one epoch per call, the optimizer kept between calls) and
warm_start (continue from the fitted weights with a fresh optimizer), in parity
with scikit-learn 1.9.1, and their errors word for word."""
import re
import warnings

import numpy as np
import pytest
import sklearn.neural_network
from sklearn.base import clone

import fastmlp
from _helpers import (
    assert_same_error,
    assert_same_model,
    assert_same_predictions,
    estimators,
    fit_both,
    fit_quietly,
    make_data,
    make_sample_weight,
)


def chunks(X, y, sw, n_chunks):
    """Consecutive chunks of the rows, the last smaller."""
    bounds = np.linspace(0, X.shape[0], n_chunks + 1).astype(int)
    for a, b in zip(bounds[:-1], bounds[1:]):
        yield X[a:b], y[a:b], None if sw is None else sw[a:b]


# -- partial_fit --------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
def test_partial_fit_parity(task, solver, dtype, weighted):
    X, y = make_data(task, dtype, n_samples=150)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, solver=solver, learning_rate_init=0.05, hidden_layer_sizes=(6,),
                          batch_size=25, random_state=0)
    extra = {}
    if task in ("binary", "multiclass"):
        extra["classes"] = np.unique(y)
    elif task == "multilabel":
        extra["classes"] = np.arange(y.shape[1])
    t = 0
    for i, (Xc, yc, swc) in enumerate(list(chunks(X, y, sw, 3)) * 2):
        kwargs = dict(sample_weight=swc, **(extra if i == 0 else {}))
        fit_both(fast, sk, Xc, yc, method="partial_fit", **kwargs)
        t += Xc.shape[0]
        assert fast.n_iter_ == 1
        assert fast.t_ == t
        assert len(fast.loss_curve_) == i + 1
        assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_keeps_the_optimizer_state(solver):
    # three partial_fit calls are not three one-epoch fits with warm_start: those start
    # a fresh optimizer each time (zero velocity / moments, Adam's t at 0)
    X, y = make_data("regression")
    params = dict(solver=solver, learning_rate_init=0.05, hidden_layer_sizes=(5,),
                  batch_size=40, random_state=0, shuffle=False)
    incremental = fastmlp.MLPRegressor(**params)
    warm = fastmlp.MLPRegressor(warm_start=True, max_iter=1, **params)
    for _ in range(3):
        fit_quietly(incremental, X, y, method="partial_fit")
        fit_quietly(warm, X, y)
    assert not np.allclose(incremental.coefs_[0], warm.coefs_[0], rtol=1e-4, atol=0)


def test_fit_then_partial_fit_parity():
    # partial_fit after fit continues with fit's optimizer
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", solver="adam", hidden_layer_sizes=(5,), max_iter=5,
                          random_state=0)
    fit_both(fast, sk, X, y)
    for _ in range(2):
        fit_both(fast, sk, X, y, method="partial_fit")
        assert_same_model(fast, sk, np.float64)


def test_partial_fit_random_state_instance():
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="sgd", hidden_layer_sizes=(4,), batch_size=30)
    fast.set_params(random_state=np.random.RandomState(3))
    sk.set_params(random_state=np.random.RandomState(3))
    fit_both(fast, sk, X, y, method="partial_fit", classes=[0, 1])
    for _ in range(3):
        fit_both(fast, sk, X, y, method="partial_fit")
    assert_same_model(fast, sk, np.float64)


def test_partial_fit_classes_only_in_later_chunks():
    # the first chunk holds classes {0, 1} only; classes=[0, 1, 2] sizes the network
    X, y = make_data("multiclass")
    first = y != 2
    fast, sk = estimators("clf", solver="adam", hidden_layer_sizes=(4,), random_state=0)
    fit_both(fast, sk, X[first], y[first], method="partial_fit", classes=[0, 1, 2])
    assert fast.coefs_[-1].shape[1] == 3
    fit_both(fast, sk, X, y, method="partial_fit")
    assert_same_model(fast, sk, np.float64)
    np.testing.assert_array_equal(fast.classes_, [0, 1, 2])


def test_partial_fit_requires_classes_on_first_call():
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="sgd", random_state=0)
    assert_same_error(lambda: fast.partial_fit(X, y), lambda: sk.partial_fit(X, y))


def test_partial_fit_classes_changed_error():
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="sgd", hidden_layer_sizes=(3,), random_state=0)
    fit_both(fast, sk, X, y, method="partial_fit", classes=[0, 1])
    assert_same_error(lambda: fast.partial_fit(X, y, classes=[0, 1, 2]),
                      lambda: sk.partial_fit(X, y, classes=[0, 1, 2]))


def test_partial_fit_unseen_class_error():
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", solver="adam", hidden_layer_sizes=(3,), random_state=0)
    fit_both(fast, sk, X, y, method="partial_fit", classes=[0, 1, 2])
    y_new = y.copy()
    y_new[:5] = 7
    error = assert_same_error(lambda: fast.partial_fit(X, y_new),
                              lambda: sk.partial_fit(X, y_new))
    assert "`y` has classes not in `self.classes_`" in str(error)


def test_partial_fit_after_fit_unseen_class_error():
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="sgd", hidden_layer_sizes=(3,), max_iter=3,
                          random_state=0)
    fit_both(fast, sk, X, y)
    y_new = np.where(y == 1, 5, 0)
    assert_same_error(lambda: fast.partial_fit(X, y_new), lambda: sk.partial_fit(X, y_new))


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_partial_fit_rejects_early_stopping(kind):
    X, y = make_data("binary" if kind == "clf" else "regression")
    fast, sk = estimators(kind, solver="sgd", early_stopping=True, random_state=0)
    extra = {"classes": [0, 1]} if kind == "clf" else {}
    error = assert_same_error(lambda: fast.partial_fit(X, y, **extra),
                              lambda: sk.partial_fit(X, y, **extra))
    assert str(error) == "partial_fit does not support early_stopping=True"


def test_classifier_lbfgs_has_no_partial_fit():
    fast, sk = estimators("clf", solver="lbfgs")
    assert not hasattr(sk, "partial_fit")
    assert not hasattr(fast, "partial_fit")
    error = assert_same_error(lambda: fast.partial_fit, lambda: sk.partial_fit)
    assert isinstance(error, AttributeError)
    # available_if chains the solver check's own message
    assert type(error.__cause__) is AttributeError
    assert str(error.__cause__) == ("partial_fit is only available for stochastic "
                                    "optimizers. lbfgs is not stochastic.")
    # the method comes back with a stochastic solver
    fast.set_params(solver="adam")
    assert hasattr(fast, "partial_fit")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regressor_lbfgs_partial_fit_as_sklearn(dtype):
    # scikit-learn 1.9.1's MLPRegressor tests `est._check_solver` uncalled (truthy), so
    # partial_fit exists for lbfgs and runs a whole L-BFGS fit from the current weights
    fast, sk = estimators("reg", solver="lbfgs", hidden_layer_sizes=(4,), max_iter=15,
                          random_state=0)
    assert hasattr(sk, "partial_fit")
    assert hasattr(fast, "partial_fit")
    X, y = make_data("regression", dtype)
    for _ in range(2):
        fit_both(fast, sk, X, y, method="partial_fit")
        assert_same_model(fast, sk, dtype)
        assert not hasattr(fast, "loss_curve_")


# -- warm_start ---------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task,solver", [("multiclass", "adam"), ("binary", "sgd"),
                                         ("regression", "sgd"), ("multioutput", "adam")])
def test_warm_start_parity(task, solver, dtype, weighted):
    X, y = make_data(task, dtype)
    sw = make_sample_weight(X.shape[0]) if weighted else None
    fast, sk = estimators(task, solver=solver, warm_start=True, learning_rate_init=0.05,
                          hidden_layer_sizes=(5,), batch_size=30, max_iter=6, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    coefs_first = [c.copy() for c in fast.coefs_]
    fast.set_params(max_iter=4)
    sk.set_params(max_iter=4)
    fit_both(fast, sk, X, y, sample_weight=sw)

    assert fast.n_iter_ == 4                    # reset by each fit
    assert len(fast.loss_curve_) == 10          # appended to
    assert fast.t_ == 10 * X.shape[0]           # kept
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)
    assert not np.allclose(fast.coefs_[0], coefs_first[0])


def test_warm_start_uses_a_fresh_optimizer():
    # two warm fits of 3 epochs differ from one fit of 6 epochs (momentum restarts)
    X, y = make_data("regression")
    params = dict(solver="sgd", learning_rate_init=0.05, hidden_layer_sizes=(5,),
                  batch_size=30, random_state=0, shuffle=False, tol=0.0)
    warm = fastmlp.MLPRegressor(warm_start=True, max_iter=3, **params)
    once = fastmlp.MLPRegressor(max_iter=6, **params)
    fit_quietly(warm, X, y)
    fit_quietly(warm, X, y)
    fit_quietly(once, X, y)
    np.testing.assert_allclose(warm.loss_curve_[:3], once.loss_curve_[:3], rtol=1e-12)
    assert not np.allclose(warm.loss_curve_[3:], once.loss_curve_[3:], rtol=1e-6, atol=0)


def test_warm_start_keeps_best_loss_and_stall_counter():
    # best_loss_ carries over, so a warm fit can stop at once on its stall counter
    X, y = make_data("binary")
    fast, sk = estimators("clf", solver="adam", warm_start=True, tol=10.0, n_iter_no_change=3,
                          hidden_layer_sizes=(4,), max_iter=100, random_state=0)
    for _ in range(3):
        fit_both(fast, sk, X, y)
        assert_same_model(fast, sk, np.float64)
    assert fast.n_iter_ < 4


def test_warm_start_with_early_stopping():
    # validation scores append; the best score carries over between fits
    X, y = make_data("multiclass", n_samples=150)
    fast, sk = estimators("clf", solver="adam", warm_start=True, early_stopping=True,
                          validation_fraction=0.2, n_iter_no_change=2, learning_rate_init=0.02,
                          hidden_layer_sizes=(5,), max_iter=15, random_state=0)
    for _ in range(2):
        fit_both(fast, sk, X, y)
        assert_same_model(fast, sk, np.float64)
    assert len(fast.validation_scores_) == len(fast.loss_curve_)


def test_warm_start_lbfgs_parity():
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", solver="lbfgs", warm_start=True, hidden_layer_sizes=(5,),
                          max_iter=10, random_state=0)
    for _ in range(3):
        fit_both(fast, sk, X, y)
        assert_same_model(fast, sk, np.float64)


def test_warm_start_changed_classes_error():
    X, y = make_data("multiclass")
    fast, sk = estimators("clf", solver="adam", warm_start=True, hidden_layer_sizes=(3,),
                          max_iter=2, random_state=0)
    fit_both(fast, sk, X, y)
    for y_new in (np.where(y == 2, 1, y), np.where(y == 2, 3, y)):
        error = assert_same_error(lambda: fast.fit(X, y_new), lambda: sk.fit(X, y_new))
        assert "warm_start can only be used where `y` has the same classes" in str(error)


def test_warm_start_changed_n_features_error():
    X, y = make_data("regression")
    fast, sk = estimators("reg", solver="adam", warm_start=True, hidden_layer_sizes=(3,),
                          max_iter=2, random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_error(lambda: fast.fit(X[:, :4], y), lambda: sk.fit(X[:, :4], y))
    assert_same_error(lambda: fast.partial_fit(X[:, :4], y), lambda: sk.partial_fit(X[:, :4], y))


@pytest.mark.parametrize("sizes", [(4,), (3, 2), ()], ids=["wider", "deeper", "none"])
@pytest.mark.parametrize("method", ["warm fit", "partial_fit"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_continued_fit_with_other_hidden_layer_sizes_error(solver, method, sizes):
    # scikit-learn trains the old network on silently, or raises IndexError, or (lbfgs)
    # hands SciPy an x0 and a gradient of different lengths: it is not called here
    X, y = make_data("regression")
    est = fastmlp.MLPRegressor(solver=solver, warm_start=True, hidden_layer_sizes=(3,),
                               max_iter=3, random_state=0)
    fit_quietly(est, X, y)
    before = [a.copy() for a in est.coefs_ + est.intercepts_]
    prediction = est.predict(X)
    est.set_params(hidden_layer_sizes=sizes)
    call = est.fit if method == "warm fit" else est.partial_fit
    with pytest.raises(ValueError, match=r"hidden_layer_sizes is %s, but the fitted network's "
                       r"hidden layers have \[3\] units: warm_start and partial_fit continue "
                       r"training the fitted network" % re.escape(repr(sizes))):
        call(X, y)
    for a, b in zip(est.coefs_ + est.intercepts_, before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.predict(X), prediction)
    est.set_params(hidden_layer_sizes=[3])       # the same sizes, spelt otherwise
    fit_quietly(est, X, y, method="fit" if method == "warm fit" else "partial_fit")
    est.set_params(hidden_layer_sizes=sizes, warm_start=False)
    assert [c.shape for c in fit_quietly(est, X, y).coefs_][:-1] == [
        (a, b) for a, b in zip((X.shape[1],) + sizes, sizes)]


@pytest.mark.parametrize("outputs", [(2, 1), (1, 2)], ids=["2-to-1", "1-to-2"])
@pytest.mark.parametrize("method", ["warm fit", "partial_fit"])
def test_continued_fit_with_another_number_of_outputs_error(method, outputs):
    # scikit-learn sets n_outputs_ to y's, then trains on broadcasting y (2 to 1) or
    # raises ValueError from a product (1 to 2): fastmlp says what is wrong
    X, Y = make_data("multioutput")
    first, then = (Y if k == 2 else Y[:, 0] for k in outputs)
    fast, sk = estimators("reg", solver="adam", warm_start=True, hidden_layer_sizes=(3,),
                          max_iter=3, random_state=0)
    fit_both(fast, sk, X, first)
    prediction = fast.predict(X)
    call = fast.fit if method == "warm fit" else fast.partial_fit
    with pytest.raises(ValueError, match=r"y has %d output\(s\), but the fitted network "
                                         r"has %d" % outputs[::-1]):
        call(X, then)
    assert fast.n_outputs_ == outputs[0]
    np.testing.assert_array_equal(fast.predict(X), prediction)
    assert_same_predictions(fast, sk, X, np.float64)


def test_fit_without_warm_start_restarts():
    # warm_start=False: a second fit starts from scratch, equal to a fresh clone's fit
    X, y = make_data("binary")
    fast = fastmlp.MLPClassifier(solver="adam", hidden_layer_sizes=(4,), max_iter=4,
                                 random_state=0)
    fit_quietly(fast, X, y)
    fit_quietly(fast, X, y)
    fresh = fit_quietly(clone(fast), X, y)
    assert fast.loss_curve_ == fresh.loss_curve_
    for a, b in zip(fast.coefs_, fresh.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("first, second", [(np.float32, np.float64), (np.float64, np.float32)])
def test_continued_fit_with_other_dtype_keeps_the_weights_dtype(first, second):
    """partial_fit (or a warm fit) on data of another dtype than the first call's
    continues in the weights' dtype, as scikit-learn does, instead of failing."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 5), rng.randint(0, 3, 120)
    models = []
    for cls in (fastmlp.MLPClassifier, sklearn.neural_network.MLPClassifier):
        model = cls(hidden_layer_sizes=(7,), random_state=0, learning_rate_init=0.01)
        model.partial_fit(X.astype(first), y, classes=[0, 1, 2])
        model.partial_fit(X.astype(second), y)
        models.append(model)
    fast, sk = models
    for a, b in zip(fast.coefs_ + fast.intercepts_, sk.coefs_ + sk.intercepts_):
        assert a.dtype == b.dtype == first
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())


# ---------------------------------------------------------------------------
# A continued fit's short-cut validation (plain numeric arrays) ends as
# scikit-learn's: the same results, the same errors and warnings
# ---------------------------------------------------------------------------

def chunks_of(kind, n_chunks=3, rows=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_chunks * rows, 5)
    if kind == "clf":
        y = rng.randint(0, 3, n_chunks * rows)
    else:
        y = X[:, 0] + 0.1 * rng.randn(n_chunks * rows)
    return [(X[i * rows:(i + 1) * rows], y[i * rows:(i + 1) * rows]) for i in range(n_chunks)]


@pytest.mark.parametrize("as_", ["int64", "int32", "uint8", "float64", "list", "column"])
def test_partial_fit_labels_of_any_numeric_kind(as_):
    """Labels given as other numeric arrays, a list, or a column take the full
    checks or the short cut; every way trains the same model as scikit-learn."""
    data = chunks_of("clf")
    models = []
    for lib in (fastmlp, sklearn.neural_network):
        est = lib.MLPClassifier(hidden_layer_sizes=(7,), random_state=0)
        for i, (X, y) in enumerate(data):
            y = (list(y) if as_ == "list" else y[:, None] if as_ == "column"
                 else y.astype(as_))
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                est.partial_fit(X, y, classes=np.arange(3) if i == 0 else [0, 1, 2])
            # a column of labels: scikit-learn's DataConversionWarning on every call
            assert any("column-vector y" in str(w.message) for w in record) == (as_ == "column")
        models.append(est)
    fast, sk = models
    for a, b in zip(fast.coefs_, sk.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind, bad", [
    (kind, bad) for kind in ("clf", "reg")
    for bad in ("nan_X", "inf_X", "nan_y", "features", "rows", "complex_X", "empty")
] + [("clf", bad) for bad in ("continuous_y", "new_class", "string_y")])
def test_continued_fit_bad_input_errors_as_sklearn(kind, bad):
    (X0, y0), (X, y) = chunks_of(kind, 2)
    X, y = X.copy(), y.copy()
    if bad == "nan_X":
        X[3, 2] = np.nan
    elif bad == "inf_X":
        X[0, 0] = np.inf
    elif bad == "nan_y":
        y = y.astype(float)
        y[5] = np.nan
    elif bad == "features":
        X = X[:, :4]
    elif bad == "rows":
        y = y[:-1]
    elif bad == "complex_X":
        X = X + 1j
    elif bad == "continuous_y":
        y = y + 0.5
    elif bad == "new_class":
        y[0] = 7
    elif bad == "string_y":
        y = y.astype(str)
    elif bad == "empty":
        X, y = X[:0], y[:0]
    outcomes = []
    for lib in (fastmlp, sklearn.neural_network):
        est = (lib.MLPClassifier(hidden_layer_sizes=(4,), random_state=0) if kind == "clf"
               else lib.MLPRegressor(hidden_layer_sizes=(4,), random_state=0))
        est.partial_fit(X0, y0, **({"classes": [0, 1, 2]} if kind == "clf" else {}))
        with pytest.raises(Exception) as info:
            est.partial_fit(X, y)
        outcomes.append((type(info.value), str(info.value)))
    assert outcomes[0] == outcomes[1]
