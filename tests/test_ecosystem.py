"""fastmlp among scikit-learn's tools: Pipeline, GridSearchCV with parallel jobs, and
the thread count of the core inside joblib's workers (no oversubscription)."""
import os
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier


def _core_threads_in_worker(_):
    from fastmlp._threads import n_threads

    return n_threads()


def test_core_threads_follow_joblib_limits():
    """joblib gives each of n_jobs workers cpu_count // n_jobs threads; the core
    must use no more, so GridSearchCV(n_jobs=2) does not oversubscribe the machine."""
    n_jobs = 2
    counts = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_core_threads_in_worker)(i) for i in range(4))
    assert max(counts) <= max(1, os.cpu_count() // n_jobs)


def test_pipeline_grid_search_matches_sklearn():
    X, y = make_classification(300, 8, n_informative=5, random_state=0)
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__hidden_layer_sizes": [(8,), (16,)]}
    results = []
    for cls in (MLPClassifier, SklearnMLPClassifier):
        pipe = make_pipeline(StandardScaler(), cls(max_iter=30, random_state=0))
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        results.append(search)
    ours, theirs = results
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-12)
    ours_mlp = ours.best_estimator_[-1]
    theirs_mlp = theirs.best_estimator_[-1]
    for a, b in zip(ours_mlp.coefs_, theirs_mlp.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
