"""The training loops around the compiled core.

The stochastic loop crosses into compiled code once per epoch; around it, as in
scikit-learn's ``_fit_stochastic``: the shuffle order drawn from the
estimator's RandomState, the early-stopping split and score, ``loss_curve_``,
the stopping rule, warnings and verbose lines. lbfgs runs SciPy's L-BFGS-B on
the compiled full-batch loss and gradient.
"""
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result

from ._core._epoch import run_epoch
from ._core._layout import InputMatrix, Workspace
from ._core._network import loss_grad
from ._optimizers import make_optimizer
from ._threads import blas_single_threaded, fit_policy


def in_place(X):
    """(X, True) where the core can read X in place: CSR, or dense rows packed in C
    order, then with the packed strides (NumPy calls an array C-contiguous whatever
    the stride of a length-1 dimension: x[:, None], one row of a wider array);
    (X, False) where the core must gather its rows."""
    if sp.issparse(X):
        return X, True
    if not X.flags.c_contiguous:
        return X, False
    if X.strides != (X.shape[1] * X.itemsize, X.itemsize):
        X = X.reshape(-1).reshape(X.shape)      # a view: C order allows it
    return X, True


def batch_size_for(est, n_samples):
    """scikit-learn's rule: 'auto' is min(200, n); an explicit size is clipped."""
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped"
        )
    return int(np.clip(est.batch_size, 1, n_samples))


def core_weights(sample_weight, dtype):
    """The sample weights as the core takes them, in the dtype it trains in, and the
    factor alpha is to be scaled by with them.

    scikit-learn keeps the weights in float64. Every loss and gradient is a ratio,
    (sum_i w_i l_i + alpha ...) / sum_i w_i, which scaling the weights and alpha by
    a power of two leaves as it is, bit for bit; so float32 weights whose largest is
    beyond 2**+-32 are scaled to below 1 first, where float32 would overflow (or
    underflow) weights that scikit-learn's float64 takes."""
    if sample_weight is None:
        return None, 1.0
    scale = 1.0
    largest = np.max(np.abs(sample_weight))
    if dtype == np.float32 and largest > 0 and not 2.0 ** -32 <= largest <= 2.0 ** 32:
        scale = 2.0 ** -int(np.frexp(largest)[1])
    return (sample_weight * scale).astype(dtype), scale


def check_batch_weights(weights, batch_size):
    """Raise scikit-learn's error where the weights of a batch (each `batch_size`
    consecutive entries of `weights`) sum to zero: it averages a batch's loss over
    them with np.average."""
    sums = np.add.reduceat(weights, np.arange(0, weights.shape[0], batch_size))
    if np.any(sums == 0):
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")


def check_numeric_targets(Y, y):
    """Raise a TypeError for regression targets that are not numbers (strings,
    bytes, dates; Y is None then), where scikit-learn's first arithmetic on y
    fails on them with NumPy's TypeError ("ufunc 'subtract' did not contain a loop
    ..."): after its checks of the sample weights, its early-stopping split and the
    batch size, whose errors come first. (Numbers in strings are numbers to neither,
    unless they are objects, which scikit-learn's validation converts.)"""
    if Y is None:
        raise TypeError(f"MLPRegressor needs numeric targets, got y of dtype {y.dtype}: "
                        "convert them to numbers first.")


