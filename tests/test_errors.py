"""Errors and warnings word for word: each bad input is given to scikit-learn
1.9.1's estimator too, and fastmlp must raise the same exception type with the
same message (or, where scikit-learn accepts the input, behave as it does)."""
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from _helpers import (
    assert_same_error,
    assert_same_model,
    capture,
    estimators,
    fit_both,
    make_data,
    warning_messages,
)

X_CLF, Y_CLF = make_data("binary")
X_REG, Y_REG = make_data("regression")


def data(kind):
    return (X_CLF, Y_CLF) if kind == "clf" else (X_REG, Y_REG)


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("params", [
    {"activation": "bad"},
    {"solver": "newton"},
    {"learning_rate": "cyclic"},
    {"alpha": -1},
    {"alpha": "0.1"},
    {"hidden_layer_sizes": 0},
    {"hidden_layer_sizes": -3},
    {"hidden_layer_sizes": 2.5},
    {"batch_size": 0},
    {"batch_size": "big"},
    {"learning_rate_init": 0.0},
    {"power_t": -0.5},
    {"max_iter": 0},
    {"tol": -1e-3},
    {"momentum": 1.5},
    {"nesterovs_momentum": "yes"},
    {"early_stopping": 1},
    {"validation_fraction": 1.0},
    {"beta_1": 1.0},
    {"beta_2": -0.1},
    {"epsilon": 0.0},
    {"n_iter_no_change": 0},
    {"max_fun": 0},
    {"shuffle": None},
    {"random_state": "seed"},
    {"warm_start": "no"},
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
def test_invalid_parameter(kind, params):
    fast, sk = estimators(kind, **params)
    X, y = data(kind)
    error = assert_same_error(lambda: fast.fit(X, y), lambda: sk.fit(X, y))
    assert type(error).__name__ == "InvalidParameterError"


def test_invalid_loss_of_regressor():
    fast, sk = estimators("reg", loss="absolute_error")
    assert_same_error(lambda: fast.fit(X_REG, Y_REG), lambda: sk.fit(X_REG, Y_REG))


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("sizes", [[3, -1], (4, 0), [0], np.array([5, -2])],
                         ids=["3,-1", "4,0", "0", "array"])
def test_hidden_layer_sizes_not_positive(kind, sizes):
    fast, sk = estimators(kind, hidden_layer_sizes=sizes)
    X, y = data(kind)
    error = assert_same_error(lambda: fast.fit(X, y), lambda: sk.fit(X, y))
    assert type(error) is ValueError
    assert str(error).startswith("hidden_layer_sizes must be > 0, got ")


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("bad", ["nan", "inf", "1d", "3d", "empty", "complex", "n_rows"])
def test_bad_X_in_fit(kind, method, bad):
    X, y = data(kind)
    X = {
        "nan": np.where(X > 1.5, np.nan, X),
        "inf": np.where(X > 1.5, -np.inf, X),
        "1d": X[:, 0],
        "3d": X[:, :, None],
        "empty": X[:0],
        "complex": X + 1j,
        "n_rows": X[:-3],
    }[bad]
    fast, sk = estimators(kind, solver="sgd", hidden_layer_sizes=(3,), max_iter=2)
    extra = {"classes": [0, 1]} if kind == "clf" and method == "partial_fit" else {}
    assert_same_error(lambda: getattr(fast, method)(X, y, **extra),
                      lambda: getattr(sk, method)(X, y, **extra))


@pytest.mark.parametrize("bad", ["nan", "inf", "wrong length"])
def test_bad_y(bad):
    y = {"nan": np.where(Y_REG > 1, np.nan, Y_REG), "inf": np.where(Y_REG > 1, np.inf, Y_REG),
         "wrong length": Y_REG[:-1]}[bad]
    fast, sk = estimators("reg", hidden_layer_sizes=(3,), max_iter=2)
    assert_same_error(lambda: fast.fit(X_REG, y), lambda: sk.fit(X_REG, y))


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("spelling", ["numeric str", "numeric bytes", "words", "datetime"])
def test_regression_targets_that_are_not_numbers(spelling, loss, method):
    # scikit-learn's regressor fails on them with NumPy's TypeError (no loop for y's
    # dtype) in its arithmetic; fastmlp raises a TypeError that says what is wrong
    y = {"numeric str": np.abs(Y_REG).astype(str), "numeric bytes": np.abs(Y_REG).astype("S"),
         "words": np.where(Y_REG > 0, "up", "down"),
         "datetime": np.arange(Y_REG.shape[0]).astype("datetime64[D]")}[spelling]
    fast, sk = estimators("reg", loss=loss, hidden_layer_sizes=(3,), max_iter=2)
    _, sk_error, _, _ = capture(lambda: getattr(sk, method)(X_REG, y))
    assert isinstance(sk_error, TypeError), sk_error
    with pytest.raises(TypeError) as error:
        getattr(fast, method)(X_REG, y)
    assert type(error.value) is TypeError
    assert str(error.value) == ("MLPRegressor needs numeric targets, got y of dtype "
                                f"{y.dtype}: convert them to numbers first.")
    # numbers as objects are numbers, to scikit-learn (y_numeric) and to fastmlp
    fit_both(*estimators("reg", loss=loss, hidden_layer_sizes=(3,), max_iter=2,
                         random_state=0), X_REG, np.abs(Y_REG).astype(object))


def public_type(error):
    """The exception's type, NumPy's private ones (the UFuncTypeError of an
    arithmetic without a loop for a dtype) as their builtin base."""
    return next(cls for cls in type(error).__mro__ if not cls.__module__.startswith("numpy"))


N_STR = 12
STRING_TARGETS = {
    "str numbers": np.round(Y_REG[:N_STR], 2).astype(str),
    "str words": np.where(Y_REG[:N_STR] > 0, "up", "down"),
    "bytes numbers": np.round(Y_REG[:N_STR], 2).astype("S"),
    "object numbers": np.round(Y_REG[:N_STR], 2).astype(str).astype(object),
    "object words": np.where(Y_REG[:N_STR] > 0, "up", "down").astype(object),
    "object mixed": np.array([1.5, "a"] * (N_STR // 2), dtype=object),
    "object nan and inf": np.array(["nan", "1", "inf", "1e400"] * (N_STR // 4), dtype=object),
    "list of str": [str(v) for v in np.round(Y_REG[:N_STR], 2)],
    "2-D str": np.c_[Y_REG[:N_STR], Y_REG[:N_STR]].astype(str),
    "datetime": np.arange(N_STR).astype("datetime64[D]"),
}


@pytest.mark.parametrize("situation", [
    "plain", "weights of another length", "one sample, early stopping",
    "two samples, early stopping", "partial_fit, early stopping", "lbfgs", "float32 X"])
@pytest.mark.parametrize("targets", sorted(STRING_TARGETS))
def test_string_regression_targets_as_sklearn(targets, situation):
    """Strings, bytes, objects and dates as regression targets: the outcome is
    scikit-learn's, and so is the exception's type, where its own checks (of the
    weights, of the early-stopping split) fail before its arithmetic on y does.
    Objects are numbers where scikit-learn's validation converts them: "nan", "inf"
    and "1e400" too, which both then train on."""
    y = STRING_TARGETS[targets]
    n = {"one sample, early stopping": 1, "two samples, early stopping": 2}.get(situation, N_STR)
    y = y[:n]
    X = X_REG[:n].astype(np.float32 if situation == "float32 X" else np.float64)
    params = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0,
                  solver="lbfgs" if situation == "lbfgs" else "adam",
                  early_stopping="early stopping" in situation)
    sw = np.ones(n + 1) if situation == "weights of another length" else None
    method = "partial_fit" if situation.startswith("partial_fit") else "fit"
    fast, sk = estimators("reg", **params)
    sk_result, sk_error, _, _ = capture(lambda: getattr(sk, method)(X, y, sample_weight=sw))
    _, fast_error, _, _ = capture(lambda: getattr(fast, method)(X, y, sample_weight=sw))
    if sk_error is None:
        assert fast_error is None, fast_error
        assert fast.n_iter_ == sk.n_iter_
        np.testing.assert_allclose(fast.coefs_[0], sk.coefs_[0], rtol=1e-3, atol=1e-6)
        return
    assert fast_error is not None, f"fastmlp trained; scikit-learn raised {sk_error!r}"
    assert public_type(fast_error) is public_type(sk_error), (fast_error, sk_error)
    if public_type(sk_error) is TypeError:      # ours says what is wrong
        assert str(fast_error).startswith("MLPRegressor needs numeric targets")
    else:
        assert str(fast_error) == str(sk_error)


def test_continuous_target_for_classifier():
    fast, sk = estimators("clf", hidden_layer_sizes=(3,), max_iter=2)
    error = assert_same_error(lambda: fast.fit(X_REG, Y_REG), lambda: sk.fit(X_REG, Y_REG))
    assert str(error).startswith("Unknown label type")


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_single_class_target(solver):
    # scikit-learn accepts a single class (it trains towards the constant): so must we
    y = np.full(X_CLF.shape[0], 4)
    fast, sk = estimators("clf", solver=solver, hidden_layer_sizes=(3,), max_iter=3,
                          random_state=0)
    _, sk_error, _, _ = capture(lambda: sk.fit(X_CLF, y))
    _, fast_error, _, _ = capture(lambda: fast.fit(X_CLF, y))
    assert sk_error is None and fast_error is None
    assert_same_model(fast, sk, np.float64)
    np.testing.assert_array_equal(fast.predict(X_CLF), sk.predict(X_CLF))
    np.testing.assert_allclose(fast.predict_proba(X_CLF), sk.predict_proba(X_CLF), rtol=1e-6)


def fail(est, how, X, y):
    """Make est.fit (or partial_fit) raise in one of several places; returns the error."""
    if how.startswith("hidden_layer_sizes"):        # while the network is drawn
        est.set_params(hidden_layer_sizes=(2.5,) if how.endswith("(2.5,)") else (3, 2.5))
        call = lambda: est.fit(X, y)
    elif how == "labels":                           # once X is validated
        call = lambda: est.fit(X[:, :3], np.linspace(0, 1, X.shape[0]))
    elif how == "outputs":                          # a continued fit, y of 2 outputs
        call = lambda: est.partial_fit(X, np.c_[y, y])
    _, error, _, _ = capture(call)
    assert error is not None, how
    return error


AFTER_FAILURE = ["hidden_layer_sizes=(2.5,)", "hidden_layer_sizes=(3, 2.5)", "labels",
                 "outputs"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind, how, fitted", [
    (kind, how, fitted) for kind in ("clf", "reg") for how in AFTER_FAILURE
    for fitted in (False, True)
    if not (how == "labels" and kind == "reg" or how == "outputs" and not fitted)])
def test_after_a_fit_that_raised(kind, how, fitted):
    """The model pickles, and predict validates X first as scikit-learn does; then it
    predicts as scikit-learn does where the fitted network is whole, or raises
    NotFittedError where scikit-learn fails on the part of one (IndexError,
    a shape mismatch) and fastmlp read outside it ("out has the wrong shape")."""
    import pickle
    from sklearn.exceptions import NotFittedError
    X, y = data(kind)
    fast, sk = estimators(kind, hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    if fitted:
        fit_both(fast, sk, X, y)
    assert type(fail(fast, how, X, y)) is type(fail(sk, how, X, y))
    for est in (fast, sk):
        assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
    bad = X[:, :2].copy()
    assert_same_error(lambda: fast.predict(bad), lambda: sk.predict(bad))
    nan = X.copy()
    nan[1, 1] = np.nan
    assert_same_error(lambda: fast.predict(nan), lambda: sk.predict(nan))
    width = sk.n_features_in_
    for rows in (X[:3, :width], X[:, :width]):       # the few-row path and the general one
        sk_out, sk_error, _, _ = capture(lambda: sk.predict(rows))
        fast_out, fast_error, _, _ = capture(lambda: pickle.loads(pickle.dumps(fast)).predict(rows))
        if sk_error is None:
            assert fast_error is None, fast_error
            np.testing.assert_allclose(fast_out, sk_out, rtol=1e-6)
        else:
            assert isinstance(fast_error, NotFittedError), (fast_error, sk_error)
            assert "no fitted network: its last fit raised" in str(fast_error)
    # and a fit after the failure is a fit
    fast.set_params(hidden_layer_sizes=(3,))
    fast.fit(X, y)
    assert fast.predict(X).shape == y.shape


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_not_fitted(method):
    fast, sk = estimators("clf")
    args = (X_CLF, Y_CLF) if method == "score" else (X_CLF,)
    error = assert_same_error(lambda: getattr(fast, method)(*args),
                              lambda: getattr(sk, method)(*args))
    assert type(error).__name__ == "NotFittedError"


def test_regressor_not_fitted():
    fast, sk = estimators("reg")
    assert_same_error(lambda: fast.predict(X_REG), lambda: sk.predict(X_REG))


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("bad", ["n_features", "nan", "inf", "1d", "nan in one row",
                                 "-inf in a few rows"])
def test_bad_X_at_predict(kind, bad):
    X, y = data(kind)
    fast, sk = estimators(kind, hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    fit_both(fast, sk, X, y)
    one_row, few_rows = X[:1].copy(), X[:5].copy()   # the short path of a few rows
    one_row[0, 2] = np.nan
    few_rows[4, 5] = -np.inf
    X_bad = {"n_features": X[:, :4], "nan": np.where(X > 1, np.nan, X),
             "inf": np.where(X > 1, np.inf, X), "1d": X[0], "nan in one row": one_row,
             "-inf in a few rows": few_rows}[bad]
    methods = ["predict", "predict_proba"] if kind == "clf" else ["predict"]
    for method in methods:
        error = assert_same_error(lambda: getattr(fast, method)(X_bad),
                                  lambda: getattr(sk, method)(X_bad))
        if bad == "n_features":
            assert str(error) == (f"X has 4 features, but {type(sk).__name__} is expecting 6 "
                                  "features as input.")


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("bad", ["length", "2d", "zeros", "string"])
def test_bad_sample_weight(solver, bad):
    n = X_REG.shape[0]
    sw = {"length": np.ones(n - 1), "2d": np.ones((n, 1)), "zeros": np.zeros(n),
          "string": np.array(["a"] * n)}[bad]
    fast, sk = estimators("reg", solver=solver, hidden_layer_sizes=(3,), max_iter=2)
    assert_same_error(lambda: fast.fit(X_REG, Y_REG, sample_weight=sw),
                      lambda: sk.fit(X_REG, Y_REG, sample_weight=sw))


def test_bad_sample_weight_in_partial_fit():
    fast, sk = estimators("clf", solver="adam", hidden_layer_sizes=(3,))
    sw = np.ones(5)
    assert_same_error(lambda: fast.partial_fit(X_CLF, Y_CLF, sample_weight=sw, classes=[0, 1]),
                      lambda: sk.partial_fit(X_CLF, Y_CLF, sample_weight=sw, classes=[0, 1]))


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_negative_sample_weight_accepted_as_sklearn(solver):
    # scikit-learn 1.9.1 does not reject negative weights: neither do we, same result
    sw = np.linspace(-0.5, 2.0, X_REG.shape[0])
    fast, sk = estimators("reg", solver=solver, hidden_layer_sizes=(3,), max_iter=4,
                          learning_rate_init=0.01, random_state=0)
    fit_both(fast, sk, X_REG, Y_REG, sample_weight=sw)
    assert_same_model(fast, sk, np.float64)


# -- warnings -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_max_iter_convergence_warning(kind):
    X, y = data(kind)
    fast, sk = estimators(kind, solver="sgd", hidden_layer_sizes=(3,), max_iter=3,
                          random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X, y)
    expected = [("ConvergenceWarning", "Stochastic Optimizer: Maximum iterations (3) reached "
                                       "and the optimization hasn't converged yet.")]
    assert warning_messages(sk_rec, ConvergenceWarning) == expected
    assert warning_messages(fast_rec, ConvergenceWarning) == expected


def test_no_convergence_warning_when_training_stops():
    fast, sk = estimators("reg", solver="adam", tol=10.0, hidden_layer_sizes=(3,), max_iter=50,
                          random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X_REG, Y_REG)
    assert warning_messages(sk_rec) == []
    assert warning_messages(fast_rec) == []


def test_partial_fit_never_warns_about_max_iter():
    fast, sk = estimators("reg", solver="sgd", hidden_layer_sizes=(3,), max_iter=1,
                          random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X_REG, Y_REG, method="partial_fit")
    assert warning_messages(sk_rec) == warning_messages(fast_rec) == []


@pytest.mark.parametrize("batch_size", [500, 121])
def test_batch_size_clipped_warning(batch_size):
    fast, sk = estimators("reg", solver="sgd", batch_size=batch_size, hidden_layer_sizes=(3,),
                          max_iter=2, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X_REG, Y_REG)
    assert warning_messages(sk_rec, UserWarning)[0] == (
        "UserWarning", "Got `batch_size` less than 1 or larger than sample size. It is going "
                       "to be clipped")
    assert warning_messages(fast_rec) == warning_messages(sk_rec)
    assert_same_model(fast, sk, np.float64)


def test_column_vector_y_warning():
    y = Y_REG.reshape(-1, 1)
    fast, sk = estimators("reg", hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    (fast_rec, _), (sk_rec, _) = fit_both(fast, sk, X_REG, y)
    assert any(name == "DataConversionWarning" for name, _ in warning_messages(sk_rec))
    assert warning_messages(fast_rec) == warning_messages(sk_rec)


# -- divergence ------------------------------------------------------------------------

NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
              "large values and need to be preprocessed.")


@pytest.mark.parametrize("case", ["reg-sgd", "reg-sgd-float32", "clf-sgd", "reg-default",
                                  "reg-sgd-weighted"])
def test_divergence_raises_as_sklearn(case):
    # a large learning rate on badly scaled data: the weights overflow, and both refuse
    # to return a model
    if case.startswith("reg-sgd"):
        X, y = X_REG * 1e3, Y_REG * 1e3
        params = dict(solver="sgd", learning_rate_init=1.0, hidden_layer_sizes=(4,), max_iter=5)
    elif case == "clf-sgd":
        X, y = X_CLF * 1e100, Y_CLF
        params = dict(solver="sgd", learning_rate_init=1.0, hidden_layer_sizes=(4,), max_iter=5)
    else:   # scikit-learn's own test: default MLPRegressor on values near float max
        rng = np.random.RandomState(0)
        X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
        y = rng.standard_normal(10)
        params = {}
    if case.endswith("float32"):
        X = X.astype(np.float32)
    sw = np.linspace(0.5, 1.5, X.shape[0]) if case.endswith("weighted") else None
    fast, sk = estimators(case[:3], random_state=0, **params)
    error = assert_same_error(lambda: fast.fit(X, y, sample_weight=sw),
                              lambda: sk.fit(X, y, sample_weight=sw))
    assert type(error) is ValueError and str(error) == NON_FINITE


def test_divergence_in_partial_fit():
    X, y = X_REG * 1e3, Y_REG * 1e3
    fast, sk = estimators("reg", solver="sgd", learning_rate_init=1.0, hidden_layer_sizes=(4,),
                          random_state=0)
    fit_both(fast, sk, X, y, method="partial_fit")
    for _ in range(4):
        fast_error = capture(lambda: fast.partial_fit(X, y))[1]
        sk_error = capture(lambda: sk.partial_fit(X, y))[1]
        assert (fast_error is None) == (sk_error is None)
        if sk_error is not None:
            assert str(fast_error) == str(sk_error) == NON_FINITE
            return
    pytest.fail("scikit-learn did not diverge: the test's setting is wrong")


def test_diverging_validation_scores_with_early_stopping():
    # the validation score becomes -inf then NaN; the best (finite) weights come back
    X, y = X_REG * 1e3, Y_REG * 1e3
    fast, sk = estimators("reg", solver="sgd", early_stopping=True, learning_rate_init=1.0,
                          hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    fit_both(fast, sk, X, y)
    assert np.isnan(sk.validation_scores_[-1])
    assert_same_model(fast, sk, np.float64)
    assert all(np.isfinite(c).all() for c in fast.coefs_)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_regression_targets_beyond_float32_are_refused_at_once(solver):
    # fastmlp trains float32 X in float32 (doc/user_guide/differences.rst):
    # such targets became infinity and training ended in non-finite weights
    X = X_REG.astype(np.float32)
    fast, sk = estimators("reg", solver=solver, hidden_layer_sizes=(4,), max_iter=5,
                          random_state=0)
    with pytest.raises(ValueError, match=r"y contains infinity or a value too large for "
                                         r"dtype\('float32'\), the dtype fastmlp trains"):
        fast.fit(X, Y_REG * 1e200)
    if solver != "sgd":     # (sgd diverges on such targets, in scikit-learn too)
        fit_both(fast, sk, X_REG, Y_REG * 1e200)     # float64 X trains on them
        assert_same_model(fast, sk, np.float64)


def test_huge_but_finite_weights_do_not_raise():
    # a large loss is no error as long as the weights stay finite, as in scikit-learn
    fast, sk = estimators("clf", solver="sgd", learning_rate_init=100.0, hidden_layer_sizes=(4,),
                          max_iter=5, random_state=0)
    fit_both(fast, sk, X_CLF * 1e6, Y_CLF)
    assert sk.loss_ > 1e30
    assert_same_model(fast, sk, np.float64)
