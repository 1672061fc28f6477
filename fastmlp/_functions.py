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

#: Losses as scikit-learn's LOSS_FUNCTIONS names them -> the core's codes.
LOSSES = {
    "squared_error": Loss.SQUARED_ERROR,
    "log_loss": Loss.LOG_LOSS,
    "binary_log_loss": Loss.BINARY_LOG_LOSS,
    "poisson": Loss.POISSON,
}


def loss_code(loss, out_activation):
    """The loss scikit-learn computes for the `loss` parameter as it is now and the
    output activation chosen by the first fit (a warm fit may pair them otherwise):
    log_loss with a logistic output is the binary log-loss."""
    if loss == "log_loss" and out_activation == "logistic":
        loss = "binary_log_loss"
    return LOSSES[loss]


def glorot_factor(activation):
    """Factor of Glorot's uniform bound sqrt(factor / (fan_in + fan_out))."""
    return 2.0 if activation == "logistic" else 6.0
