"""fastmlp: scikit-learn's MLPClassifier and MLPRegressor with a compiled core."""
from ._display import LossCurveDisplay
from ._mlp import MLPClassifier, MLPRegressor
from ._persistence import InconsistentVersionWarning

__all__ = ["InconsistentVersionWarning", "LossCurveDisplay", "MLPClassifier", "MLPRegressor"]
__version__ = "0.1.0"
