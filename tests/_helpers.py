"""Shared helpers of the parity tests: data, the scikit-learn twin of an estimator,
and assertions comparing a fastmlp model with scikit-learn's.

Tolerances (the issue's contract): relative 1e-6 for float64 and 1e-3 for
float32, with an absolute tolerance scaled to the magnitude of the array compared
(rtol * max|expected|), so that entries near zero are compared at the array's scale.
"""
import contextlib
import io
import pickle
import re
import warnings

import numpy as np
import sklearn.neural_network as skn
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.preprocessing import StandardScaler

import fastmlp

RTOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-3}

#: public attributes whose presence (hasattr) must agree with scikit-learn's
PUBLIC_ATTRIBUTES = (
    "coefs_", "intercepts_", "n_iter_", "loss_", "loss_curve_", "best_loss_", "t_",
    "validation_scores_", "best_validation_score_", "n_layers_", "n_outputs_",
    "out_activation_", "classes_", "n_features_in_",
)


def rtol_for(dtype):
    return RTOL[np.dtype(dtype)]


# -- data ------------------------------------------------------------------------

def make_data(task, dtype=np.float64, n_samples=120, n_features=6, random_state=0):
    """Small standardized data sets: (X, y) for a task among 'binary',
    'multiclass', 'multilabel', 'regression', 'multioutput'."""
    if task == "binary":
        X, y = make_classification(n_samples=n_samples, n_features=n_features,
                                   n_informative=4, n_redundant=0, random_state=random_state)
    elif task == "multiclass":
        X, y = make_classification(n_samples=n_samples, n_features=n_features,
                                   n_informative=4, n_redundant=0, n_classes=3,
                                   random_state=random_state)
    elif task == "multilabel":
        X, y = make_multilabel_classification(n_samples=n_samples, n_features=n_features,
                                              n_classes=3, random_state=random_state)
    elif task == "regression":
        X, y = make_regression(n_samples=n_samples, n_features=n_features, n_informative=4,
                               noise=1.0, random_state=random_state)
        y = y / np.std(y)
    elif task == "multioutput":
        X, y = make_regression(n_samples=n_samples, n_features=n_features, n_informative=4,
                               n_targets=2, noise=1.0, random_state=random_state)
        y = y / np.std(y, axis=0)
    else:
        raise ValueError(task)
    X = StandardScaler().fit_transform(X).astype(dtype)
    return X, y


def make_sample_weight(n_samples, random_state=0):
    """Positive, uneven sample weights."""
    return np.random.RandomState(random_state).uniform(0.2, 3.0, n_samples)


def is_classification(task):
    return task in ("binary", "multiclass", "multilabel")


def estimators(task_or_kind, **params):
    """The pair (fastmlp estimator, scikit-learn estimator) with the same parameters."""
    kind = "clf" if task_or_kind in ("clf", "binary", "multiclass", "multilabel") else "reg"
    if kind == "clf":
        return fastmlp.MLPClassifier(**params), skn.MLPClassifier(**params)
    return fastmlp.MLPRegressor(**params), skn.MLPRegressor(**params)


# -- running both ----------------------------------------------------------------

def capture(fn):
    """Run fn(); return (result or None, exception or None, warnings, stdout)."""
    out = io.StringIO()
    result = error = None
    with warnings.catch_warnings(record=True) as record, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 -- compared with scikit-learn's
            error = exc
    return result, error, record, out.getvalue()


def warning_messages(record, category=Warning):
    """The (category name, message) of each recorded warning of `category`, in order,
    RuntimeWarnings from NumPy's arithmetic left out."""
    return [(w.category.__name__, str(w.message)) for w in record
            if issubclass(w.category, category) and not issubclass(w.category, RuntimeWarning)]


def assert_same_error(fast_fn, sk_fn):
    """fast_fn() raises exactly what sk_fn() raises: same type, same message."""
    _, sk_error, _, _ = capture(sk_fn)
    assert sk_error is not None, "scikit-learn did not raise: the test's input is wrong"
    _, fast_error, _, _ = capture(fast_fn)
    assert fast_error is not None, f"fastmlp did not raise; scikit-learn raised {sk_error!r}"
    assert type(fast_error) is type(sk_error), (fast_error, sk_error)
    assert str(fast_error) == str(sk_error)
    return fast_error


def fit_both(fast, sk, *args, method="fit", **kwargs):
    """Call the same method on both; return their (warnings, stdout) captures and
    assert both succeeded."""
    _, fast_err, fast_rec, fast_out = capture(lambda: getattr(fast, method)(*args, **kwargs))
    _, sk_err, sk_rec, sk_out = capture(lambda: getattr(sk, method)(*args, **kwargs))
    assert sk_err is None, f"scikit-learn raised {sk_err!r}: the test's input is wrong"
    if fast_err is not None:
        raise fast_err
    return (fast_rec, fast_out), (sk_rec, sk_out)


