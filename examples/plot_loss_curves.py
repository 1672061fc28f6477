"""
================================================
Loss and validation curves with LossCurveDisplay
================================================

:class:`~fastmlp.LossCurveDisplay` draws a fitted MLP's training loss after each
epoch (its ``loss_curve_``) and, when early stopping ran, the score on the held-out
validation set (its ``validation_scores_``) on a second axis.
"""

# %%
# Three solvers on one axes
# -------------------------
# ``ax=`` draws on axes of your own, so that several models share them.
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastmlp import LossCurveDisplay, MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0

solvers = {
    "adam": dict(solver="adam"),
    "sgd, Nesterov momentum": dict(solver="sgd", learning_rate_init=0.05),
    "sgd, no momentum": dict(
        solver="sgd", learning_rate_init=0.05, momentum=0.0
    ),
}
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for label, params in solvers.items():
    clf = MLPClassifier(
        hidden_layer_sizes=(64,), max_iter=50, random_state=0, **params
    )
    with warnings.catch_warnings():
        # 50 epochs on purpose: each stops at max_iter and says so
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    LossCurveDisplay.from_estimator(
        clf, ax=ax, name="Training loss on the digits", line_kw={"label": label}
    )
ax.legend()
ax.set_yscale("log")
plt.show()

# %%
# Early stopping and the validation score
# ---------------------------------------
# With ``early_stopping=True`` a tenth of the data is held out; training stops
# once the validation accuracy has not improved for ``n_iter_no_change`` epochs,
# and the best epoch's weights are kept. The display keeps what it drew
# (``ax_``, ``line_``, ``validation_ax_``, ``validation_line_``, ``figure_``), to
# change or save.
clf = MLPClassifier(
    hidden_layer_sizes=(64,),
    early_stopping=True,
    n_iter_no_change=5,
    max_iter=200,
    random_state=0,
).fit(X, y)
print(
    f"stopped after {clf.n_iter_} epochs, "
    f"best validation accuracy {clf.best_validation_score_:.3f}"
)
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
display = LossCurveDisplay.from_estimator(clf, ax=ax)
display.validation_ax_.set_ylim(0.5, 1.0)
plt.show()
