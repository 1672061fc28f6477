"""
=============================
A grid search over a pipeline
=============================

fastmlp's estimators are scikit-learn estimators: they sit in a
:class:`~sklearn.pipeline.Pipeline` and a :class:`~sklearn.model_selection.GridSearchCV`
as scikit-learn's do, and every fit of the search is the faster one. Here the
search chooses the width of the hidden layer and the L2 penalty ``alpha``.
"""

# %%
# The search
# ----------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, random_state=0, stratify=y
)

pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(max_iter=50, random_state=0)),
    ]
)
param_grid = {
    "mlp__hidden_layer_sizes": [(16,), (64,), (256,)],
    "mlp__alpha": [1e-4, 1e-2, 1.0, 10.0],
}
search = GridSearchCV(pipeline, param_grid, cv=3)
start = time.perf_counter()
with warnings.catch_warnings():
    # 50 epochs per fit on purpose, to keep the search short
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
n_fits = len(search.cv_results_["params"]) * search.n_splits_
print(f"{n_fits} fits in {time.perf_counter() - start:.1f} s")
print(
    "best:",
    search.best_params_,
    f"cross-validated accuracy {search.best_score_:.4f}",
)
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}")

# %%
# The results
# -----------
# The mean cross-validated accuracy of each combination, as a heat map.
sizes = [s[0] for s in param_grid["mlp__hidden_layer_sizes"]]
alphas = param_grid["mlp__alpha"]
scores = np.empty((len(sizes), len(alphas)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    i = sizes.index(params["mlp__hidden_layer_sizes"][0])
    j = alphas.index(params["mlp__alpha"])
    scores[i, j] = score

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
image = ax.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1.0)
for i in range(len(sizes)):
    for j in range(len(alphas)):
        ax.text(
            j,
            i,
            f"{scores[i, j]:.3f}",
            ha="center",
            va="center",
            color="black" if scores[i, j] > scores.mean() else "white",
        )
ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
ax.set_yticks(range(len(sizes)), [str(s) for s in sizes])
ax.set_xlabel("alpha")
ax.set_ylabel("hidden units")
ax.set_title("Mean cross-validated accuracy")
fig.colorbar(image, ax=ax)
plt.show()
