"""MLPClassifier's class_weight: a sample's weight is its class's weight times its
sample_weight, so a fit with class_weight is scikit-learn's MLPClassifier fitted
with those sample weights. "balanced" is LogisticRegression's (counts weighted by
sample_weight); multilabel targets take a list of dicts or "balanced", as
scikit-learn's multi-output classifiers do; partial_fit refuses "balanced" with
SGDClassifier's error."""
import numpy as np
import pytest
import sklearn.neural_network as skn
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

import fastmlp
from _helpers import (
    assert_same_error,
    assert_same_model,
    fit_quietly,
    make_data,
    make_sample_weight,
)

PARAMS = dict(hidden_layer_sizes=(5,), max_iter=8, random_state=0, learning_rate_init=0.01)


def _imbalanced(task):
    X, y = make_data(task, n_samples=150)
    if task != "multilabel":
        keep = (y != 0) | (np.arange(len(y)) % 3 == 0)    # class 0 made rare
        X, y = X[keep], y[keep]
    return X, y


def assert_fits_as_sample_weight(class_weight, X, y, expected_weight, sample_weight=None,
                                 solver="adam"):
    params = dict(PARAMS, solver=solver)
    ours = fit_quietly(fastmlp.MLPClassifier(**params, class_weight=class_weight), X, y,
                       sample_weight=sample_weight)
    theirs = fit_quietly(skn.MLPClassifier(**params), X, y, sample_weight=expected_weight)
    assert_same_model(ours, theirs, X.dtype)
    # and bit for bit what fastmlp fits with those weights
    same = fit_quietly(fastmlp.MLPClassifier(**params), X, y, sample_weight=expected_weight)
    for a, b in zip(ours.coefs_ + ours.intercepts_, same.coefs_ + same.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_balanced_is_the_balanced_sample_weight(task, solver):
    X, y = _imbalanced(task)
    assert_fits_as_sample_weight("balanced", X, y, compute_sample_weight("balanced", y),
                                 solver=solver)


def test_balanced_counts_are_weighted_as_logistic_regression_weighs_them():
    X, y = _imbalanced("multiclass")
    sw = make_sample_weight(len(y))
    classes = np.unique(y)
    expected = compute_class_weight("balanced", classes=classes, y=y,
                                    sample_weight=sw)[np.searchsorted(classes, y)] * sw
    # the definition is LogisticRegression's ...
    lr_balanced = LogisticRegression().set_params(class_weight="balanced")
    lr_balanced.fit(X, y, sample_weight=sw)
    lr_weighted = LogisticRegression().fit(X, y, sample_weight=expected)
    np.testing.assert_allclose(lr_balanced.coef_, lr_weighted.coef_, rtol=1e-6)
    # ... and the MLP trains on it
    assert_fits_as_sample_weight("balanced", X, y, expected, sample_weight=sw)


def test_dict_times_sample_weight_with_string_labels():
    X, y = _imbalanced("multiclass")
    labels = np.array(["ant", "bee", "cat"])[y]
    sw = make_sample_weight(len(y))
    class_weight = {"ant": 4.0, "cat": 0.5}      # "bee" keeps weight one
    expected = np.array([4.0, 1.0, 0.5])[y] * sw
    assert_fits_as_sample_weight(class_weight, X, labels, expected, sample_weight=sw)


def test_multilabel_list_of_dicts_is_scikit_learns_multi_output_definition():
    X, y = _imbalanced("multilabel")
    class_weight = [{0: 1.0, 1: 3.0}, {0: 0.5, 1: 1.0}, {0: 1.0, 1: 2.0}]
    assert_fits_as_sample_weight(class_weight, X, y,
                                 compute_sample_weight(class_weight, y))


def test_multilabel_refuses_a_single_dict():
    X, y = make_data("multilabel")
    with pytest.raises(ValueError, match="For multi-output, class_weight should be a list "
                                         "of dicts, or the string 'balanced'."):
        fastmlp.MLPClassifier(class_weight={0: 1, 1: 2}).fit(X, y)
    with pytest.raises(ValueError, match="number of elements in class_weight should match"):
        fastmlp.MLPClassifier(class_weight=[{0: 1, 1: 2}]).fit(X, y)


def test_partial_fit_with_a_dict_weighs_each_batch():
    # a batch need not hold every class
    X, y = make_data("multiclass")
    class_weight = {0: 2.0, 1: 0.5, 2: 1.0}
    batches = [np.flatnonzero(y != 2)[:50], np.arange(40, 120), np.flatnonzero(y != 0)]
    ours = fastmlp.MLPClassifier(**PARAMS, class_weight=class_weight)
    theirs = skn.MLPClassifier(**PARAMS)
    for rows in batches:
        ours.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        theirs.partial_fit(X[rows], y[rows], classes=[0, 1, 2],
                           sample_weight=np.array([2.0, 0.5, 1.0])[y[rows]])
    assert_same_model(ours, theirs, np.float64)


def test_partial_fit_refuses_balanced_as_sgd_classifier_does():
    X, y = make_data("binary")
    assert_same_error(
        lambda: fastmlp.MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1]),
        lambda: SGDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1]))
    est = fit_quietly(fastmlp.MLPClassifier(class_weight="balanced", max_iter=2), X, y)
    with pytest.raises(ValueError, match="class_weight 'balanced' is not supported for "
                                         "partial_fit"):
        est.partial_fit(X, y)


def test_a_class_whose_samples_all_weigh_zero_does_not_train():
    X, y = make_data("multiclass")
    sw = (y != 2).astype(float)
    ours = fit_quietly(fastmlp.MLPClassifier(**PARAMS, class_weight="balanced"), X, y,
                       sample_weight=sw)
    assert all(np.isfinite(c).all() for c in ours.coefs_)
    # n_samples / (n_classes * count), over the weighted counts: class 2 counts 0
    counts = np.bincount(y, weights=sw, minlength=3)
    expected = np.zeros(len(y))
    expected[y != 2] = counts.sum() / (3 * counts[y[y != 2]])
    theirs = fit_quietly(skn.MLPClassifier(**PARAMS), X, y, sample_weight=expected)
    assert_same_model(ours, theirs, np.float64)


def test_class_weight_is_validated_as_a_parameter():
    X, y = make_data("binary")
    with pytest.raises(InvalidParameterError, match="The 'class_weight' parameter of "
                                                    "MLPClassifier must be"):
        fastmlp.MLPClassifier(class_weight="auto").fit(X, y)
    assert "class_weight" not in fastmlp.MLPRegressor().get_params()