def early_stopping_split(est, y):
    """Row indices of the training and validation sets, drawn as scikit-learn draws
    them: its train_test_split depends only on the number of rows and `stratify`,
    so splitting the indices gives the same rows without copying X."""
    # don't stratify in multilabel classification
    stratify = y if is_classifier(est) and est.n_outputs_ == 1 else None
    train_idx, val_idx = train_test_split(
        np.arange(y.shape[0]),
        random_state=est._random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    if val_idx.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return train_idx.astype(np.intp), val_idx


def fit_stochastic(est, X, Y, y, sample_weight, params, incremental, tasks=None):
    """Train with sgd or adam, one compiled call per epoch.

    Parameters
    ----------
    est : the estimator (its coefs_ and intercepts_ are views of `params`)
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs), the targets in X's dtype; None for a
        regressor's targets that are not numbers (check_numeric_targets)
    y : ndarray, the targets as validation gave them (for the validation score)
    sample_weight : ndarray of shape (n_samples,) or None, as validated (float64 or float32)
    params : ndarray of shape (n_params,), updated in place
    incremental : bool, partial_fit
    tasks : fastmlp._callbacks.FitTasks or None, the callbacks' tasks
    """
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = make_optimizer(est, params.shape[0], params.dtype)
    optimizer = est._optimizer
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")

    train_idx, validation = None, None     # None: every row trains
    if est.early_stopping:
        train_idx, val_idx = early_stopping_split(est, y)
        y_val = y[val_idx]
        if is_classifier(est):
            y_val = est._label_binarizer.inverse_transform(y_val)
        sw_val = None if sample_weight is None else sample_weight[val_idx]
        validation = (X[val_idx], y_val, sw_val)

    n_train = X.shape[0] if train_idx is None else train_idx.shape[0]
    batch_size = batch_size_for(est, n_train)
    check_numeric_targets(Y, y)
    # batches may sum to zero only where some weight is zero or negative
    given = None if sample_weight is None or (sample_weight > 0).all() else sample_weight
    sample_weight, alpha_scale = core_weights(sample_weight, X.dtype)
    ws = Workspace(est._layout(batch_size, input_block=not sp.issparse(X),
                               alpha_scale=alpha_scale), X.dtype)
    grads = np.empty_like(params)
    order = np.arange(n_train, dtype=np.intp)
    X_in = InputMatrix(X)      # checked once, read by every epoch
    policy = fit_policy()
    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                # what sklearn.utils.shuffle draws, compounding epoch after epoch:
                # shuffling `order` in place moves its entries as the same swaps
                # move arange(n_train) into permutation(n_train)
                est._random_state.shuffle(order)
            rows = order if train_idx is None else train_idx[order]
            if given is not None:
                check_batch_weights(given[rows], batch_size)
            if tasks is not None:
                tasks.epoch_begin(params)
            loss_sum = run_epoch(ws, params, grads, optimizer, X_in, Y, sample_weight,
                                 rows, batch_size, policy)
            stop = end_of_epoch(est, loss_sum / n_train, n_train, optimizer, validation,
                                incremental)
            if tasks is not None:
                stop = tasks.epoch_end(params) or stop    # a callback's stop
            if stop:
                break
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")

    if est.early_stopping:
        # restore the best weights; from then on scikit-learn's best and current
        # weights are the same arrays, which None stands for, until an improvement
        if est._best_params is not None:
            params[:] = est._best_params
        est._best_params = None


def end_of_epoch(est, loss, n_train, optimizer, validation, incremental):
    """Bookkeeping after an epoch; returns True when training stops."""
    est.n_iter_ += 1
    est.loss_ = loss
    est.t_ += n_train
    est.loss_curve_.append(est.loss_)
    if est.verbose:
        print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))

    update_no_improvement_count(est, validation)
    # for learning rate that needs to be updated at iteration end
    optimizer.iteration_ends(est.t_)

    if est._no_improvement_count > est.n_iter_no_change:
        # not better than last `n_iter_no_change` iterations by tol:
        # stop or decrease learning rate
        if validation is not None:
            msg = (
                "Validation score did not improve more than "
                "tol=%f for %d consecutive epochs." % (est.tol, est.n_iter_no_change)
            )
        else:
            msg = (
                "Training loss did not improve more than tol=%f"
                " for %d consecutive epochs." % (est.tol, est.n_iter_no_change)
            )
        if optimizer.trigger_stopping(msg, est.verbose):
            return True
        est._no_improvement_count = 0

    if incremental:
        return True
    if est.n_iter_ == est.max_iter:
        warnings.warn(
            "Stochastic Optimizer: Maximum iterations (%d) "
            "reached and the optimization hasn't converged yet." % est.max_iter,
            ConvergenceWarning,
        )
    return False


def update_no_improvement_count(est, validation):
    """The stall counter: on the validation score with early stopping, else on the loss."""
    if validation is not None:
        X_val, y_val, sw_val = validation
        # compute validation score (can be NaN), use that for stopping
        score = est._score(X_val, y_val, sample_weight=sw_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print("Validation score: %f" % est.validation_scores_[-1])
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_params = est._packed_params().copy()
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def fit_lbfgs(est, X, Y, y, sample_weight, params, tasks=None):
    """Minimise the full-batch loss with SciPy's L-BFGS-B, as scikit-learn does.

    SciPy evaluates the objective at x of x0's dtype, X's, so the core runs in
    X's dtype; the optimum comes back float64, as scikit-learn's weights do.
    Y, y as fit_stochastic takes them; `tasks` (or None) are the callbacks'
    tasks, one per iteration. Returns the optimal parameters."""
    check_numeric_targets(Y, y)
    X, read_in_place = in_place(X)     # no copy of a sparse or C-ordered X
    if sample_weight is not None:
        check_batch_weights(sample_weight, X.shape[0])
    sample_weight, alpha_scale = core_weights(sample_weight, X.dtype)
    ws = Workspace(est._layout(X.shape[0], input_block=not read_in_place,
                               alpha_scale=alpha_scale), X.dtype)
    grads = np.empty(params.shape[0], dtype=X.dtype)
    X_in = InputMatrix(X)
    policy = fit_policy()

    def fun(packed):
        packed = np.ascontiguousarray(packed, dtype=X.dtype)
        loss = loss_grad(ws, packed, grads, X_in, Y, sample_weight, policy)
        return loss, grads.copy()

    iprint = 1 if est.verbose is True or est.verbose >= 1 else -1
    with blas_single_threaded():
        opt_res = scipy.optimize.minimize(
            fun,
            params,
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": est.max_fun,
                "maxiter": est.max_iter,
                "gtol": est.tol,
                **_get_additional_lbfgs_options_dict("iprint", iprint),
            },
            callback=None if tasks is None else tasks.lbfgs_callback(params),
        )
    if tasks is not None and tasks.stopped:    # a callback's stop: no convergence warning
        est.n_iter_ = min(opt_res.nit, est.max_iter)
    else:
        est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
    est.loss_ = opt_res.fun
    return opt_res.x
