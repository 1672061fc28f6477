"""Pickle and joblib round trips: a fitted model predicts the same after loading,
a model in the middle of partial_fit continues exactly as one never pickled,
the loaded coefs_/intercepts_ are the live parameters of the model, a pickle
names no private class, and loading under other versions warns as scikit-learn does."""
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn
import sklearn.base
import sklearn.exceptions
from sklearn.base import clone

import fastmlp
from _helpers import fit_quietly, make_data, roundtrip


def joblib_roundtrip(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def pickle_protocol_2(est):
    return pickle.loads(pickle.dumps(est, protocol=2))


ROUNDTRIPS = {"pickle": roundtrip, "joblib": joblib_roundtrip, "pickle2": pickle_protocol_2}


def assert_identical_params(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype and p.shape == q.shape
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("how", list(ROUNDTRIPS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_fitted_model_roundtrip(task, solver, dtype, how):
    X, y = make_data(task, dtype)
    cls = fastmlp.MLPRegressor if task == "regression" else fastmlp.MLPClassifier
    est = fit_quietly(cls(solver=solver, hidden_layer_sizes=(5, 3), max_iter=5,
                          random_state=0), X, y)
    loaded = ROUNDTRIPS[how](est)
    assert type(loaded) is cls
    assert loaded.get_params() == est.get_params()
    assert_identical_params(loaded, est)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if task != "regression":
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
    for name in ("n_iter_", "loss_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_"):
        assert getattr(loaded, name) == getattr(est, name)
    if solver != "lbfgs":
        assert loaded.loss_curve_ == est.loss_curve_ and loaded.t_ == est.t_
    assert loaded.score(X, y) == est.score(X, y)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_partial_fit_continues_after_roundtrip(kind, solver, dtype, how):
    # the optimizer's state (velocities, moments, Adam's step count, the learning
    # rate) travels with the model
    X, y = make_data("multiclass" if kind == "clf" else "regression", dtype)
    cls = fastmlp.MLPClassifier if kind == "clf" else fastmlp.MLPRegressor
    params = dict(solver=solver, hidden_layer_sizes=(5,), learning_rate="invscaling",
                  learning_rate_init=0.05, batch_size=32, random_state=0)
    extra = {"classes": [0, 1, 2]} if kind == "clf" else {}
    kept = cls(**params)
    kept.partial_fit(X[:60], y[:60], **extra)
    kept.partial_fit(X[60:], y[60:])
    loaded = ROUNDTRIPS[how](kept)
    for rows in (slice(0, 80), slice(40, 120), slice(None)):
        kept.partial_fit(X[rows], y[rows])
        loaded.partial_fit(X[rows], y[rows])
        assert_identical_params(loaded, kept)
        assert loaded.loss_curve_ == kept.loss_curve_
        assert loaded.t_ == kept.t_


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_joblib_file_and_memory_map(tmp_path, mmap_mode):
    # joblib.load(mmap_mode="r") gives read-only memory-mapped parameters: the model
    # still predicts, its live views included, and can be refitted. (Continuing
    # training in place fails in scikit-learn too, so it is not asked for.)
    X, y = make_data("multiclass")
    est = fastmlp.MLPClassifier(solver="sgd", hidden_layer_sizes=(40, 30), max_iter=3,
                                random_state=0)
    fit_quietly(est, X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path, mmap_mode=mmap_mode)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert_identical_params(loaded, est)
    fit_quietly(loaded, X, y)
    fit_quietly(est, X, y)
    assert_identical_params(loaded, est)


def test_warm_start_fit_after_roundtrip():
    X, y = make_data("regression")
    kept = fit_quietly(fastmlp.MLPRegressor(solver="adam", warm_start=True, max_iter=4,
                                            hidden_layer_sizes=(4,), random_state=0), X, y)
    loaded = roundtrip(kept)
    fit_quietly(kept, X, y)
    fit_quietly(loaded, X, y)
    assert_identical_params(loaded, kept)
    assert loaded.loss_curve_ == kept.loss_curve_


def test_early_stopping_model_roundtrip():
    X, y = make_data("binary", n_samples=150)
    est = fit_quietly(fastmlp.MLPClassifier(early_stopping=True, hidden_layer_sizes=(4,),
                                            max_iter=20, random_state=0), X, y)
    loaded = roundtrip(est)
    assert loaded.validation_scores_ == est.validation_scores_
    assert loaded.best_validation_score_ == est.best_validation_score_
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("fresh", [True, False], ids=["fitted", "unpickled"])
def test_coefs_are_live_for_the_regressor(fresh, solver):
    # in-place changes to coefs_/intercepts_ change the predictions
    X, y = make_data("regression")
    est = fit_quietly(fastmlp.MLPRegressor(solver=solver, hidden_layer_sizes=(5,), max_iter=5,
                                           random_state=0), X, y)
    if not fresh:
        est = roundtrip(est)
    est.coefs_[-1][:] = 0.0
    est.intercepts_[-1][:] = 3.25
    np.testing.assert_array_equal(est.predict(X), np.full(X.shape[0], 3.25))
    # and the first layer too: a zero input layer with bias -1 kills every relu unit
    est.coefs_[-1][:] = 1.0
    est.coefs_[0][:] = 0.0
    est.intercepts_[0][:] = -1.0
    np.testing.assert_array_equal(est.predict(X), np.full(X.shape[0], 3.25))
    est.intercepts_[0][:] = 2.0      # five relu units at 2, summed by ones, plus 3.25
    np.testing.assert_allclose(est.predict(X), np.full(X.shape[0], 13.25), rtol=1e-12)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_coefs_are_live_for_the_classifier_after_roundtrip(how):
    X, y = make_data("multiclass")
    est = ROUNDTRIPS[how](fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=5,
                                                             random_state=0), X, y))
    est.coefs_[-1] *= 0.0
    est.intercepts_[-1][:] = [0.0, 5.0, 0.0]
    np.testing.assert_array_equal(est.predict(X), np.ones(X.shape[0], dtype=int))
    p = est.predict_proba(X)
    np.testing.assert_allclose(p, np.tile(np.exp([0, 5, 0]) / np.exp([0, 5, 0]).sum(),
                                          (X.shape[0], 1)), rtol=1e-12)


def test_partial_fit_after_in_place_change_of_unpickled_coefs():
    # partial_fit trains from the modified values, not from a stale copy
    X, y = make_data("regression")
    est = fastmlp.MLPRegressor(solver="sgd", hidden_layer_sizes=(4,), random_state=0)
    est.partial_fit(X, y)
    a, b = roundtrip(est), roundtrip(est)
    a.coefs_[0][:] = 0.1
    b.coefs_[0] = np.full_like(b.coefs_[0], 0.1)     # replaced, not modified
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    assert_identical_params(a, b)


def test_replaced_coefs_are_used():
    # coefs_ may also be assigned new arrays, as scikit-learn allows
    X, y = make_data("regression")
    est = fit_quietly(fastmlp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0),
                      X, y)
    est.coefs_[1] = np.zeros_like(est.coefs_[1])
    est.intercepts_ = [est.intercepts_[0], np.array([-2.5])]
    np.testing.assert_array_equal(est.predict(X), np.full(X.shape[0], -2.5))
    loaded = roundtrip(est)
    np.testing.assert_array_equal(loaded.predict(X), np.full(X.shape[0], -2.5))


def test_unfitted_and_cloned_roundtrip():
    est = fastmlp.MLPClassifier(hidden_layer_sizes=(7, 2), solver="sgd", alpha=0.3,
                                random_state=4)
    assert roundtrip(est).get_params() == est.get_params()
    X, y = make_data("binary")
    fit_quietly(est, X, y)
    twin = fit_quietly(clone(roundtrip(est)), X, y)
    assert_identical_params(twin, est)


# -- what a pickle names, and the versions it carries ------------------------------

class RecordingUnpickler(pickle.Unpickler):
    """An unpickler that records every (module, name) global the pickle names."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add((module, name))
        return super().find_class(module, name)


def fitted_models():
    """A classifier and a regressor in the middle of sgd and adam training."""
    X, y = make_data("multiclass")
    Xr, yr = make_data("regression")
    for solver in ("sgd", "adam"):
        yield fastmlp.MLPClassifier(solver=solver, hidden_layer_sizes=(4,),
                                    random_state=0).partial_fit(X, y, classes=[0, 1, 2])
        yield fastmlp.MLPRegressor(solver=solver, hidden_layer_sizes=(4,),
                                   random_state=0).partial_fit(Xr, yr)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_names_no_private_class(protocol):
    # the optimizer's state travels as plain data: the only class of fastmlp's a
    # pickle names is the estimator's own
    for est in fitted_models():
        unpickler = RecordingUnpickler(pickle.dumps(est, protocol=protocol))
        loaded = unpickler.load()
        ours = {g for g in unpickler.globals if g[0].split(".")[0] == "fastmlp"}
        assert ours == {(type(est).__module__, type(est).__name__)}
        assert type(loaded._optimizer) is type(est._optimizer)
        assert vars(loaded._optimizer).keys() == vars(est._optimizer).keys()


def load_recording_warnings(data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(data)
    return loaded, [w.message for w in caught]


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_pickle_loads_silently_under_the_same_version(kind):
    est = next(m for m in fitted_models() if (kind == "clf") == hasattr(m, "classes_"))
    loaded, caught = load_recording_warnings(pickle.dumps(est))
    assert caught == []
    assert loaded.__dict__.keys() == est.__dict__.keys()   # the stamps are not attributes


@pytest.mark.parametrize("direction", ["loaded by another", "written by another"])
def test_pickle_from_another_fastmlp_version_warns(monkeypatch, direction):
    X, y = make_data("regression")
    est = fastmlp.MLPRegressor(hidden_layer_sizes=(3,), random_state=0).partial_fit(X, y)
    this = fastmlp.__version__
    if direction == "written by another":
        monkeypatch.setattr(fastmlp, "__version__", "0.0.1")
    data = pickle.dumps(est)
    monkeypatch.setattr(fastmlp, "__version__",
                        this if direction == "written by another" else "99.0")
    loaded, caught = load_recording_warnings(data)
    assert len(caught) == 1
    w = caught[0]
    # scikit-learn's warning class, so filters on it apply; fastmlp's versions in it
    assert isinstance(w, fastmlp.InconsistentVersionWarning)
    assert isinstance(w, sklearn.exceptions.InconsistentVersionWarning)
    original, current = ("0.0.1", this) if direction == "written by another" else (this, "99.0")
    assert (w.estimator_name, w.original_fastmlp_version, w.current_fastmlp_version) == (
        "MLPRegressor", original, current)
    assert str(w).startswith(
        f"Trying to unpickle estimator MLPRegressor from fastmlp version {original} when "
        f"using fastmlp version {current}. This might lead to breaking code or invalid "
        "results. Use at your own risk.")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_pickle_from_another_sklearn_version_warns_as_sklearn_does(monkeypatch):
    # fastmlp follows the installed scikit-learn, so its version is checked too,
    # with scikit-learn's own warning
    X, y = make_data("regression")
    est = fastmlp.MLPRegressor(hidden_layer_sizes=(3,), random_state=0).partial_fit(X, y)
    data = pickle.dumps(est)
    monkeypatch.setattr(sklearn, "__version__", "1.0.0")
    _, caught = load_recording_warnings(data)
    assert [type(w) for w in caught] == [sklearn.exceptions.InconsistentVersionWarning]
    assert (caught[0].estimator_name, caught[0].current_sklearn_version,
            caught[0].original_sklearn_version) == ("MLPRegressor", "1.0.0",
                                                    sklearn.base.__version__)


def test_state_without_versions_warns_as_unknown():
    # a pickle made before the versions were stored
    state = fastmlp.MLPRegressor(hidden_layer_sizes=(3,)).__getstate__()
    del state["_fastmlp_version"], state["_sklearn_version"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastmlp.MLPRegressor().__setstate__(state)
    assert [(type(w.message), w.message.estimator_name) for w in caught] == [
        (fastmlp.InconsistentVersionWarning, "MLPRegressor"),
        (sklearn.exceptions.InconsistentVersionWarning, "MLPRegressor")]
    assert caught[0].message.original_fastmlp_version == "unknown"
    assert caught[1].message.original_sklearn_version == "unknown"
