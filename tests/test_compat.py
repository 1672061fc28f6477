"""fastmlp follows the scikit-learn installed: what a release lacks, fastmlp lacks
too, and what it has, fastmlp has (fastmlp/_compat.py decides, in one place)."""
import importlib.util

import numpy as np
import pytest
import sklearn
import sklearn.neural_network as sk
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.fixes import parse_version

import fastmlp
from fastmlp._compat import HAS_CALLBACKS, SCORES_STRING_LABELS, SKLEARN_VERSION
from fastmlp._mlp import fitted_label_binarizer, integer_classes


def test_the_version_is_the_installed_one_and_supported():
    assert SKLEARN_VERSION == parse_version(parse_version(sklearn.__version__).base_version)
    assert parse_version("1.7.1") <= SKLEARN_VERSION < parse_version("1.10")


def test_callbacks_exactly_when_scikit_learn_has_them():
    has_protocol = importlib.util.find_spec("sklearn.callback") is not None
    assert HAS_CALLBACKS == has_protocol == (SKLEARN_VERSION >= parse_version("1.9"))
    for kind in ("MLPClassifier", "MLPRegressor"):
        assert hasattr(getattr(fastmlp, kind)(), "set_callbacks") == HAS_CALLBACKS


def test_the_parameters_of_the_installed_mlp():
    # every parameter of the installed scikit-learn's MLP, with its default
    for kind in ("MLPClassifier", "MLPRegressor"):
        theirs, ours = getattr(sk, kind)().get_params(), getattr(fastmlp, kind)().get_params()
        assert {k: ours[k] for k in theirs} == theirs


def test_string_labels_scored_from_1_9():
    assert SCORES_STRING_LABELS == (SKLEARN_VERSION >= parse_version("1.9"))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("labels", [[5], [0, 1], [-3, 7], [2, 0, 1], list(range(-4, 40, 3))])
def test_label_binarizer_without_its_checks_is_the_fitted_one(dtype, labels):
    """What fastmlp sets on a LabelBinarizer for integer targets (instead of its fit,
    whose checks cost ~1 ms) is what the installed scikit-learn's fit sets."""
    if np.dtype(dtype).kind == "u":
        labels = [v - min(labels) for v in labels]
    rng = np.random.default_rng(len(labels))
    y = np.asarray(labels)[rng.integers(0, len(labels), 500)].astype(dtype)
    y[:len(labels)] = labels          # every class present
    ours, theirs = fitted_label_binarizer(y), LabelBinarizer().fit(y)
    assert vars(ours).keys() == vars(theirs).keys()
    for name, value in vars(theirs).items():
        assert type(getattr(ours, name)) is type(value)
        if isinstance(value, np.ndarray):
            assert getattr(ours, name).dtype == value.dtype
        np.testing.assert_array_equal(getattr(ours, name), value)
    np.testing.assert_array_equal(ours.transform(y), theirs.transform(y))


@pytest.mark.parametrize("y", [np.array([0, 10**6]), np.array([True, False, True]),
                               np.array([0.0, 1.0]), np.array(["a", "b"]),
                               np.array([[0, 1], [1, 0]]), np.array([2**63], dtype=np.uint64)])
def test_other_targets_take_the_label_binarizers_own_fit(y):
    assert integer_classes(y) is None
    np.testing.assert_array_equal(fitted_label_binarizer(y).classes_,
                                  LabelBinarizer().fit(y).classes_)