def fit_quietly(est, *args, method="fit", **kwargs):
    """est.method(*args, **kwargs) with warnings silenced; returns est."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(est, method)(*args, **kwargs)
    return est


# -- assertions -------------------------------------------------------------------

def assert_close(actual, desired, dtype, err_msg="", rtol=None):
    """actual == desired to the dtype's relative tolerance, with an absolute
    tolerance scaled to the magnitude of `desired`."""
    rtol = rtol_for(dtype) if rtol is None else rtol
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, (err_msg, actual.shape, desired.shape)
    finite = desired[np.isfinite(desired)]
    scale = np.max(np.abs(finite)) if finite.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * max(scale, 1e-12),
                               err_msg=err_msg)


def assert_same_weights(fast, sk, dtype, rtol=None):
    assert len(fast.coefs_) == len(sk.coefs_)
    assert len(fast.intercepts_) == len(sk.intercepts_)
    for i, (a, b) in enumerate(zip(fast.coefs_, sk.coefs_)):
        assert a.dtype == b.dtype, f"coefs_[{i}] dtype {a.dtype}, scikit-learn's {b.dtype}"
        assert_close(a, b, dtype, f"coefs_[{i}]", rtol)
    for i, (a, b) in enumerate(zip(fast.intercepts_, sk.intercepts_)):
        assert a.dtype == b.dtype, f"intercepts_[{i}] dtype {a.dtype}, scikit-learn's {b.dtype}"
        assert_close(a, b, dtype, f"intercepts_[{i}]", rtol)


def assert_same_model(fast, sk, dtype, rtol=None):
    """The fitted state of `fast` equals scikit-learn's `sk`: weights, attributes,
    loss curve, validation scores."""
    for name in PUBLIC_ATTRIBUTES:
        assert hasattr(fast, name) == hasattr(sk, name), (
            f"hasattr({name}): fastmlp {hasattr(fast, name)}, scikit-learn {hasattr(sk, name)}")
    assert_same_weights(fast, sk, dtype, rtol)
    assert fast.n_iter_ == sk.n_iter_
    assert fast.n_layers_ == sk.n_layers_
    assert fast.n_outputs_ == sk.n_outputs_
    assert fast.out_activation_ == sk.out_activation_
    assert fast.n_features_in_ == sk.n_features_in_
    if hasattr(sk, "classes_"):
        np.testing.assert_array_equal(fast.classes_, sk.classes_)
    assert_close(fast.loss_, sk.loss_, dtype, "loss_", rtol)
    if hasattr(sk, "t_"):
        assert fast.t_ == sk.t_
    if hasattr(sk, "loss_curve_"):
        assert len(fast.loss_curve_) == len(sk.loss_curve_), "len(loss_curve_)"
        assert_close(fast.loss_curve_, sk.loss_curve_, dtype, "loss_curve_", rtol)
    if hasattr(sk, "best_loss_"):
        if sk.best_loss_ is None:
            assert fast.best_loss_ is None
        else:
            assert_close(fast.best_loss_, sk.best_loss_, dtype, "best_loss_", rtol)
    if getattr(sk, "validation_scores_", None) is None:
        assert getattr(fast, "validation_scores_", None) is None
        assert getattr(fast, "best_validation_score_", None) is None
    else:
        assert len(fast.validation_scores_) == len(sk.validation_scores_)
        assert_close(fast.validation_scores_, sk.validation_scores_, dtype,
                     "validation_scores_", rtol)
        assert_close(fast.best_validation_score_, sk.best_validation_score_, dtype,
                     "best_validation_score_", rtol)


def assert_same_predictions(fast, sk, X, dtype, rtol=None):
    """Predictions (and probabilities) on X agree with scikit-learn's."""
    if hasattr(sk, "predict_proba"):
        p_fast, p_sk = fast.predict_proba(X), sk.predict_proba(X)
        assert p_fast.dtype == p_sk.dtype
        assert_close(p_fast, p_sk, dtype, "predict_proba", rtol)
        # labels must agree wherever the decision is not within tolerance of a tie
        labels_fast, labels_sk = fast.predict(X), sk.predict(X)
        assert labels_fast.shape == labels_sk.shape
        tol = 10 * (rtol_for(dtype) if rtol is None else rtol)
        if sk.out_activation_ == "softmax":
            top2 = np.sort(p_sk, axis=1)[:, -2:]
            clear = (top2[:, 1] - top2[:, 0]) > tol
        else:
            # logistic outputs: binary (probabilities of both classes) or multilabel
            margin = np.abs((p_sk[:, 1:] if sk.n_outputs_ == 1 else p_sk) - 0.5)
            clear = np.all(margin > tol, axis=1)
        np.testing.assert_array_equal(labels_fast[clear], labels_sk[clear])
    else:
        pred_fast, pred_sk = fast.predict(X), sk.predict(X)
        assert pred_fast.dtype == pred_sk.dtype
        assert_close(pred_fast, pred_sk, dtype, "predict", rtol)


_ITERATION = re.compile(r"^Iteration (\d+), loss = (\S+)$")


def assert_same_verbose(fast_out, sk_out, dtype):
    """The same lines; the loss printed in 'Iteration' lines compared to the dtype's
    tolerance, every other line (the schedule's messages) word for word."""
    fast_lines, sk_lines = fast_out.splitlines(), sk_out.splitlines()
    assert len(fast_lines) == len(sk_lines), (fast_out, sk_out)
    rtol = 1e-6 if dtype == np.float64 else 1e-3
    for fast_line, sk_line in zip(fast_lines, sk_lines):
        m_sk, m_fast = _ITERATION.match(sk_line), _ITERATION.match(fast_line)
        if m_sk:
            assert m_fast, (fast_line, sk_line)
            assert m_fast.group(1) == m_sk.group(1)
            np.testing.assert_allclose(float(m_fast.group(2)), float(m_sk.group(2)),
                                       rtol=rtol, atol=1e-8)
        else:
            assert fast_line == sk_line


def roundtrip(est):
    return pickle.loads(pickle.dumps(est))
