"""
===================================================
A progress bar, a scoring monitor and an early stop
===================================================

fastmlp's estimators follow scikit-learn's callback protocol
(``sklearn.callback``, scikit-learn 1.9 and newer): each epoch of a fit is a task
that callbacks see begin and end. scikit-learn's ``ProgressBar`` draws a bar that
advances an epoch at a time, ``ScoringMonitor`` logs a score after each epoch, and
a callback of your own can stop the fit. See :ref:`callbacks`.
"""

# %%
# A progress bar
# --------------
# ``ProgressBar`` draws with rich (``pip install "fastmlp[progress]"``). In a
# terminal the bar advances as the fit runs; here it shows its last state.
import warnings

import matplotlib.pyplot as plt
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(
    X, y, random_state=0, stratify=y
)

clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
clf.set_callbacks(ProgressBar())
with warnings.catch_warnings():
    # 100 epochs on purpose: the fit runs to max_iter, and would say so
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(X_train, y_train)
print(f"{clf.n_iter_} epochs")

# %%
# A scoring monitor
# -----------------
# ``ScoringMonitor`` computes the score on the training data at the end of each
# task; its log holds a row per epoch (task ``"epoch"``) and one for the whole fit.
monitor = ScoringMonitor(scoring="accuracy")
clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.set_callbacks(monitor).fit(X_train, y_train)

log = monitor.get_logs().data_as_pandas
epochs = log[log["task_name"] == "epoch"]
print(epochs[["task_id", "accuracy"]].tail())

# %%
# Stopping the fit
# ----------------
# A callback's ``on_fit_task_end`` that returns True ends the fit after that
# epoch, with a usable model. The ``fitted_estimator`` it receives predicts as
# the model would if the fit stopped there, so this one scores it on data held
# out from training and stops at the first epoch that reaches a target.


class StopAtValidationScore:
    """Stop the fit once the held-out accuracy reaches `target`."""

    def __init__(self, X_val, y_val, target):
        self.X_val, self.y_val, self.target = X_val, y_val, target
        self.scores = []

    def setup(self, estimator, context):
        self.scores = []

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(
        self, estimator, context, *, fitted_estimator=None, **kwargs
    ):
        if context.task_name != "epoch":
            return False
        self.scores.append(fitted_estimator.score(self.X_val, self.y_val))
        return self.scores[-1] >= self.target


stopper = StopAtValidationScore(X_val, y_val, target=0.97)
clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
clf.set_callbacks(stopper).fit(X_train, y_train)
print(
    f"stopped after {clf.n_iter_} epochs, held-out accuracy "
    f"{clf.score(X_val, y_val):.3f}"
)

# %%
# The two scores, epoch by epoch: the training accuracy the monitor logged and the
# held-out accuracy the stopping callback computed until it stopped the fit.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(
    range(1, len(epochs) + 1),
    epochs["accuracy"],
    label="training accuracy (ScoringMonitor)",
)
ax.plot(
    range(1, len(stopper.scores) + 1),
    stopper.scores,
    "o-",
    markersize=3,
    label="held-out accuracy (stopping callback)",
)
ax.axhline(stopper.target, color="gray", linestyle=":", label="target")
ax.set_xlabel("Epoch")
ax.set_ylabel("Accuracy")
ax.legend(loc="lower right")
plt.show()
