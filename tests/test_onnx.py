"""ONNX export: after ``import fastmlp.onnx``, skl2onnx converts fastmlp's models,
alone and inside a Pipeline; onnxruntime's outputs agree with predict_proba and
predict to float32 tolerance (float64 models exported in float64: to float64's)."""
import importlib
import sys

import numpy as np
import onnxruntime as ort   # skl2onnx, onnxruntime: in the test extras
import pytest
import skl2onnx
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
import fastmlp.onnx  # noqa: F401  (registers the converters)
from _helpers import fit_quietly, make_data

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def run_onnx(model, X, **options):
    onx = skl2onnx.to_onnx(model, X[:1], **options)
    session = ort.InferenceSession(onx.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def _classifier_problem(task, dtype):
    X, y = make_data(task, dtype, n_samples=200)
    X = X * 3 + 1         # so that a Pipeline's scaler has work to do
    if task == "multiclass":
        y = np.array(["ant", "bee", "cat"])[y]    # string labels
    return X, y


@pytest.mark.parametrize("in_pipeline", [False, True])
@pytest.mark.parametrize("task, dtype", [
    ("binary", np.float32), ("binary", np.float64), ("multiclass", np.float32),
    ("multiclass", np.float64),
    # skl2onnx draws a multilabel output with a Binarizer, which onnxruntime has
    # in float32 only (for scikit-learn's MLPClassifier too)
    ("multilabel", np.float32)])
def test_classifier(task, dtype, in_pipeline):
    X, y = _classifier_problem(task, dtype)
    model = fastmlp.MLPClassifier(hidden_layer_sizes=(8, 4), activation="tanh", max_iter=30,
                                  random_state=0)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    fit_quietly(model, X, y)
    labels, proba = run_onnx(model, X, options={"zipmap": False})

    expected = model.predict_proba(X)
    assert proba.dtype == dtype and proba.shape == expected.shape
    np.testing.assert_allclose(proba, expected, **TOL[dtype])
    np.testing.assert_array_equal(labels, model.predict(X))


@pytest.mark.parametrize("in_pipeline", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("task, loss", [
    ("regression", "squared_error"), ("multioutput", "squared_error"),
    ("regression", "poisson")])
def test_regressor(task, loss, dtype, in_pipeline):
    # the Poisson loss's exponential output and a multi-output regressor's shape,
    # which skl2onnx's converter lacks for scikit-learn's MLPRegressor too
    X, y = make_data(task, dtype, n_samples=200)
    if loss == "poisson":
        y = np.exp(y / 2)
    model = fastmlp.MLPRegressor(loss=loss, hidden_layer_sizes=(8,), max_iter=30,
                                 random_state=0)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    fit_quietly(model, X, y)
    (pred,) = run_onnx(model, X)

    expected = model.predict(X).reshape(len(X), -1)
    assert pred.dtype == dtype and pred.shape == expected.shape
    np.testing.assert_allclose(pred, expected, **TOL[dtype])


def test_without_skl2onnx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    monkeypatch.delitem(sys.modules, "fastmlp.onnx")
    with pytest.raises(ImportError, match=r"fastmlp.onnx requires skl2onnx. You can install "
                                          r"it with `pip install fastmlp\[onnx\]`"):
        importlib.import_module("fastmlp.onnx")
