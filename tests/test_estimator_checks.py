"""scikit-learn's own API conformance checks on both estimators.

scikit-learn marks none of these checks as expected to fail for its MLPs
(``sklearn.utils._test_common.instance_generator._get_expected_failed_checks``
returns {} for both), so neither do we.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
