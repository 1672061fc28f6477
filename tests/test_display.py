"""fastmlp.LossCurveDisplay: the loss per epoch (and the validation score when
early stopping ran) of a fitted MLP, in scikit-learn's Display convention, drawn
to a PNG; matplotlib optional, with scikit-learn's error when it is missing."""
import os
import subprocess
import sys

import numpy as np
import pytest
import sklearn.neural_network as skn
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._optional_dependencies import check_matplotlib_support

import fastmlp
from fastmlp import LossCurveDisplay
from _helpers import fit_quietly, make_data



@pytest.fixture
def pyplot():
    import matplotlib       # in the test extras

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_drawn_to_png_with_validation_scores(pyplot, tmp_path):
    X, y = make_data("multiclass", n_samples=200)
    est = fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=15,
                                            early_stopping=True, random_state=0), X, y)
    display = LossCurveDisplay.from_estimator(est)

    assert display.figure_ is display.ax_.figure
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, est.n_iter_ + 1))
    np.testing.assert_array_equal(display.line_.get_ydata(), est.loss_curve_)
    np.testing.assert_array_equal(display.validation_line_.get_ydata(),
                                  est.validation_scores_)
    assert display.validation_line_.axes is display.validation_ax_
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Training loss"
    assert display.validation_ax_.get_ylabel() == "Validation score"
    assert display.ax_.get_title() == "MLPClassifier"
    assert [t.get_text() for t in display.validation_ax_.get_legend().get_texts()] == [
        "Training loss", "Validation score"]

    path = tmp_path / "loss_curve.png"
    display.figure_.savefig(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = pyplot.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0      # something is drawn


def test_on_given_axes_without_early_stopping(pyplot):
    X, y = make_data("regression")
    est = fit_quietly(fastmlp.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5,
                                           random_state=0), X, y)
    _, ax = pyplot.subplots()
    display = LossCurveDisplay.from_estimator(est, ax=ax, name="run 1",
                                              line_kw={"color": "black"})
    assert display.ax_ is ax
    assert display.validation_line_ is None and display.validation_ax_ is None
    assert display.line_.get_color() == "black"
    assert ax.get_title() == "run 1"


def test_pipeline_and_scikit_learns_mlp(pyplot):
    X, y = make_data("binary")
    for mlp in (fastmlp.MLPClassifier, skn.MLPClassifier):
        pipe = fit_quietly(make_pipeline(StandardScaler(), mlp(hidden_layer_sizes=(3,),
                                                                max_iter=4)), X, y)
        display = LossCurveDisplay.from_estimator(pipe)
        np.testing.assert_array_equal(display.line_.get_ydata(), pipe[-1].loss_curve_)


def test_lbfgs_has_no_loss_curve(pyplot):
    X, y = make_data("binary")
    est = fit_quietly(fastmlp.MLPClassifier(solver="lbfgs", max_iter=4), X, y)
    with pytest.raises(ValueError, match="needs a model trained with solver='sgd' or "
                                         "'adam'; MLPClassifier has no loss_curve_"):
        LossCurveDisplay.from_estimator(est)


def test_unfitted_estimator_is_refused(pyplot):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(fastmlp.MLPClassifier())


def test_without_matplotlib_scikit_learns_error(monkeypatch):
    X, y = make_data("binary")
    est = fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2), X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)    # import matplotlib fails
    for caller, draw in [
        ("LossCurveDisplay.from_estimator", lambda: LossCurveDisplay.from_estimator(est)),
        ("LossCurveDisplay.plot", lambda: LossCurveDisplay(loss_curve=[1.0]).plot()),
    ]:
        with pytest.raises(ImportError) as expected:
            check_matplotlib_support(caller)
        with pytest.raises(ImportError) as raised:
            draw()
        assert str(raised.value) == str(expected.value)
        assert "requires matplotlib" in str(raised.value)


def test_fastmlp_imports_without_matplotlib(tmp_path):
    # in a fresh interpreter, the fastmlp this one imported (installed, or the
    # source tree's)
    where = os.path.dirname(os.path.dirname(os.path.abspath(fastmlp.__file__)))
    code = ("import sys; sys.modules['matplotlib'] = None; import fastmlp; "
            "print(fastmlp.LossCurveDisplay.__name__, fastmlp.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": where}, check=True)
    assert out.stdout.split() == ["LossCurveDisplay", fastmlp.__file__]
