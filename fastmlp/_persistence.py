"""What a pickled estimator carries besides its attributes: the fastmlp and
scikit-learn versions that wrote it, checked on loading as scikit-learn checks its
own (fastmlp follows the scikit-learn installed, so both matter)."""
import warnings

import sklearn
from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning


class InconsistentVersionWarning(_SklearnVersionWarning):
    """Warning raised when an estimator is unpickled with a fastmlp version other
    than the one that pickled it.

    A subclass of scikit-learn's ``InconsistentVersionWarning``, so a filter on
    scikit-learn's warning applies to fastmlp's too. A model pickled with another
    scikit-learn version warns with scikit-learn's own warning. See
    :ref:`persistence`.

    Parameters
    ----------
    estimator_name : str
        Estimator name.
    current_fastmlp_version : str
        Current fastmlp version.
    original_fastmlp_version : str
        Original fastmlp version, that of the pickle ("unknown" where it has
        none).

    Attributes
    ----------
    estimator_name : str
        Estimator name.
    current_fastmlp_version : str
        Current fastmlp version.
    original_fastmlp_version : str
        Original fastmlp version.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import InconsistentVersionWarning as SklearnWarning
    >>> from fastmlp import InconsistentVersionWarning
    >>> issubclass(InconsistentVersionWarning, SklearnWarning)
    True
    >>> warning = InconsistentVersionWarning(estimator_name="MLPClassifier",
    ...                                      current_fastmlp_version="0.2.0",
    ...                                      original_fastmlp_version="0.1.0")
    >>> print(str(warning).splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    Trying to unpickle estimator MLPClassifier from fastmlp version 0.1.0 when
    using fastmlp version 0.2.0. This might lead to breaking code or invalid
    results. Use at your own risk. For more info please refer to:

    To make loading a model of another version an error:

    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     # model = joblib.load("model.joblib")
    """

    def __init__(self, *, estimator_name, current_fastmlp_version, original_fastmlp_version):
        self.estimator_name = estimator_name
        self.current_fastmlp_version = current_fastmlp_version
        self.original_fastmlp_version = original_fastmlp_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from fastmlp version"
            f" {self.original_fastmlp_version} when using fastmlp version"
            f" {self.current_fastmlp_version}. This might lead to breaking code or"
            " invalid results. Use at your own risk. For more info please refer to:\n"
            "https://scikit-learn.org/stable/model_persistence.html"
            "#security-maintainability-limitations"
        )


def _running_versions():
    """{state key: (version running now, warning class, its library's name)}"""
    import fastmlp      # the package is initialised by the time anything is pickled

    return {
        "_fastmlp_version": (fastmlp.__version__, InconsistentVersionWarning, "fastmlp"),
        "_sklearn_version": (sklearn.__version__, _SklearnVersionWarning, "sklearn"),
    }


def stamp(state):
    """Record the running fastmlp and scikit-learn versions in a pickled state."""
    state.update({key: v[0] for key, v in _running_versions().items()})
    return state


def check_versions(estimator_name, state):
    """Remove the versions from an unpickled state, warning for each that is not
    the running one's. A state without them predates the stamp."""
    for key, (current, warning, library) in _running_versions().items():
        original = state.pop(key, "unknown")
        if original != current:
            warnings.warn(warning(**{
                "estimator_name": estimator_name,
                f"current_{library}_version": current,
                f"original_{library}_version": original,
            }))
