"""Scaling out as doc/user_guide/scaling_out.rst shows it: GridSearchCV on a Dask cluster through
joblib's dask backend gives the search that loky gives on one machine, and
dask-ml's Incremental trains by partial_fit over the chunks of a dask array as
partial_fit over the same chunks in a loop does.

The cluster is a LocalCluster in this process (processes=False: its scheduler and
one worker of two threads talk over in-process transport, no socket)."""
import warnings

import dask.array as da     # dask, distributed, dask-ml: in the test extras
import distributed
import joblib
import numpy as np
import pytest
from dask_ml.wrappers import Incremental
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from _helpers import make_data


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("inproc://")
        with distributed.Client(cluster) as client:
            yield client


def _search():
    pipe = make_pipeline(StandardScaler(), fastmlp.MLPClassifier(max_iter=15, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1],
            "mlpclassifier__hidden_layer_sizes": [(4,), (8,)]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=2)


def _fit(search, X, y, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_backend(backend):
            search.fit(X, y)
    return search


def test_grid_search_on_a_local_cluster_equals_loky(client):
    X, y = make_data("multiclass", n_samples=150)
    with distributed.get_task_stream(client) as stream:
        on_dask = _fit(_search(), X, y, "dask")
    on_loky = _fit(_search(), X, y, "loky")
    # the cluster ran the 4 x 3 fits and scores (joblib may batch them into fewer tasks)
    assert len(stream.data) > 0
    assert on_dask.best_params_ == on_loky.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[key], on_loky.cv_results_[key])
    mlp_dask, mlp_loky = on_dask.best_estimator_[-1], on_loky.best_estimator_[-1]
    for a, b in zip(mlp_dask.coefs_ + mlp_dask.intercepts_,
                    mlp_loky.coefs_ + mlp_loky.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_incremental_is_partial_fit_over_the_chunks(client, kind):
    X, y = make_data("multiclass" if kind == "clf" else "regression", n_samples=160)
    cls = fastmlp.MLPClassifier if kind == "clf" else fastmlp.MLPRegressor
    params = dict(hidden_layer_sizes=(6,), batch_size=16, random_state=0)
    extra = {"classes": [0, 1, 2]} if kind == "clf" else {}
    X_dask, y_dask = da.from_array(X, chunks=40), da.from_array(y, chunks=40)

    inc = Incremental(cls(**params), shuffle_blocks=False)
    inc.fit(X_dask, y_dask, **extra)
    by_hand = cls(**params)
    for start in range(0, 160, 40):
        by_hand.partial_fit(X[start:start + 40], y[start:start + 40], **extra)

    trained = inc.estimator_
    assert trained.t_ == by_hand.t_ == 160
    for a, b in zip(trained.coefs_ + trained.intercepts_, by_hand.coefs_ + by_hand.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(inc.predict(X_dask).compute(), by_hand.predict(X))
