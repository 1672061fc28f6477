"""Activation and loss registries: names as scikit-learn spells them -> the core's codes.

The formulas themselves, each forward beside its derivative, are in
``fastmlp/_core/_kernels.pxd``.
"""
from ._core._kernels import Activation, Loss

#: Hidden-layer activations (the ``activation`` parameter).
HIDDEN_ACTIVATIONS = {
    "identity": Activation.IDENTITY,
    "logistic": Activation.LOGISTIC,
    "tanh": Activation.TANH,
    "relu": Activation.RELU,
}

#: Output activations (the ``out_activation_`` attribute).
OUTPUT_ACTIVATIONS = {
    "identity": Activation.IDENTITY,
    "logistic": Activation.LOGISTIC,
    "softmax": Activation.SOFTMAX,
    "exp": Activation.EXP,
}

#: Each output activation with the loss whose canonical link it is: the pairs for
#: which the output delta is simply (output - target).
LOSS_OF_OUTPUT = {
    "identity": Loss.SQUARED_ERROR,
    "softmax": Loss.LOG_LOSS,
    "logistic": Loss.BINARY_LOG_LOSS,
    "exp": Loss.POISSON,
}

#: Regression losses (the ``loss`` parameter of MLPRegressor) -> output activation.
REGRESSION_OUTPUTS = {"squared_error": "identity", "poisson": "exp"}


def glorot_factor(activation):
    """Factor of Glorot's uniform bound sqrt(factor / (fan_in + fan_out))."""
    return 2.0 if activation == "logistic" else 6.0
