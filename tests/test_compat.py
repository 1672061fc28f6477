"""fastmlp follows the scikit-learn installed: what a release lacks, fastmlp lacks
too, and what it has, fastmlp has (fastmlp/_compat.py decides, in one place)."""
import importlib.util

import sklearn
import sklearn.neural_network as sk
from sklearn.utils.fixes import parse_version

import fastmlp
from fastmlp._compat import HAS_CALLBACKS, SCORES_STRING_LABELS, SKLEARN_VERSION


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
