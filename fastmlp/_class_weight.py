"""MLPClassifier's class_weight, as scikit-learn's classifiers define it.

Each sample's weight is its class's weight times its sample_weight. "balanced"
gives class c the weight n_samples / (n_classes * count(c)), counts weighted by
sample_weight, as LogisticRegression computes it (so integer sample weights still
mean repeated rows). A multilabel target takes, as scikit-learn's multi-output
classifiers do, "balanced" or a list of one dict per label ({0: w0, 1: w1}),
and the weights of a sample's labels are multiplied.
"""
import numpy as np
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

# SGDClassifier's message: the class counts of one batch are not the data's
_PARTIAL_FIT_BALANCED = (
    "class_weight '{0}' is not supported for "
    "partial_fit. In order to use 'balanced' weights,"
    " use compute_class_weight('{0}', "
    "classes=classes, y=y). "
    "In place of y you can use a large enough sample "
    "of the full training set target to properly "
    "estimate the class frequency distributions. "
    "Pass the resulting weights as the class_weight "
    "parameter."
)


def class_labels(est, Y):
    """The labels of binarized targets Y: a class label per sample, or for a
    multilabel target the 0/1 indicator matrix."""
    if est._label_binarizer.y_type_.startswith("multilabel"):
        return Y.astype(np.int64)
    if Y.shape[1] > 1:      # multiclass: one-hot rows
        return est.classes_[np.argmax(Y, axis=1)]
    if len(est.classes_) == 1:
        return np.repeat(est.classes_, Y.shape[0])
    return est.classes_[Y[:, 0].astype(np.intp)]


def check_partial_fit_class_weight(est):
    """partial_fit takes no "balanced" class weights: SGDClassifier's error."""
    if est.class_weight == "balanced":
        raise ValueError(_PARTIAL_FIT_BALANCED.format(est.class_weight))


def weigh_classes(est, Y, sample_weight, dtype):
    """sample_weight times the class weights of the samples' classes (float
    `dtype`), or sample_weight itself without class_weight.

    Y is the binarized target of shape (n_samples, n_outputs)."""
    class_weight = getattr(est, "class_weight", None)
    if class_weight is None:
        return sample_weight
    labels = class_labels(est, Y)
    if class_weight == "balanced":
        columns = labels.reshape(labels.shape[0], -1)
        weights = np.ones(columns.shape[0])
        for column in columns.T:
            classes, index = np.unique(column, return_inverse=True)
            with np.errstate(divide="ignore"):   # a class whose samples all weigh 0
                weights *= compute_class_weight(
                    "balanced", classes=classes, y=column, sample_weight=sample_weight)[index]
        if sample_weight is not None:
            # such a class's infinite weight times 0 is 0: it does not train
            weights[sample_weight == 0] = 0.0
    elif labels.ndim == 1 and isinstance(class_weight, dict):
        # every class of the fit, so that a batch of partial_fit need not hold them all
        index = np.searchsorted(est.classes_, labels)
        weights = compute_class_weight(class_weight, classes=est.classes_, y=labels)[index]
    else:
        # a list of dicts, and a dict for a multilabel target: scikit-learn's checks
        # and messages
        weights = compute_sample_weight(class_weight, labels)
    if sample_weight is not None:
        weights = weights * sample_weight
    return weights.astype(dtype, copy=False)
