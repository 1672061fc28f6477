"""What differs between the scikit-learn releases fastmlp supports, in one place.

fastmlp follows the scikit-learn installed: where a release lacks what a newer one
has, fastmlp lacks it too, as that release's own MLP does.
"""
import sklearn
from sklearn.utils.fixes import parse_version

SKLEARN_VERSION = parse_version(parse_version(sklearn.__version__).base_version)

# The callback protocol (sklearn.callback: set_callbacks, ProgressBar,
# ScoringMonitor) is scikit-learn 1.9's; before it, no estimator has callbacks.
HAS_CALLBACKS = SKLEARN_VERSION >= parse_version("1.9")
if HAS_CALLBACKS:
    from sklearn.callback import CallbackSupportMixin
else:
    class CallbackSupportMixin:
        """scikit-learn < 1.9: no callback protocol, so no set_callbacks."""

# Early stopping scores string class labels from scikit-learn 1.9 on; before it,
# the validation score's np.isnan check raises TypeError on them. fastmlp scores
# them with every version (doc/user_guide/differences.rst).
SCORES_STRING_LABELS = SKLEARN_VERSION >= parse_version("1.9")
