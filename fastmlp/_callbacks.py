"""scikit-learn's callback protocol (``sklearn.callback``) on the MLPs.

As in scikit-learn 1.9.1's ``LogisticRegression``: a fit (or partial_fit) is the
root task, and each epoch of sgd/adam, or each lbfgs iteration, is one of its
subtasks. A callback's ``on_fit_task_end`` returning True ends the fit after that
epoch, as early stopping does. ``fitted_estimator`` is a copy of the estimator,
made only when a callback asks for it, that predicts as the model would if fit
had stopped there (with early stopping: the best weights so far).

Nothing here runs when no callback can see the fit: ``fit_tasks`` returns None
and the training loops test only that.
"""
import copy

import numpy as np
from sklearn.base import is_classifier

from ._convert import split_params


def fit_tasks(est, X, y, sample_weight, incremental):
    """The callback tasks of this fit, or None when no callback can see it.

    X and y as validation gave them (y binarized for a classifier)."""
    if not hasattr(est, "_skl_callbacks") and not hasattr(est, "_parent_callback_ctx"):
        return None
    if est.solver == "lbfgs":
        # one task per iteration, and one left open after the last, as
        # LogisticRegression counts them
        max_subtasks = max(est.max_iter, 1) + 1
    else:
        max_subtasks = 1 if incremental else est.max_iter
    return FitTasks(est, X, y, sample_weight, max_subtasks)


class FitTasks:
    """The root task of one fit and its subtasks, one at a time.

    Subtasks are made only when callbacks are set on the estimator (by the user or
    propagated by a meta-estimator); a meta-estimator's context alone needs just
    the root, to link the task trees.
    """

    def __init__(self, est, X, y, sample_weight, max_subtasks):
        self.est = est
        self.X = X
        self._y, self._labels = y, None
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.per_iteration = hasattr(est, "_skl_callbacks")
        self.root = est._init_callback_context(max_subtasks=max_subtasks)
        self.task = None    # the subtask begun and not yet ended
        self.n_iter, self.stopped = 0, False    # lbfgs iterations, and a callback's stop
        self._call(self.root, "call_on_fit_task_begin")

    def labels(self):
        """y as the user gave it: the class labels of a classifier (decoded once)."""
        if self._labels is None:
            is_clf = is_classifier(self.est)
            self._labels = (self.est._label_binarizer.inverse_transform(self._y)
                            if is_clf else self._y)
        return self._labels

    def _call(self, ctx, hook, attributes=None):
        return getattr(ctx, hook)(estimator=self.est, X=self.X, y=self.labels,
                                  metadata=self.metadata,
                                  reconstruction_attributes=attributes)

    def begin(self, attributes):
        """Begin the next subtask (an epoch, an lbfgs iteration)."""
        if self.per_iteration:
            self.task = self.root.subcontext(task_name=self._task_name())
            self._call(self.task, "call_on_fit_task_begin", attributes)

    def end(self, attributes):
        """End the current subtask; True when a callback asks to stop."""
        if self.task is None:
            return False
        task, self.task = self.task, None
        return self._call(task, "call_on_fit_task_end", attributes)

    def end_fit(self):
        """End the root task with the fitted model, closing a subtask left open
        (the lbfgs iteration that never ran, or an interrupted epoch) as an empty
        task."""
        if self.task is not None:
            self.task.call_on_fit_task_end(estimator=self.est)
            self.task = None
        self._call(self.root, "call_on_fit_task_end", {})

    def _task_name(self):
        return "iteration" if self.est.solver == "lbfgs" else "epoch"

    # -- the hooks of the two training loops ---------------------------------

    def epoch_begin(self, params):
        self.begin(lambda: stochastic_snapshot(self.est, params))

    def epoch_end(self, params):
        return self.end(lambda: stochastic_snapshot(self.est, params))

    def lbfgs_callback(self, x0):
        """scipy.optimize.minimize's callback from the start `x0`: ends the
        iteration that has run and begins the next, or raises StopIteration when a
        callback asks to stop. None when there are no iteration tasks."""
        if not self.per_iteration:
            return None
        self.begin(lambda: lbfgs_snapshot(self.est, x0, 0))

        def callback(intermediate_result):
            self.n_iter += 1
            n_iter = self.n_iter
            attributes = lambda: lbfgs_snapshot(  # noqa: E731
                self.est, intermediate_result.x, n_iter, intermediate_result.fun)
            if self.end(attributes):
                self.stopped = True
                raise StopIteration
            self.begin(attributes)

        return callback


def _unpacked(est, params):
    """coefs_ and intercepts_ as views of a copy of the flat buffer `params`."""
    coefs, intercepts = split_params(est, np.array(params, copy=True))
    # the copy predicts on the general path: the short path's layout belongs to
    # the fit that made it
    return {"coefs_": coefs, "intercepts_": intercepts, "_small_predict_layout": None}


def stochastic_snapshot(est, params):
    """The attributes of a copy of `est` fitted as if training stopped now: the
    current weights, or with early stopping the best so far, which fit restores."""
    best = getattr(est, "_best_params", None)
    if est.early_stopping and best is not None:
        params = best
    attributes = _unpacked(est, params)
    attributes["loss_curve_"] = list(est.loss_curve_)
    attributes["_optimizer"] = copy.deepcopy(est._optimizer)
    if est.early_stopping:
        attributes["validation_scores_"] = list(est.validation_scores_)
        attributes["_best_params"] = None
    return attributes


def lbfgs_snapshot(est, x, n_iter, loss=None):
    """The attributes of a copy of `est` fitted as if lbfgs stopped after
    `n_iter` iterations at `x` (in float64, as lbfgs returns its weights), of
    loss `loss` (unknown before the first)."""
    attributes = _unpacked(est, np.asarray(x, dtype=np.float64))
    attributes["n_iter_"] = n_iter
    if loss is not None:
        attributes["loss_"] = float(loss)
    return attributes
