"""scikit-learn's own API conformance checks on both estimators.

scikit-learn marks none of these checks as expected to fail for its MLPs
(``sklearn.utils._test_common.instance_generator._get_expected_failed_checks``
returns {} for both), so neither do we. With ``class_weight`` among its
parameters, the classifier also meets scikit-learn's class-weight check
(``check_class_weight_classifiers``).

The checks run again on ``MLPClassifier(class_weight="balanced")``. Three of them
call ``partial_fit``, which refuses "balanced" weights with SGDClassifier's error
(one batch's class counts are not the data's; tests/test_class_weight.py checks
the error): they are expected to fail there, strictly, so that they are known to
fail for that reason alone.
"""
import inspect

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor

_PARTIAL_FIT_CHECKS = ("check_fit_score_takes_y", "check_n_features_in_after_fitting",
                       "check_estimators_partial_fit_n_features")


def _expected_failed_checks(estimator):
    if getattr(estimator, "class_weight", None) == "balanced":
        return {name: "partial_fit refuses class_weight='balanced', as SGDClassifier does"
                for name in _PARTIAL_FIT_CHECKS}
    return {}


# strict where scikit-learn can be asked to be (1.8 on); 1.7's expected failures
# pass or fail freely
_STRICT = ({"xfail_strict": True}
           if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor(),
                          MLPClassifier(class_weight="balanced")],
                         expected_failed_checks=_expected_failed_checks, **_STRICT)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
