"""
===============================
A grid search on a Dask cluster
===============================

joblib's dask backend spreads a scikit-learn search over the workers of a Dask
cluster (``pip install "fastmlp[dask]"``). fastmlp's results do not depend on the
number of threads or on where a fit runs, so the search on the cluster gives the
scores it gives on one machine. A ``LocalCluster`` stands in for a real cluster
here; ``Client("tcp://scheduler:8786")`` connects to one instead. See
:ref:`scaling_out`.
"""

# %%
# The cluster
# -----------
# Two workers of one thread each, so that two fits run side by side. They run in
# this process (``processes=False``), which starts in a moment; a script that
# starts worker processes instead must hold its code under
# ``if __name__ == "__main__":``, as every script that starts processes does.
import time
import warnings

import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)
print(f"{len(cluster.workers)} workers")

# %%
# The same search, on the cluster and here
# -----------------------------------------
X, y = load_digits(return_X_y=True)
param_grid = {
    "mlpclassifier__hidden_layer_sizes": [(32,), (128,)],
    "mlpclassifier__alpha": [1e-4, 1e-1, 1.0],
}


def search():
    pipeline = make_pipeline(
        StandardScaler(), MLPClassifier(max_iter=40, random_state=0)
    )
    return GridSearchCV(pipeline, param_grid, cv=3)


with warnings.catch_warnings():
    # 40 epochs per fit on purpose, to keep the search short
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        on_cluster = search().fit(X, y)
    cluster_time = time.perf_counter() - start

    start = time.perf_counter()
    here = search().fit(X, y)
    local_time = time.perf_counter() - start

client.close()
cluster.close()

same = np.array_equal(
    on_cluster.cv_results_["mean_test_score"],
    here.cv_results_["mean_test_score"],
)
print(
    f"on the cluster {cluster_time:.1f} s, in this process {local_time:.1f} s"
)
print("the same scores:", same)
print("best:", on_cluster.best_params_)

# %%
# The scores of every candidate, from both searches: the same numbers.
labels = [
    f"{p['mlpclassifier__hidden_layer_sizes'][0]} units\n"
    f"alpha={p['mlpclassifier__alpha']:g}"
    for p in here.cv_results_["params"]
]
positions = np.arange(len(labels))
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.bar(
    positions - 0.2,
    on_cluster.cv_results_["mean_test_score"],
    width=0.4,
    label="on the Dask cluster",
)
ax.bar(
    positions + 0.2,
    here.cv_results_["mean_test_score"],
    width=0.4,
    label="in this process",
)
ax.set_xticks(positions, labels, fontsize=8)
ax.set_ylim(0.9, 1.0)
ax.set_ylabel("mean cross-validated accuracy")
ax.legend(loc="lower right")
plt.show()
