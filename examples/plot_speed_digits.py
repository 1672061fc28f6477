"""
======================================
fastmlp and scikit-learn on the digits
======================================

The same network, fitted by scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
and by fastmlp's :class:`~fastmlp.MLPClassifier`, with the same parameters and
``random_state``, on the handwritten digits that ship with scikit-learn. Both
reach the same accuracy with the same weights; fastmlp takes less time.
"""

# %%
# The data and the two models
# ---------------------------
# The digits are 8x8 images with pixel values 0 to 16, scaled to [0, 1].
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, random_state=0, stratify=y
)
params = dict(hidden_layer_sizes=(100,), max_iter=40, random_state=0)

# %%
# Fit each one twice and keep the faster fit's time: the first call of a
# process pays for imports and thread start-up.
results = {}
for name, Estimator in [
    ("scikit-learn", SklearnMLPClassifier),
    ("fastmlp", MLPClassifier),
]:
    times = []
    for _ in range(2):
        model = Estimator(**params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # 40 epochs on purpose: both stop at max_iter and say so
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
    results[name] = (model, min(times), model.score(X_test, y_test))
    accuracy = results[name][2]
    print(f"{name:13s} fit {min(times):.3f} s, test accuracy {accuracy:.4f}")

# %%
# The same weights
# ----------------
# Given the same parameters and ``random_state``, the two fits agree to
# floating-point tolerance.
sk_model, fm_model = results["scikit-learn"][0], results["fastmlp"][0]
same = all(
    np.allclose(a, b, rtol=1e-6, atol=1e-9)
    for a, b in zip(sk_model.coefs_, fm_model.coefs_)
)
print("same weights:", same)
print(f"speed-up: {results['scikit-learn'][1] / results['fastmlp'][1]:.1f}x")

# %%
# Time and accuracy
# -----------------
names = list(results)
colors = ["tab:gray", "tab:blue"]
fig, (ax_time, ax_score) = plt.subplots(
    1, 2, figsize=(9, 3.5), layout="constrained"
)
bars = ax_time.bar(names, [results[n][1] for n in names], color=colors)
ax_time.bar_label(bars, fmt="%.2f s")
ax_time.margins(y=0.15)
ax_time.set_ylabel("fit time (s, best of 2)")
ax_time.set_title(f"Fit time, {params['max_iter']} epochs")
bars = ax_score.bar(names, [results[n][2] for n in names], color=colors)
ax_score.bar_label(bars, fmt="%.4f")
ax_score.set_ylim(0.9, 1.0)
ax_score.set_ylabel("test accuracy")
ax_score.set_title("Accuracy on the held-out digits")
plt.show()

# %%
# The speed-up depends on the network and on the machine, and on how busy the
# machine was when this page was built: small networks gain the most, since
# scikit-learn's time goes to Python and NumPy overheads between small products,
# and on a busy machine scikit-learn's threaded BLAS loses more time than
# fastmlp, which uses only the CPUs that are idle (:ref:`threads`). The :ref:`speed` page measures larger workloads.
