"""scikit-learn's callback protocol (sklearn.callback) on both estimators.

Each epoch of sgd/adam and each lbfgs iteration is a task; the snapshot a callback
gets at the end of task k predicts as scikit-learn's model fitted with
max_iter=k; a callback's stop ends the fit after that epoch as max_iter would,
without the convergence warning; ProgressBar and ScoringMonitor work standalone
and propagated from Pipeline and GridSearchCV; without callbacks the protocol's
machinery is not entered at all.
"""
import re
import warnings

import numpy as np
import pytest

from fastmlp._compat import HAS_CALLBACKS

if not HAS_CALLBACKS:
    pytest.skip("scikit-learn < 1.9 has no callback protocol; test_compat.py checks that "
                "fastmlp then has none either", allow_module_level=True)

import rich  # noqa: E402, F401  ProgressBar's; in the test extras
from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from _helpers import assert_same_weights, estimators, fit_quietly, make_data


class Recorder:
    """A callback that keeps, for each hook call, the task and the snapshot."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at      # (task_name, task_id) whose end asks to stop
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, context.task_id, None))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, context.task_id, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.calls.append(("begin", context.task_name, context.task_id, fitted_estimator))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.calls.append(("end", context.task_name, context.task_id, fitted_estimator))
        self.X, self.y, self.metadata = X, y, metadata
        return (context.task_name, context.task_id) == self.stop_at

    def ends(self, task_name):
        return [c[3] for c in self.calls if c[0] == "end" and c[1] == task_name]

    def count(self, hook, task_name):
        return sum(1 for c in self.calls if c[0] == hook and c[1] == task_name)


def _problem(task):
    X, y = make_data(task)
    kind = "reg" if task == "regression" else "clf"
    return X, y, kind


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_one_task_per_epoch_with_snapshots_that_predict(task, solver):
    X, y, kind = _problem(task)
    params = dict(solver=solver, hidden_layer_sizes=(5,), max_iter=6, random_state=0,
                  learning_rate_init=0.01)
    fast, _ = estimators(kind, **params)
    recorder = Recorder()
    fit_quietly(fast.set_callbacks(recorder), X, y)

    name = "iteration" if solver == "lbfgs" else "epoch"
    snapshots = recorder.ends(name)
    # lbfgs: a task per iteration and one more, never run, ended empty (as
    # LogisticRegression does); sgd/adam: one task per epoch
    n_tasks = fast.n_iter_ + (solver == "lbfgs")
    assert recorder.count("begin", name) == recorder.count("end", name) == n_tasks
    assert [c[0] for c in recorder.calls[:2]] == ["setup", "begin"]
    assert [c[:2] for c in recorder.calls[-2:]] == [("end", "fit"), ("teardown", "fit")]
    assert recorder.X is X and recorder.metadata is None
    np.testing.assert_array_equal(recorder.y, y)    # the labels, not their encoding
    if solver == "lbfgs":
        assert snapshots[-1] is None
        snapshots = snapshots[:-1]
    assert len(snapshots) == fast.n_iter_ == 6
    # a task begins where the one before ended; the first, at the initial weights
    begins = [c[3] for c in recorder.calls if c[:2] == ("begin", name)]
    assert begins[0].n_iter_ == 0 and begins[0].predict(X).shape == y.shape
    for before, after in zip(snapshots, begins[1:]):
        for a, b in zip(before.coefs_ + before.intercepts_, after.coefs_ + after.intercepts_):
            np.testing.assert_array_equal(a, b)

    # the snapshot after task k is the model scikit-learn fits with max_iter=k
    for k in (1, 3, 6):
        snapshot = snapshots[k - 1]
        assert type(snapshot) is type(fast) and snapshot.n_iter_ == k
        _, sk = estimators(kind, **{**params, "max_iter": k})
        fit_quietly(sk, X, y)
        assert_same_weights(snapshot, sk, np.float64)
        np.testing.assert_allclose(snapshot.predict(X), sk.predict(X), rtol=1e-6, atol=1e-9)
        if solver != "lbfgs":
            assert len(snapshot.loss_curve_) == k
            np.testing.assert_allclose(snapshot.loss_curve_, sk.loss_curve_, rtol=1e-6)
        else:
            np.testing.assert_allclose(snapshot.loss_, sk.loss_, rtol=1e-6)
    # and the fit's own model is untouched by them
    assert snapshots[-1] is not fast
    for a, b in zip(snapshots[-1].coefs_, fast.coefs_):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, b)


def test_snapshots_of_early_stopping_hold_the_best_weights():
    # as if fit stopped there: early stopping restores its best weights
    X, y = make_data("multiclass", n_samples=200)
    params = dict(hidden_layer_sizes=(5,), max_iter=8, random_state=0, early_stopping=True,
                  learning_rate_init=0.05)
    recorder = Recorder()
    fit_quietly(fastmlp.MLPClassifier(**params).set_callbacks(recorder), X, y)
    for k, snapshot in enumerate(recorder.ends("epoch"), start=1):
        alone = fit_quietly(fastmlp.MLPClassifier(**{**params, "max_iter": k}), X, y)
        for a, b in zip(snapshot.coefs_ + snapshot.intercepts_, alone.coefs_ + alone.intercepts_):
            np.testing.assert_array_equal(a, b)
        assert snapshot.validation_scores_ == alone.validation_scores_


@pytest.mark.parametrize("solver, early_stopping", [
    ("sgd", False), ("sgd", True), ("adam", False), ("adam", True), ("lbfgs", False)])
def test_a_callback_stop_ends_the_fit_after_that_task(solver, early_stopping):
    X, y = make_data("multiclass", n_samples=200)
    params = dict(solver=solver, hidden_layer_sizes=(5,), max_iter=20, random_state=0,
                  early_stopping=early_stopping, learning_rate_init=0.05)
    name = "iteration" if solver == "lbfgs" else "epoch"
    recorder = Recorder(stop_at=(name, 2))     # the third
    stopped = fastmlp.MLPClassifier(**params).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)   # stopping is no failure
        stopped.fit(X, y)

    assert stopped.n_iter_ == 3
    assert recorder.count("begin", name) == recorder.count("end", name) == 3
    # the model is the one max_iter=3 gives, here and in scikit-learn
    alone = fit_quietly(fastmlp.MLPClassifier(**{**params, "max_iter": 3}), X, y)
    for a, b in zip(stopped.coefs_ + stopped.intercepts_, alone.coefs_ + alone.intercepts_):
        np.testing.assert_array_equal(a, b)
    _, sk = estimators("clf", **{**params, "max_iter": 3})
    fit_quietly(sk, X, y)
    assert_same_weights(stopped, sk, np.float64)
    np.testing.assert_array_equal(stopped.predict(X), alone.predict(X))
    if solver != "lbfgs":
        assert stopped.loss_curve_ == alone.loss_curve_


def test_partial_fit_is_one_epoch_task():
    X, y = make_data("multiclass")
    recorder = Recorder()
    est = fastmlp.MLPClassifier(hidden_layer_sizes=(5,), random_state=0).set_callbacks(recorder)
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert recorder.count("begin", "fit") == recorder.count("end", "fit") == 3
    assert recorder.count("end", "epoch") == 3
    assert [s.t_ for s in recorder.ends("epoch")] == [120, 240, 360]


def test_metadata_is_the_sample_weight_given():
    X, y = make_data("binary")
    sw = np.linspace(0.5, 2, len(y))
    recorder = Recorder()
    fit_quietly(fastmlp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                      class_weight="balanced").set_callbacks(recorder),
                X, y, sample_weight=sw)
    np.testing.assert_array_equal(recorder.metadata["sample_weight"], sw)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_scoring_monitor_records_a_score_per_epoch(solver):
    X, y = make_data("multiclass")
    params = dict(solver=solver, hidden_layer_sizes=(5,), max_iter=5, random_state=0,
                  learning_rate_init=0.02)
    monitor = ScoringMonitor(scoring="accuracy")
    est = fit_quietly(fastmlp.MLPClassifier(**params).set_callbacks(monitor), X, y)

    rows = monitor.get_logs().data
    name = "iteration" if solver == "lbfgs" else "epoch"
    per_task = [row["accuracy"] for row in rows if row["task_name"] == name]
    assert len(per_task) == est.n_iter_ == 5
    expected = [fit_quietly(fastmlp.MLPClassifier(**{**params, "max_iter": k}), X, y).score(X, y)
                for k in range(1, 6)]
    assert per_task == expected
    (final,) = [row["accuracy"] for row in rows if row["task_name"] == "fit"]
    assert final == est.score(X, y)


class RecordingProgressBar(ProgressBar):
    """ProgressBar that also keeps the path of each task end it is sent: the bar of
    a task advances at each end of one of its subtasks."""

    def __init__(self, max_propagation_depth=1):
        super().__init__(max_propagation_depth=max_propagation_depth)
        self.ended = []

    def on_fit_task_end(self, estimator, context):
        path, ctx = [], context
        while ctx is not None:
            path.append((ctx.source_estimator_name, ctx.estimator_name, ctx.task_name))
            ctx = ctx.parent
        self.ended.append(path[::-1])
        super().on_fit_task_end(estimator, context)


def _bar_percentages(text, label):
    return [int(m) for m in re.findall(re.escape(label) + r"[^\n%]*?(\d+)%", text)]


def test_progress_bar_one_bar_per_fit(capsys):
    X, y = make_data("multiclass")
    bar = RecordingProgressBar()
    est = fit_quietly(fastmlp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=7,
                                           random_state=0).set_callbacks(bar),
                      X, y.astype(float))
    out = capsys.readouterr().out
    assert _bar_percentages(out, "MLPRegressor - fit") == [100]
    epochs = [p for p in bar.ended if p[-1][2] == "epoch"]
    assert len(epochs) == est.n_iter_ == 7
    assert all(p[0][1:] == ("MLPRegressor", "fit") for p in epochs)


def test_progress_bar_through_pipeline_and_grid_search(capsys):
    X, y = make_data("multiclass")
    pipe = make_pipeline(StandardScaler(),
                         fastmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=4,
                                               random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=2)
    bar = RecordingProgressBar(max_propagation_depth=None)
    with warnings.catch_warnings():
        # a meta-estimator warns when it cannot pass its callbacks on
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(bar).fit(X, y)
    out = capsys.readouterr().out

    n_fits = 2 * 2 + 1      # candidates x splits, and the refit
    label = "Pipeline - fit-final-estimator | MLPClassifier - fit"
    assert _bar_percentages(out, label) == [100] * n_fits
    assert _bar_percentages(out, "GridSearchCV - fit") == [100]
    # every epoch of every fit reached the bar, under GridSearchCV > Pipeline > MLP
    epochs = [p for p in bar.ended if p[-1][2] == "epoch"]
    assert len(epochs) == 4 * n_fits
    for path in epochs:
        assert path[0][1] == "GridSearchCV"
        assert ("Pipeline", "MLPClassifier", "fit") in path


def test_scoring_monitor_inside_a_pipeline_inside_grid_search():
    # ScoringMonitor is not auto-propagated: it is set on the MLP, and its task
    # tree hangs from the search's
    X, y = make_data("multiclass")
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = fastmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0,
                                learning_rate_init=0.05)
    pipe = make_pipeline(StandardScaler(), mlp.set_callbacks(monitor))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=2)
    fit_quietly(search, X, y)

    (log,) = monitor.get_logs(select="all")
    assert log.estimator_name == "GridSearchCV"
    epochs = [row for row in log.data if row["task_name"] == "epoch"]
    assert len(epochs) == 3 * (2 * 2 + 1)
    assert {row["estimator_name"] for row in epochs} == {"MLPClassifier"}
    # the refit (the search's second subtask): its last epoch scored its model on
    # the pipeline's transformed X
    refit = [row for row in epochs if row["task_id_path"][1] == 1]
    best = search.best_estimator_
    assert len(refit) == 3
    assert refit[-1]["accuracy"] == best[-1].score(best[0].transform(X), y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_without_callbacks_the_protocol_is_not_entered(solver, monkeypatch):
    # no context, no task, no hook: the training loops see tasks=None
    def refuse(*args, **kwargs):
        raise AssertionError("callback context made without callbacks")

    monkeypatch.setattr(fastmlp.MLPClassifier, "_init_callback_context", refuse)
    X, y = make_data("binary")
    est = fit_quietly(fastmlp.MLPClassifier(solver=solver, hidden_layer_sizes=(3,),
                                            max_iter=3), X, y)
    if solver != "lbfgs":
        est.partial_fit(X, y)
    assert "_callback_fit_ctx" not in vars(est)
