"""Every parameter is documented: the Parameters section of each public class's
docstring, parsed by numpydoc as the documentation renders it, names exactly the
estimator's get_params() keys (the display's constructor arguments), in the
signature's order, each with a type and a description."""
import inspect

import pytest
from numpydoc.docscrape import ClassDoc

from fastmlp import LossCurveDisplay, MLPClassifier, MLPRegressor


def documented_parameters(cls):
    return ClassDoc(cls)["Parameters"]


def signature_names(cls):
    return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_estimator_parameters_documented(Estimator):
    names = [p.name for p in documented_parameters(Estimator)]
    assert sorted(names) == sorted(Estimator().get_params())
    assert names == signature_names(Estimator)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, LossCurveDisplay])
def test_each_parameter_has_a_type_and_a_description(cls):
    for param in documented_parameters(cls):
        assert param.type.strip() and "".join(param.desc).strip(), param.name


def test_display_parameters_documented():
    names = [p.name for p in documented_parameters(LossCurveDisplay)]
    assert names == signature_names(LossCurveDisplay)
