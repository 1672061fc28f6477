"""State of the stochastic optimizers: SGD (momentum, Nesterov, schedules) and Adam.

The per-batch updates run in the compiled core (``_core/_updates.pyx``) on one
flat parameter buffer; what happens once per epoch (learning-rate schedules,
the decision to stop) lives here, as in scikit-learn's
``_stochastic_optimizers.py``.
"""
import numpy as np

from ._core._updates import Solver


class SGD:
    """Stochastic gradient descent with classical or Nesterov momentum.

    Parameters
    ----------
    n_params : int
    dtype : numpy dtype of the parameters
    learning_rate_init : float
    lr_schedule : {'constant', 'invscaling', 'adaptive'}
    momentum : float
    nesterov : bool
    power_t : float
    """

    kind = Solver.SGD
    beta_1 = beta_2 = epsilon = 0.0
    t = 0

    def __init__(self, n_params, dtype, learning_rate_init=0.1, lr_schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.state1 = np.zeros(n_params, dtype=dtype)   # velocity
        self.state2 = np.zeros(0, dtype=dtype)          # unused

    def iteration_ends(self, time_step):
        """After each epoch: invscaling sets lr = lr_init / (t + 1) ** power_t."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """On a plateau: stop, or (adaptive) divide the learning rate by 5."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class Adam:
    """Adam (Kingma and Ba, 2014) as scikit-learn computes it: epsilon is added to
    the uncorrected sqrt(v) and the bias corrections are folded into the step size.

    ``learning_rate`` is the base rate; the core advances ``t`` once per batch.
    """

    kind = Solver.ADAM
    momentum = 0.0
    nesterov = False

    def __init__(self, n_params, dtype, learning_rate_init=0.001, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.state1 = np.zeros(n_params, dtype=dtype)   # first moment m
        self.state2 = np.zeros(n_params, dtype=dtype)   # second moment v

    def iteration_ends(self, time_step):
        """Adam ignores learning-rate schedules."""

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def optimizer_state(optimizer):
    """The optimizer as plain data (numbers, strings and arrays in a dict), which a
    pickle stores without naming a class of fastmlp's."""
    solver = next(name for name, cls in OPTIMIZERS.items() if type(optimizer) is cls)
    return {"solver": solver, **vars(optimizer)}


def optimizer_from_state(state):
    """The optimizer optimizer_state(optimizer) describes, in the same state."""
    state = dict(state)
    cls = OPTIMIZERS[state.pop("solver")]
    optimizer = cls.__new__(cls)
    optimizer.__dict__.update(state)
    return optimizer


def make_optimizer(est, n_params, dtype):
    """The optimizer an estimator's parameters ask for."""
    if est.solver == "sgd":
        return SGD(n_params, dtype, est.learning_rate_init, est.learning_rate,
                   est.momentum, est.nesterovs_momentum, est.power_t)
    return Adam(n_params, dtype, est.learning_rate_init, est.beta_1, est.beta_2,
                est.epsilon)
