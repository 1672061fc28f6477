"""Sparse input (scipy.sparse CSR and CSC, float32/float64) in fit, partial_fit
and predict: parity with scikit-learn 1.9.1 fitted on the same sparse data,
equality (to tolerance) with fastmlp fitted on the dense version, and no
densification of the whole matrix."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import fastmlp
from _helpers import (
    assert_close,
    assert_same_error,
    assert_same_model,
    assert_same_predictions,
    estimators,
    fit_both,
    fit_quietly,
    make_sample_weight,
)

FORMATS = {
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
    "csr_array": sp.csr_array,
    "coo": sp.coo_matrix,
}


def sparse_data(task, dtype=np.float64, n_samples=120, n_features=30, density=0.15,
                random_state=0):
    """A sparse X (as a dense ndarray, about `density` non-zeros) and targets that
    depend on it."""
    rng = np.random.RandomState(random_state)
    X = rng.standard_normal((n_samples, n_features))
    X[rng.uniform(size=X.shape) > density] = 0.0
    w = rng.standard_normal((n_features, 3))
    z = X @ w
    if task == "binary":
        y = (z[:, 0] > 0).astype(int)
    elif task == "multiclass":
        y = np.argmax(z, axis=1)
    elif task == "multilabel":
        y = (z > 0).astype(int)
    elif task == "regression":
        y = z[:, 0] / np.std(z[:, 0])
    else:
        y = z[:, :2] / np.std(z[:, :2], axis=0)
    return X.astype(dtype), y


def assert_close_models(a, b, dtype):
    """Two fastmlp models with the same parameters to tolerance."""
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype
        assert_close(p, q, dtype)
    assert a.n_iter_ == b.n_iter_
    if hasattr(b, "loss_curve_"):
        assert_close(a.loss_curve_, b.loss_curve_, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver,task", [
    ("sgd", "binary"), ("adam", "multiclass"), ("adam", "multilabel"),
    ("sgd", "regression"), ("adam", "multioutput"), ("lbfgs", "multiclass"),
    ("lbfgs", "regression"),
])
def test_sparse_fit_parity(solver, task, fmt, dtype):
    X_dense, y = sparse_data(task, dtype)
    X = FORMATS[fmt](X_dense)
    params = dict(solver=solver, hidden_layer_sizes=(6,), learning_rate_init=0.05, batch_size=32,
                  max_iter=8, random_state=0)
    fast, sk = estimators(task, **params)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)
    # the input is left as it was given
    assert sp.issparse(X) and X.format == fmt

    dense, _ = estimators(task, **params)
    fit_quietly(dense, X_dense, y)
    assert_close_models(fast, dense, dtype)
    # sparse and dense inputs predict the same
    assert_close(fast.predict(X_dense) if task in ("regression", "multioutput")
                 else fast.predict_proba(X_dense),
                 fast.predict(X) if task in ("regression", "multioutput")
                 else fast.predict_proba(X), dtype)


@pytest.mark.parametrize("fmt", ["csr_array", "coo"])
def test_other_sparse_containers(fmt):
    # sparse arrays and COO are accepted and converted, as by scikit-learn
    X_dense, y = sparse_data("multiclass")
    X = FORMATS[fmt](X_dense)
    fast, sk = estimators("clf", solver="adam", hidden_layer_sizes=(5,), max_iter=5,
                          random_state=0)
    fit_both(fast, sk, X, y)
    assert_same_model(fast, sk, np.float64)
    assert_same_predictions(fast, sk, X, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sparse_partial_fit_parity(solver, fmt, dtype):
    X_dense, y = sparse_data("multiclass", dtype)
    X = FORMATS[fmt](X_dense)
    params = dict(solver=solver, hidden_layer_sizes=(5,), learning_rate_init=0.05,
                  batch_size=25, random_state=0)
    fast, sk = estimators("clf", **params)
    dense, _ = estimators("clf", **params)
    for i, rows in enumerate([slice(0, 50), slice(50, 120), slice(None)]):
        extra = {"classes": [0, 1, 2]} if i == 0 else {}
        fit_both(fast, sk, X[rows], y[rows], method="partial_fit", **extra)
        fit_quietly(dense, X_dense[rows], y[rows], method="partial_fit", **extra)
        assert fast.n_iter_ == 1
        assert_same_model(fast, sk, dtype)
        assert_close_models(fast, dense, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_sample_weight_and_early_stopping(dtype):
    X_dense, y = sparse_data("binary", dtype, n_samples=160)
    X = sp.csr_matrix(X_dense)
    sw = make_sample_weight(X.shape[0])
    fast, sk = estimators("clf", solver="adam", early_stopping=True, validation_fraction=0.25,
                          n_iter_no_change=3, learning_rate_init=0.02, hidden_layer_sizes=(6,),
                          max_iter=40, random_state=0)
    fit_both(fast, sk, X, y, sample_weight=sw)
    assert_same_model(fast, sk, dtype)
    assert_same_predictions(fast, sk, X, dtype)


def test_predict_sparse_with_a_dense_fitted_model():
    X_dense, y = sparse_data("regression")
    est = fit_quietly(fastmlp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0),
                      X_dense, y)
    for fmt in ("csr", "csc", "coo"):
        np.testing.assert_allclose(est.predict(FORMATS[fmt](X_dense)), est.predict(X_dense),
                                   rtol=1e-12, atol=1e-12)


def test_unsorted_indices_and_duplicates():
    # a CSR matrix with shuffled column indices in each row and duplicated entries
    # (which SciPy sums) is the same matrix: the same fit
    X_dense, y = sparse_data("regression", n_features=12, density=0.4)
    canonical = sp.csr_matrix(X_dense)
    rng = np.random.RandomState(0)
    data, indices = [], []
    for i in range(canonical.shape[0]):
        row = canonical.getrow(i)
        cols, vals = row.indices.copy(), row.data.copy()
        if len(cols):                           # split the first entry in two halves
            cols = np.append(cols, cols[0])
            vals = np.append(vals, vals[0] / 2)
            vals[0] /= 2
        order = rng.permutation(len(cols))
        data.append(vals[order])
        indices.append(cols[order])
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in indices])])
    messy = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                          shape=canonical.shape)
    assert not messy.has_canonical_format
    np.testing.assert_allclose(messy.toarray(), X_dense, rtol=1e-15)

    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    a = fit_quietly(fastmlp.MLPRegressor(**params), messy, y)
    b = fit_quietly(fastmlp.MLPRegressor(**params), canonical, y)
    assert_close_models(a, b, np.float64)
    np.testing.assert_allclose(a.predict(messy), b.predict(canonical), rtol=1e-9)


def test_sparse_error_messages():
    X_dense, y = sparse_data("regression")
    fast, sk = estimators("reg", hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    fit_both(fast, sk, sp.csr_matrix(X_dense), y)
    # wrong number of features, in sparse form
    bad = sp.csr_matrix(X_dense[:, :5])
    assert_same_error(lambda: fast.predict(bad), lambda: sk.predict(bad))
    # NaN stored in a sparse matrix
    nan = sp.csr_matrix(X_dense)
    nan.data[0] = np.nan
    assert_same_error(lambda: fast.fit(nan, y), lambda: sk.fit(nan, y))


# -- no densification ------------------------------------------------------------------

N_ROWS, N_FEATURES, DENSITY = 50_000, 2_000, 1e-3       # dense float64: 800 MB


@pytest.fixture(scope="module")
def large_sparse():
    X = sp.random(N_ROWS, N_FEATURES, density=DENSITY, format="csr", dtype=np.float64,
                  random_state=0)
    y = np.asarray(X.sum(axis=1)).ravel() + np.random.RandomState(0).standard_normal(N_ROWS)
    return X, y


def peak_memory(fn):
    """Peak bytes allocated (as traced by tracemalloc, NumPy's buffers included) while
    fn() runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_large_sparse_fit_is_not_densified(large_sparse, fmt):
    X, y = large_sparse
    X = X.asformat(fmt)
    dense_bytes = N_ROWS * N_FEATURES * 8
    est = fastmlp.MLPRegressor(solver="sgd", hidden_layer_sizes=(8,), max_iter=2,
                               learning_rate_init=1e-3, random_state=0)
    peak = peak_memory(lambda: fit_quietly(est, X, y))
    assert peak < dense_bytes / 20, f"fit peaked at {peak / 1e6:.0f} MB"
    assert est.n_iter_ == 2
    peak = peak_memory(lambda: est.predict(X))
    assert peak < dense_bytes / 20, f"predict peaked at {peak / 1e6:.0f} MB"


def test_large_sparse_partial_fit_and_lbfgs_are_not_densified(large_sparse):
    X, y = large_sparse
    dense_bytes = N_ROWS * N_FEATURES * 8
    est = fastmlp.MLPRegressor(solver="adam", hidden_layer_sizes=(8,), random_state=0)
    assert peak_memory(lambda: est.partial_fit(X, y)) < dense_bytes / 20
    est = fastmlp.MLPRegressor(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=3,
                               random_state=0)
    assert peak_memory(lambda: fit_quietly(est, X, y)) < dense_bytes / 20
