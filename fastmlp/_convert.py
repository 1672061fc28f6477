"""Conversion between fastmlp's estimators and scikit-learn's.

The converted estimator has the same parameters, weights and fitted attributes,
and the optimizer's state (SGD velocities and learning rate, Adam's moments and
step count), so that partial_fit or a warm start continues on the other side as
it would have on this one. Nothing is shared: arrays, the label binarizer and a
RandomState are copied (a RandomState given as random_state stays the same
object as the model's _random_state, as in the original).
"""
import copy
import warnings

import numpy as np
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from ._core._updates import Solver
from ._optimizers import SGD, Adam

# private fitted attributes that both sides keep under the same name and meaning
_SHARED_PRIVATE = ("_label_binarizer", "_no_improvement_count", "_random_state")


def split_params(est, params):
    """coefs_ and intercepts_ as views of the flat buffer `params`, packed as
    the estimator packs them (every W.ravel(), then every intercept)."""
    layout = est._layout(1)
    coefs = [params[a:b].reshape(shape) for a, b, shape in layout.coef_slices()]
    return coefs, [params[a:b] for a, b in layout.intercept_slices()]


def _pack(arrays, dtype):
    return np.concatenate([a.ravel() for a in arrays]).astype(dtype, copy=False)


def _copied(src, dst_class, memo, drop=()):
    """An unfitted `dst_class` with copies of src's parameters, and copies of the
    fitted attributes the two classes share: every public one and a few private."""
    params = {k: copy.deepcopy(v, memo) for k, v in src.get_params(deep=False).items()
              if k not in drop}
    dst = dst_class(**params)
    vars(dst).update({k: copy.deepcopy(v, memo) for k, v in vars(src).items()
                      if (k.endswith("_") and not k.startswith("_")) or k in _SHARED_PRIVATE})
    return dst


def to_sklearn(est, sk_class):
    """est as scikit-learn's `sk_class`, fitted the same (see the module)."""
    if getattr(est, "class_weight", None) is not None:
        warnings.warn(
            "scikit-learn's %s has no class_weight: the converted model predicts the "
            "same, but its further fits will not weigh classes." % sk_class.__name__,
            UserWarning,
        )
    sk = _copied(est, sk_class, {}, drop=("class_weight",))
    if not est._has_network():     # unfitted, or its last fit raised: as it is
        return sk
    best = getattr(est, "_best_params", None)
    if best is None:
        # restored best weights: scikit-learn's best and current are the same lists
        sk._best_coefs, sk._best_intercepts = sk.coefs_, sk.intercepts_
    else:
        sk._best_coefs, sk._best_intercepts = split_params(est, best.copy())
    optimizer = getattr(est, "_optimizer", None)
    if optimizer is not None:
        sk._optimizer = _to_sklearn_optimizer(est, sk, optimizer)
    return sk


def _to_sklearn_optimizer(est, sk, opt):
    params = sk.coefs_ + sk.intercepts_
    if opt.kind == Solver.SGD:
        sk_opt = SGDOptimizer(params, opt.learning_rate_init, opt.lr_schedule, opt.momentum,
                              opt.nesterov, opt.power_t)
        sk_opt.learning_rate = opt.learning_rate
        coefs, intercepts = split_params(est, opt.state1.copy())
        sk_opt.velocities = coefs + intercepts
        return sk_opt
    sk_opt = AdamOptimizer(params, opt.learning_rate_init, opt.beta_1, opt.beta_2,
                           opt.epsilon)
    sk_opt.t = opt.t
    coefs, intercepts = split_params(est, opt.state1.copy())
    sk_opt.ms = coefs + intercepts
    coefs, intercepts = split_params(est, opt.state2.copy())
    sk_opt.vs = coefs + intercepts
    if opt.t:   # the step size scikit-learn's last update left behind
        sk_opt.learning_rate = (sk_opt.learning_rate_init * np.sqrt(1 - sk_opt.beta_2**sk_opt.t)
                                / (1 - sk_opt.beta_1**sk_opt.t))
    return sk_opt


def from_sklearn(cls, sk, sk_class):
    """scikit-learn's fitted (or unfitted) `sk` as fastmlp's `cls`."""
    if not isinstance(sk, sk_class):
        raise TypeError(
            f"{cls.__name__}.from_sklearn takes scikit-learn's {sk_class.__name__}, "
            f"got {type(sk).__name__}."
        )
    est = _copied(sk, cls, {})
    if not est._has_network():     # unfitted, or its last fit raised: as it is
        return est
    dtype = est.coefs_[0].dtype
    est._set_params_buffer(_pack(est.coefs_ + est.intercepts_, dtype))
    best = getattr(sk, "_best_coefs", None)
    if best is None or best is sk.coefs_:
        est._best_params = None
    else:
        est._best_params = _pack(best + sk._best_intercepts, best[0].dtype)
    sk_opt = getattr(sk, "_optimizer", None)
    if sk_opt is not None:
        est._optimizer = _from_sklearn_optimizer(sk_opt, est._packed_params().shape[0], dtype)
    return est


def _from_sklearn_optimizer(sk_opt, n_params, dtype):
    if isinstance(sk_opt, SGDOptimizer):
        opt = SGD(n_params, dtype, sk_opt.learning_rate_init, sk_opt.lr_schedule,
                  sk_opt.momentum, sk_opt.nesterov, sk_opt.power_t)
        opt.learning_rate = float(sk_opt.learning_rate)
        opt.state1[:] = _pack(sk_opt.velocities, dtype)
        return opt
    opt = Adam(n_params, dtype, sk_opt.learning_rate_init, sk_opt.beta_1, sk_opt.beta_2,
               sk_opt.epsilon)
    opt.t = sk_opt.t
    opt.state1[:] = _pack(sk_opt.ms, dtype)
    opt.state2[:] = _pack(sk_opt.vs, dtype)
    return opt
