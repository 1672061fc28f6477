"""
================================
Class weights on imbalanced data
================================

On data where one class is rare, a model that minimises the average loss can
afford to miss much of that class. ``class_weight`` (which scikit-learn's
MLPClassifier lacks) weighs each sample's loss by its class: ``"balanced"`` gives
each class the same total weight. See :ref:`class_weight`.
"""

# %%
# Imbalanced data
# ---------------
# Two classes, 5% of the samples in the second, with some label noise.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    balanced_accuracy_score,
    recall_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

X, y = make_classification(
    n_samples=4000,
    n_features=20,
    n_informative=5,
    weights=[0.95, 0.05],
    flip_y=0.02,
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, stratify=y, random_state=0
)
print("training samples per class:", np.bincount(y_train))

# %%
# Without and with class weights
# ------------------------------
models = {}
for class_weight in [None, "balanced"]:
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(32,),
            class_weight=class_weight,
            max_iter=100,
            random_state=0,
        ),
    )
    with warnings.catch_warnings():
        # 100 epochs are enough here: the fit stops there, and would say so
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[class_weight] = model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    print(
        f"class_weight={class_weight!r:10s} recall of the rare class "
        f"{recall_score(y_test, y_pred):.2f}, balanced accuracy "
        f"{balanced_accuracy_score(y_test, y_pred):.2f}"
    )

# %%
# The confusion matrices on the test set: with balanced weights, many more of the
# rare class are found, at the cost of more false alarms on the common one.
fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
for ax, (class_weight, model) in zip(axes, models.items()):
    ConfusionMatrixDisplay.from_estimator(
        model, X_test, y_test, ax=ax, colorbar=False
    )
    ax.set_title(f"class_weight={class_weight!r}")
plt.show()

# %%
# A dict sets the weights by hand, ``{0: 1, 1: 5}`` for instance, and is what
# ``partial_fit`` takes: "balanced" needs the class counts of all the data, which
# one batch does not have. :func:`sklearn.utils.class_weight.compute_class_weight`
# computes them once.
