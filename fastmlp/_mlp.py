"""MLPClassifier and MLPRegressor: parameters, validation, fit, partial_fit, predict.

Drop-in replacements for ``sklearn.neural_network``'s estimators of the installed
scikit-learn (1.7.1 to 1.9; differences between those releases are in
``_compat``): the same parameters, defaults, attributes, errors and random draws. No
array maths here: training runs in ``_solver`` and the compiled core.
"""
from abc import ABC, abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _convert
from ._callbacks import fit_tasks
from ._compat import CallbackSupportMixin
from ._class_weight import check_partial_fit_class_weight, weigh_classes
from ._core._layout import Layout, Workspace
from ._core._network import params_buffer, predict, predict_rows
from ._functions import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    REGRESSION_OUTPUTS,
    glorot_factor,
    loss_code,
)
from ._optimizers import optimizer_from_state, optimizer_state
from ._persistence import check_versions, stamp
from ._solver import fit_lbfgs, fit_stochastic, in_place
from ._threads import prediction_policy

_STOCHASTIC_SOLVERS = ["sgd", "adam"]
_PREDICT_CHUNK = 4096    # rows a prediction pushes through the network at once
_SMALL_PREDICT = 64      # predictions up to this many rows run on the calling thread
# the compiled predict for each item size, chosen once instead of at every call
_PREDICT = {4: predict["float"], 8: predict["double"]}


def integer_classes(y):
    """np.unique(y) for a 1-D ndarray of integers (not bool) whose values span
    fewer than twice its length: counted with bincount, ~10x faster than sorting
    or hashing them. None for any other y."""
    if not (type(y) is np.ndarray and y.ndim == 1 and y.size and y.dtype.kind in "iu"
            and np.can_cast(y.dtype, np.intp)):
        return None
    yi = y.astype(np.intp, copy=False)
    lo, hi = int(yi.min()), int(yi.max())
    if hi - lo >= 2 * y.size:
        return None
    return (np.flatnonzero(np.bincount(yi - lo)) + lo).astype(y.dtype)


def fitted_label_binarizer(y):
    """LabelBinarizer().fit(y). For a 1-D ndarray of integers, the attributes its fit
    sets, without its checks (a binary or multiclass target of numbers, which
    cannot fail them; ~1 ms of a small network's fit): classes_ = unique_labels(y),
    np.unique(y) for such y, and y_type_ = type_of_target(y). tests/test_compat.py
    checks them against LabelBinarizer's own fit."""
    classes = integer_classes(y)
    binarizer = LabelBinarizer()
    if classes is None:
        return binarizer.fit(y)
    binarizer.y_type_ = "multiclass" if classes.shape[0] > 2 else "binary"
    binarizer.sparse_input_ = False
    binarizer.classes_ = classes
    return binarizer


class BaseMultilayerPerceptron(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class for MLP classification and regression."""

    # scikit-learn's own constraint objects: its messages list the options of a set
    # in the set's iteration order, which a copy of the set need not share.
    _parameter_constraints: dict = dict(SklearnMLPClassifier._parameter_constraints)

    @abstractmethod
    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, loss, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # -- the parameters as one flat buffer ---------------------------------
    # coefs_ and intercepts_ are views of one buffer packed as scikit-learn packs
    # them for lbfgs (every W.ravel(), then every b), which the core updates in place.

    def _layout(self, capacity, input_block=True, alpha_scale=1.0):
        """Shapes, activations and loss of the fitted network with the parameters as
        they are now, for `capacity` rows, with room for gathered input rows or
        (sparse, or C-ordered X read whole) without; alpha times `alpha_scale`, the
        factor the sample weights were scaled by (see _solver.core_weights)."""
        return Layout(self._fitted_units(), HIDDEN_ACTIVATIONS[self.activation],
                      OUTPUT_ACTIVATIONS[self.out_activation_],
                      loss_code(self.loss, self.out_activation_), self.alpha * alpha_scale,
                      capacity, input_block)

    def _fitted_units(self):
        """The number of units of each layer of the fitted network, input to output."""
        return [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]

    def _small_layout_key(self):
        """What a prediction's layout depends on besides the weights' shapes."""
        return (self.activation, self.out_activation_)

    def _make_small_layout(self):
        """Cache, with what it depends on, the layout of predictions of a few rows
        read in place (made once: its cost matters to the latency of one row)."""
        self._small_predict_layout = (self._small_layout_key(),
                                      self._layout(_SMALL_PREDICT, input_block=False))

    def _small_layout(self):
        """The cached layout of a few rows, or None where there is none or the
        parameters changed since it was made (set_params)."""
        cached = self.__dict__.get("_small_predict_layout")
        if cached is not None and cached[0] == self._small_layout_key():
            return cached[1]
        return None

    def _set_params_buffer(self, params):
        """Make coefs_ and intercepts_ views of the flat buffer `params`."""
        layout = self._layout(1)
        self.coefs_ = [params[a:b].reshape(shape) for a, b, shape in layout.coef_slices()]
        self.intercepts_ = [params[a:b] for a, b in layout.intercept_slices()]

    def _packed_params(self, dtype=None):
        """The flat buffer behind coefs_ and intercepts_, or a packed copy of them."""
        base = params_buffer(self.coefs_, self.intercepts_)
        if base is None:
            base = np.concatenate([a.ravel() for a in self.coefs_ + self.intercepts_])
        return base if dtype is None else base.astype(dtype, copy=False)

    def __getstate__(self):
        state = dict(super().__getstate__())   # object's is __dict__ itself: not ours to change
        state.pop("_small_predict_layout", None)    # compiled: __setstate__ rebuilds it
        if "_optimizer" in state:
            state["_optimizer"] = optimizer_state(state["_optimizer"])
        return stamp(state)

    def __setstate__(self, state):
        state = dict(state)
        check_versions(type(self).__name__, state)
        if isinstance(state.get("_optimizer"), dict):
            state["_optimizer"] = optimizer_from_state(state["_optimizer"])
        # a pickle stores views as copies: link them to one buffer again
        super().__setstate__(state)
        if self._has_network():
            self._set_params_buffer(self._packed_params().copy())
            self._make_small_layout()

    def _has_network(self):
        """Whether a whole fitted network is there. A fit or partial_fit that raised
        may have left none, or a part of one: fewer layers than n_layers_, or
        another width than n_features_in_ or n_outputs_."""
        state = self.__dict__
        coefs, intercepts = state.get("coefs_"), state.get("intercepts_")
        return (bool(coefs) and intercepts is not None
                and len(coefs) == len(intercepts) == state.get("n_layers_", 0) - 1
                and coefs[0].shape[0] == state.get("n_features_in_")
                and coefs[-1].shape[1] == state.get("n_outputs_"))

    def _check_continued_network(self, layer_units):
        """A continued fit (warm_start, partial_fit) trains the fitted network: it
        must have the layers that hidden_layer_sizes and y ask for now."""
        units = self._fitted_units()
        if list(layer_units[1:-1]) != units[1:-1]:
            raise ValueError(
                f"hidden_layer_sizes is {self.hidden_layer_sizes!r}, but the fitted "
                f"network's hidden layers have {units[1:-1]} units: warm_start and "
                "partial_fit continue training the fitted network. Fit with "
                "warm_start=False to train a network of the new sizes."
            )
        if layer_units[-1] != units[-1]:
            raise ValueError(
                f"y has {layer_units[-1]} output(s), but the fitted network has "
                f"{units[-1]}: warm_start and partial_fit continue training the fitted "
                "network. Fit with warm_start=False to train one for this y."
            )

    # -- fitting --------------------------------------------------------------

    def _init_coef(self, fan_in, fan_out, dtype):
        # Glorot et al.'s uniform initialisation, drawn in float64 and then cast
        init_bound = np.sqrt(glorot_factor(self.activation) / (fan_in + fan_out))
        coef_init = self._random_state.uniform(-init_bound, init_bound, (fan_in, fan_out))
        intercept_init = self._random_state.uniform(-init_bound, init_bound, fan_out)
        return coef_init.astype(dtype, copy=False), intercept_init.astype(dtype, copy=False)

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = REGRESSION_OUTPUTS[self.loss]
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:   # binary and multilabel
            self.out_activation_ = "logistic"

        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            coef_init, intercept_init = self._init_coef(fan_in, fan_out, dtype)
            self.coefs_.append(coef_init)
            self.intercepts_.append(intercept_init)
        self._best_params = self._packed_params(dtype).copy()

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        # made again when this fit succeeds; until then predictions validate X
        self.__dict__.pop("_small_predict_layout", None)
        first_pass = not self._has_network() or (not self.warm_start and not incremental)

        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sp.issparse(X):      # the core reads rows: CSC becomes CSR, never dense
            X = X.tocsr()
        if not first_pass and X.dtype != self.coefs_[0].dtype:
            # a continued fit trains in the weights' dtype, which scikit-learn keeps too
            X = X.astype(self.coefs_[0].dtype)
        if sample_weight is not None:
            # as scikit-learn validates them: float64 (float32 kept), whatever X's
            # dtype; the solvers cast them for the core (_solver.core_weights)
            sample_weight = _check_sample_weight(sample_weight, X)
        layer_units = [X.shape[1]] + hidden_layer_sizes + [1 if y.ndim == 1 else y.shape[1]]
        if not first_pass:
            self._check_continued_network(layer_units)
        tasks = fit_tasks(self, X, y, sample_weight, incremental)    # None without callbacks
        sample_weight = weigh_classes(self, y, sample_weight, np.float64 if sample_weight is None
                                      else sample_weight.dtype)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]

        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)

        params = self._packed_params().astype(X.dtype)   # a fresh buffer, updated in place
        self._set_params_buffer(params)
        Y = None    # a regressor's y that is not numbers: the solver raises at the point
        if y.dtype.kind in "biuf":              # where scikit-learn's arithmetic does
            with np.errstate(over="ignore"):    # said below, as an error
                Y = np.ascontiguousarray(y, dtype=X.dtype)
            if not np.isfinite(Y).all() and np.isfinite(y).all():
                # validated finite in float64, beyond float32's range: training would
                # only end in non-finite weights (doc/user_guide/
                # differences.rst). (NaN or infinity that scikit-learn's validation
                # lets through, from objects such as "nan", it trains on: so do we.)
                raise ValueError(
                    f"Input y contains infinity or a value too large for {Y.dtype!r}, "
                    "the dtype fastmlp trains this model in: fit on float64 X for such "
                    "targets."
                )
        if self.solver in _STOCHASTIC_SOLVERS:
            fit_stochastic(self, X, Y, y, sample_weight, params, incremental, tasks)
        else:
            self._set_params_buffer(fit_lbfgs(self, X, Y, y, sample_weight, params, tasks))

        if not np.isfinite(self._packed_params()).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        self._make_small_layout()
        if tasks is not None:
            tasks.end_fit()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data, float64 or float32 (the dtype the model trains in;
            other dtypes are converted to float64).
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. None gives every sample weight one.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # -- prediction -----------------------------------------------------------

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted classes (classifier) or values (regressor).
        """
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)      # raises NotFittedError
        return self._predict(X)

    def _passes_as_is(self, X):
        """Whether validate_data(self, X, reset=False) returns X itself if X is
        finite: a float32 or float64 ndarray of the fitted width, when no feature
        names were seen."""
        return (type(X) is np.ndarray and X.ndim == 2 and X.dtype.kind == "f"
                and X.dtype.itemsize in (4, 8) and X.shape[0] > 0
                and X.shape[1] == self.n_features_in_
                and "feature_names_in_" not in self.__dict__)

    def _validate_for_predict(self, X):
        """validate_data(self, X, reset=False), short-cut where it would return X
        itself (_passes_as_is). The prediction kernels check that X is finite as they
        read it; where it is not, _forward_pass_fast calls validate_data, which
        raises scikit-learn's error."""
        return X if self._passes_as_is(X) else self._validate_x(X)

    def _validate_continued(self, X, y, **kwargs):
        """validate_data(self, X, y, reset=False, **kwargs) for a continued fit
        (partial_fit, warm start), short-cut where it would return X and y
        themselves: X that passes as is, finite, and a finite 1-D numeric ndarray y of
        X's length. Its ~1 ms of checks would be most of a partial_fit on a chunk of
        1,000 rows; anything else, and anything non-finite, goes to scikit-learn's
        validation and its errors."""
        if (self._passes_as_is(X) and type(y) is np.ndarray and y.ndim == 1
                and y.shape[0] == X.shape[0] and y.dtype.kind in "biuf"
                and np.isfinite(X.sum()) and (y.dtype.kind != "f" or np.isfinite(y.sum()))):
            return X, y
        return validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=False, **kwargs)

    def _validate_x(self, X):
        """scikit-learn's validation of X for prediction."""
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def _predict_layout(self, X, read_in_place, n_params):
        """The layout a prediction of X uses. Small predictions that read X in place
        share the one made at the end of fit (a Layout is immutable)."""
        small = self._small_layout()
        if (X.shape[0] <= _SMALL_PREDICT and read_in_place and small is not None
                and small.n_params == n_params):
            return small
        return self._layout(min(X.shape[0], _PREDICT_CHUNK), input_block=not read_in_place)

    def _forward_pass_fast(self, X, check_input=True):
        """Output of the network for X, of shape (n_samples, n_outputs). The core's
        own products: no BLAS, whose thread count would change the bits."""
        small = self._small_layout()
        if small is not None and "feature_names_in_" not in self.__dict__:
            # the short path of a few C-ordered finite rows in the weights' dtype, on
            # the calling thread, which validate_data would pass unchanged
            out = predict_rows(small, X, params_buffer(self.coefs_, self.intercepts_))
            if out is not None:
                return out
        if not self._has_network():
            if check_input:     # scikit-learn's checks of X come first
                self._validate_x(X)
            raise NotFittedError(
                f"This {type(self).__name__} instance has no fitted network: its last fit "
                "raised. Call 'fit' with appropriate arguments before using this estimator."
            )
        X_given = X
        if check_input:
            X = self._validate_for_predict(X)
        params = self._packed_params()
        # the dtype of scikit-learn's products X @ W, which the core computes in
        # unless it is longdouble: that is computed in float64, then cast
        out_dtype = np.result_type(X.dtype, params.dtype)
        dtype = out_dtype if out_dtype in (np.float32, np.float64) else np.dtype(np.float64)
        X = X.astype(dtype, copy=False)
        if sp.issparse(X):
            X = X.tocsr()
        X, read_in_place = in_place(X)
        params = params.astype(dtype, copy=False)
        ws = Workspace(self._predict_layout(X, read_in_place, params.shape[0]), dtype,
                       gradients=False)
        out = np.empty((X.shape[0], self.n_outputs_), dtype=dtype)
        kernel = _PREDICT[out.dtype.itemsize]
        # a few rows run on the calling thread, without the cost of a team
        finite = kernel(ws, params, X, out,
                        1 if X.shape[0] <= _SMALL_PREDICT else prediction_policy())
        if not finite:
            # NaN or infinity: scikit-learn's check raises its own error about it
            self._validate_x(X_given)
            # or longdouble values beyond float64's range, which it passes
            raise ValueError(f"Input X contains infinity or a value too large for {dtype!r}.")
        return out.astype(out_dtype, copy=False)

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Private score method without input validation."""
        # Input validation would remove feature names, so we disable it
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- conversion to and from scikit-learn's estimators --------------------

    def to_sklearn(self):
        """This model as scikit-learn's estimator of the same name.

        The converted model has the same parameters, weights, fitted attributes
        and optimizer state (velocities, Adam's moments and step count, the
        learning rate), so that ``partial_fit`` or a warm start continues there as
        it would here. Nothing is shared between the two. scikit-learn's
        MLPClassifier has no `class_weight`: a classifier that has one warns that
        further fits there will not weigh classes. See :ref:`conversion`.

        Returns
        -------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            A new scikit-learn estimator, fitted if this model is.

        Examples
        --------
        >>> from fastmlp import MLPClassifier
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(solver="lbfgs", max_iter=500, random_state=0)
        >>> clf = clf.fit(X, y)
        >>> sk_clf = clf.to_sklearn()
        >>> type(sk_clf).__module__
        'sklearn.neural_network._multilayer_perceptron'
        >>> bool((sk_clf.predict(X) == clf.predict(X)).all())
        True
        """
        return _convert.to_sklearn(self, self._sklearn_class)

    @classmethod
    def from_sklearn(cls, estimator):
        """A fastmlp model made from scikit-learn's estimator of the same name.

        The estimator may be fitted or not. The new model has the same
        parameters, weights, fitted attributes and optimizer state, so that
        ``partial_fit`` or a warm start continues here as it would there. Nothing
        is shared between the two. See :ref:`conversion`.

        Parameters
        ----------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            scikit-learn's estimator of this class's name.

        Returns
        -------
        estimator : MLPClassifier or MLPRegressor
            A new fastmlp estimator, fitted if `estimator` is.

        Examples
        --------
        A regressor (a classifier converts alike):

        >>> from fastmlp import MLPRegressor
        >>> from sklearn import neural_network
        >>> from sklearn.datasets import load_diabetes
        >>> X, y = load_diabetes(return_X_y=True)
        >>> sk_reg = neural_network.MLPRegressor(solver="lbfgs", max_iter=50,
        ...                                      random_state=0).fit(X, y)
        >>> reg = MLPRegressor.from_sklearn(sk_reg)
        >>> reg
        MLPRegressor(max_iter=50, random_state=0, solver='lbfgs')
        >>> bool(abs(reg.predict(X) - sk_reg.predict(X)).max() < 1e-8)
        True
        """
        est = _convert.from_sklearn(cls, estimator, cls._sklearn_class)
        if est._has_network():
            est._make_small_layout()
        return est


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    """Multi-layer Perceptron classifier.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` whose training and
    prediction run in a compiled core. This model optimizes the log-loss function
    using LBFGS or stochastic gradient descent (SGD or Adam). Given the same
    parameters and `random_state`, it fits the same weights as the installed
    scikit-learn's MLPClassifier, to floating-point tolerance.

    Read more in the :ref:`User Guide <computation>`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith
        hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function for the hidden layers.

        - 'identity', no-op activation, useful to implement linear bottleneck,
          returns f(x) = x
        - 'logistic', the logistic sigmoid function,
          returns f(x) = 1 / (1 + exp(-x)).
        - 'tanh', the hyperbolic tan function,
          returns f(x) = tanh(x).
        - 'relu', the rectified linear unit function,
          returns f(x) = max(0, x)

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

        - 'lbfgs' is an optimizer in the family of quasi-Newton methods
          (SciPy's L-BFGS-B on the compiled loss and gradient).
        - 'sgd' refers to stochastic gradient descent.
        - 'adam' refers to a stochastic gradient-based optimizer proposed
          by Kingma, Diederik, and Jimmy Ba.

        Note: The default solver 'adam' works pretty well on relatively
        large datasets (with thousands of training samples or more) in terms of
        both training time and validation score.
        For small datasets, however, 'lbfgs' can converge faster and perform
        better.

    alpha : float, default=0.0001
        Strength of the L2 regularization term. The L2 regularization term
        is divided by the sample size (the batch size in minibatch training)
        when added to the loss.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers.
        If the solver is 'lbfgs', the model does not use minibatches.
        When set to "auto", `batch_size=min(200, n_samples)`.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates.

        - 'constant' is a constant learning rate given by
          'learning_rate_init'.
        - 'invscaling' gradually decreases the learning rate after each
          epoch using an inverse scaling exponent of 'power_t':
          ``effective_learning_rate = learning_rate_init / pow(t_ + 1, power_t)``,
          where `t_` is the number of training samples seen so far.
        - 'adaptive' keeps the learning rate constant to
          'learning_rate_init' as long as training loss keeps decreasing.
          Each time ``n_iter_no_change + 1`` consecutive epochs fail to decrease
          training loss by at least tol, or fail to increase validation score
          by at least tol if 'early_stopping' is on, the current learning rate
          is divided by 5.

        Only used when ``solver='sgd'``.

    learning_rate_init : float, default=0.001
        The initial learning rate used. It controls the step-size
        in updating the weights. Only used when solver='sgd' or 'adam'.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate.
        It is used in updating effective learning rate when the learning_rate
        is set to 'invscaling'. Only used when solver='sgd'.

    max_iter : int, default=200
        Maximum number of iterations. The solver iterates until convergence
        (determined by 'tol') or this number of iterations. For stochastic
        solvers ('sgd', 'adam'), note that this determines the number of epochs
        (how many times each data point will be used), not the number of
        gradient steps.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration. Only used when
        solver='sgd' or 'adam'.

    random_state : int, RandomState instance, default=None
        Determines random number generation for weights and bias
        initialization, train-test split if early stopping is used, and batch
        sampling when solver='sgd' or 'adam'.
        Pass an int for reproducible results across multiple function calls.
        The numbers drawn are those scikit-learn draws, in the same order.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving
        by at least ``tol`` for ``n_iter_no_change`` consecutive iterations,
        unless ``learning_rate`` is set to 'adaptive', convergence is
        considered to be reached and training stops.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous
        call to fit as initialization, otherwise, just erase the
        previous solution.

    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1. Only
        used when solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when solver='sgd' and
        momentum > 0.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation
        score is not improving. If set to True, it will automatically set
        aside ``validation_fraction`` of training data as validation and
        terminate training when validation score is not improving by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs.
        The split is stratified for a binary target; multiclass and
        multilabel targets are split at random, as in scikit-learn.
        If early stopping is False, then the training stops when the training
        loss does not improve by more than ``tol`` for ``n_iter_no_change``
        consecutive passes over the training set.
        Only effective when solver='sgd' or 'adam'.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for
        early stopping. Must be between 0 and 1.
        Only used if early_stopping is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when solver='adam'.

    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement.
        Only effective when solver='sgd' or 'adam'.

    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.
        The solver iterates until convergence (determined by 'tol'), number
        of iterations reaches max_iter, or this number of loss function calls.
        Note that number of loss function calls will be greater than or equal
        to the number of iterations for the `MLPClassifier`.

    class_weight : dict, list of dict or "balanced", default=None
        Weights associated with classes in the form ``{class_label: weight}``.
        If not given, all classes are supposed to have weight one. A sample's
        weight is its class's weight times its ``sample_weight``.

        The "balanced" mode uses the values of y to automatically adjust
        weights inversely proportional to class frequencies in the input data
        as ``n_samples / (n_classes * np.bincount(y))``, counting with
        ``sample_weight``. For multilabel targets, give "balanced" or a list of
        one dict per label, ``[{0: w0, 1: w1}, ...]``; the weights of a sample's
        labels are multiplied. :meth:`partial_fit` takes dicts but not
        "balanced". scikit-learn's MLPClassifier has no such parameter. See
        :ref:`class_weight`.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
        If `early_stopping=True`, this attribute is set to `None`. Refer to
        the `best_validation_score_` fitted attribute instead.
        Only accessible when solver='sgd' or 'adam'.

    loss_curve_ : list of shape (`n_iter_`,)
        The ith element in the list represents the loss at the ith iteration.
        Only accessible when solver='sgd' or 'adam'.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score at each iteration on a held-out validation set. The score
        reported is the accuracy score. Only available if `early_stopping=True`,
        otherwise the attribute is set to `None`.
        Only accessible when solver='sgd' or 'adam'.

    best_validation_score_ : float or None
        The best validation score (i.e. accuracy score) that triggered the
        early stopping. Only available if `early_stopping=True`, otherwise the
        attribute is set to `None`.
        Only accessible when solver='sgd' or 'adam'.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element in the list represents the weight matrix corresponding
        to layer i.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element in the list represents the bias vector corresponding to
        layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X`
        has feature names that are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    See Also
    --------
    MLPRegressor : Multi-layer Perceptron regressor.
    sklearn.neural_network.MLPClassifier : scikit-learn's estimator, which
        this one replaces.

    Notes
    -----
    MLPClassifier trains iteratively since at each time step
    the partial derivatives of the loss function with respect to the model
    parameters are computed to update the parameters.

    It can also have a regularization term added to the loss function
    that shrinks model parameters to prevent overfitting.

    This implementation works with data represented as dense numpy arrays or
    sparse scipy arrays of floating point values, in float64 or float32 (the
    dtype it trains in). Its results do not depend on the number of threads.
    Where it deliberately behaves differently from scikit-learn, the
    :ref:`differences` page says so.

    References
    ----------
    Hinton, Geoffrey E. "Connectionist learning procedures."
    Artificial intelligence 40.1 (1989): 185-234.

    Glorot, Xavier, and Yoshua Bengio.
    "Understanding the difficulty of training deep feedforward neural networks."
    International Conference on Artificial Intelligence and Statistics. 2010.

    He, Kaiming, et al (2015). "Delving deep into rectifiers:
    Surpassing human-level performance on imagenet classification."
    arXiv:1502.01852.

    Kingma, Diederik, and Jimmy Ba (2014).
    "Adam: A method for stochastic optimization." arXiv:1412.6980.

    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
    ...                                                     random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:1]).round(3)
    array([[0.038, 0.962]])
    >>> clf.predict(X_test[:5, :])
    array([1, 0, 1, 0, 1])
    >>> clf.score(X_test, y_test)
    0.88
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
    }
    _sklearn_class = SklearnMLPClassifier

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        if reset:
            X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"],
                                 multi_output=True, dtype=(np.float64, np.float32),
                                 reset=True)
        else:
            X, y = self._validate_continued(X, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # classes_ is (re)defined on a fresh fit; a warm or incremental fit checks it
        fresh = (not hasattr(self, "classes_")) or (not self.warm_start and not incremental)
        one_hot = fresh
        if fresh:
            self._label_binarizer = fitted_label_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = self._numeric_labels(y)
            one_hot = classes is not None
            if classes is None:
                classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )

        # bool, so that float32 data is not upcast
        if one_hot and y.ndim == 1 and self._label_binarizer.y_type_ in ("binary", "multiclass") \
                and len(self.classes_) >= 2:
            # what transform gives for labels of its classes_ whose type was checked,
            # without its checks again (milliseconds per fit)
            classes = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
            return X, y[:, None] == classes[None, :]
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _numeric_labels(self, y):
        """unique_labels(y) where it is np.unique(y) without a doubt, for a continued
        fit: a 1-D numeric ndarray whose values are integers, labelling a binary or
        multiclass target of numeric classes. None elsewhere: scikit-learn's checks
        (type_of_target, ~2 ms a call) then decide, and raise its errors."""
        if not (type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "biuf"
                and self.classes_.dtype.kind in "biuf"
                and self._label_binarizer.y_type_ in ("binary", "multiclass")):
            return None
        if y.dtype.kind == "f" and (y != y.astype(int)).any():
            return None       # "continuous"
        classes = integer_classes(y)
        return np.unique(y) if classes is None else classes

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Only available for the stochastic solvers ('sgd' and 'adam'); it raises
        for ``early_stopping=True``. A `class_weight` given as a dict applies;
        "balanced" is refused, since one batch's class counts are not the data's
        (compute the weights once with
        :func:`sklearn.utils.class_weight.compute_class_weight`).

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. None gives every sample weight one.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit.
            Can be obtained via `np.unique(y_all)`, where y_all is the
            target vector of the entire dataset.
            This argument is required for the first call to partial_fit
            and can be omitted in the subsequent calls.
            Note that y doesn't need to contain all labels in `classes`.

        Returns
        -------
        self : object
            Trained MLP model.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import MLPClassifier
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> X = X / 16.0
        >>> clf = MLPClassifier(random_state=0)
        >>> for X_chunk, y_chunk in zip(np.array_split(X, 5), np.array_split(y, 5)):
        ...     clf = clf.partial_fit(X_chunk, y_chunk, classes=np.arange(10))
        >>> clf.n_iter_, clf.t_
        (1, 1797)
        """
        check_partial_fit_class_weight(self)
        if classes is not None and self._has_classes(classes):
            pass        # what scikit-learn's check below would find, without its ~1 ms
        elif _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _has_classes(self, classes):
        """Whether `classes` is classes_ itself, value for value, in order (then
        unique_labels(classes) is classes_ too)."""
        known = self.__dict__.get("classes_")
        if known is None:
            return False
        given = np.asarray(classes)
        return given.shape == known.shape and given.dtype.kind == known.dtype.kind \
            and bool(np.all(given == known))

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class
            in the model, where classes are ordered as they are in
            `self.classes_`. Equivalent to `log(predict_proba(X))`.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)      # raises NotFittedError
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    """Multi-layer Perceptron regressor.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` whose training and
    prediction run in a compiled core. This model optimizes the squared error or
    the Poisson deviance using LBFGS or stochastic gradient descent (SGD or
    Adam). Given the same parameters and `random_state`, it fits the same weights
    as the installed scikit-learn's MLPRegressor, to floating-point tolerance.

    Read more in the :ref:`User Guide <computation>`.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss function to use when training the weights. Note that the
        "squared error" and "poisson" losses actually implement
        "half squares error" and "half poisson deviance" to simplify the
        computation of the gradient. Furthermore, the "poisson" loss internally uses
        a log-link (exponential as the output activation function) and requires
        ``y >= 0``: negative targets raise a ValueError.

    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith
        hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function for the hidden layers.

        - 'identity', no-op activation, useful to implement linear bottleneck,
          returns f(x) = x
        - 'logistic', the logistic sigmoid function,
          returns f(x) = 1 / (1 + exp(-x)).
        - 'tanh', the hyperbolic tan function,
          returns f(x) = tanh(x).
        - 'relu', the rectified linear unit function,
          returns f(x) = max(0, x)

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

        - 'lbfgs' is an optimizer in the family of quasi-Newton methods
          (SciPy's L-BFGS-B on the compiled loss and gradient).
        - 'sgd' refers to stochastic gradient descent.
        - 'adam' refers to a stochastic gradient-based optimizer proposed
          by Kingma, Diederik, and Jimmy Ba.

        Note: The default solver 'adam' works pretty well on relatively
        large datasets (with thousands of training samples or more) in terms of
        both training time and validation score.
        For small datasets, however, 'lbfgs' can converge faster and perform
        better.

    alpha : float, default=0.0001
        Strength of the L2 regularization term. The L2 regularization term
        is divided by the sample size (the batch size in minibatch training)
        when added to the loss.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers.
        If the solver is 'lbfgs', the model does not use minibatches.
        When set to "auto", `batch_size=min(200, n_samples)`.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates.

        - 'constant' is a constant learning rate given by
          'learning_rate_init'.
        - 'invscaling' gradually decreases the learning rate after each
          epoch using an inverse scaling exponent of 'power_t':
          ``effective_learning_rate = learning_rate_init / pow(t_ + 1, power_t)``,
          where `t_` is the number of training samples seen so far.
        - 'adaptive' keeps the learning rate constant to
          'learning_rate_init' as long as training loss keeps decreasing.
          Each time ``n_iter_no_change + 1`` consecutive epochs fail to decrease
          training loss by at least tol, or fail to increase validation score
          by at least tol if 'early_stopping' is on, the current learning rate
          is divided by 5.

        Only used when ``solver='sgd'``.

    learning_rate_init : float, default=0.001
        The initial learning rate used. It controls the step-size
        in updating the weights. Only used when solver='sgd' or 'adam'.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate.
        It is used in updating effective learning rate when the learning_rate
        is set to 'invscaling'. Only used when solver='sgd'.

    max_iter : int, default=200
        Maximum number of iterations. The solver iterates until convergence
        (determined by 'tol') or this number of iterations. For stochastic
        solvers ('sgd', 'adam'), note that this determines the number of epochs
        (how many times each data point will be used), not the number of
        gradient steps.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration. Only used when
        solver='sgd' or 'adam'.

    random_state : int, RandomState instance, default=None
        Determines random number generation for weights and bias
        initialization, train-test split if early stopping is used, and batch
        sampling when solver='sgd' or 'adam'.
        Pass an int for reproducible results across multiple function calls.
        The numbers drawn are those scikit-learn draws, in the same order.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving
        by at least ``tol`` for ``n_iter_no_change`` consecutive iterations,
        unless ``learning_rate`` is set to 'adaptive', convergence is
        considered to be reached and training stops.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous
        call to fit as initialization, otherwise, just erase the
        previous solution.

    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1. Only
        used when solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when solver='sgd' and
        momentum > 0.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation
        score is not improving. If set to True, it will automatically set
        aside ``validation_fraction`` of training data as validation and
        terminate training when validation score is not improving by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs.
        If early stopping is False, then the training stops when the training
        loss does not improve by more than ``tol`` for ``n_iter_no_change``
        consecutive passes over the training set.
        Only effective when solver='sgd' or 'adam'.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for
        early stopping. Must be between 0 and 1.
        Only used if early_stopping is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when solver='adam'.

    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement.
        Only effective when solver='sgd' or 'adam'.

    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.
        The solver iterates until convergence (determined by 'tol'), number
        of iterations reaches max_iter, or this number of loss function calls.
        Note that number of loss function calls will be greater than or equal
        to the number of iterations for the `MLPRegressor`.

    Attributes
    ----------
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
        If `early_stopping=True`, this attribute is set to `None`. Refer to
        the `best_validation_score_` fitted attribute instead.
        Only accessible when solver='sgd' or 'adam'.

    loss_curve_ : list of shape (`n_iter_`,)
        Loss value evaluated at the end of each training step.
        The ith element in the list represents the loss at the ith iteration.
        Only accessible when solver='sgd' or 'adam'.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score at each iteration on a held-out validation set. The score
        reported is the R2 score. Only available if `early_stopping=True`,
        otherwise the attribute is set to `None`.
        Only accessible when solver='sgd' or 'adam'.

    best_validation_score_ : float or None
        The best validation score (i.e. R2 score) that triggered the
        early stopping. Only available if `early_stopping=True`, otherwise the
        attribute is set to `None`.
        Only accessible when solver='sgd' or 'adam'.

    t_ : int
        The number of training samples seen by the solver during fitting.
        Mathematically equals `n_iters * X.shape[0]`, it means
        `time_step` and it is used by optimizer's learning rate scheduler.

    coefs_ : list of shape (n_layers - 1,)
        The ith element in the list represents the weight matrix corresponding
        to layer i.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element in the list represents the bias vector corresponding to
        layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X`
        has feature names that are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function ('identity', or 'exp' for the
        Poisson loss).

    See Also
    --------
    MLPClassifier : Multi-layer Perceptron classifier.
    sklearn.neural_network.MLPRegressor : scikit-learn's estimator, which
        this one replaces.

    Notes
    -----
    MLPRegressor trains iteratively since at each time step
    the partial derivatives of the loss function with respect to the model
    parameters are computed to update the parameters.

    It can also have a regularization term added to the loss function
    that shrinks model parameters to prevent overfitting.

    This implementation works with data represented as dense and sparse numpy
    arrays of floating point values, in float64 or float32 (the dtype it trains
    in, the targets included). Its results do not depend on the number of
    threads. Where it deliberately behaves differently from scikit-learn, the
    :ref:`differences` page says so.

    References
    ----------
    Hinton, Geoffrey E. "Connectionist learning procedures."
    Artificial intelligence 40.1 (1989): 185-234.

    Glorot, Xavier, and Yoshua Bengio.
    "Understanding the difficulty of training deep feedforward neural networks."
    International Conference on Artificial Intelligence and Statistics. 2010.

    He, Kaiming, et al (2015). "Delving deep into rectifiers:
    Surpassing human-level performance on imagenet classification."
    arXiv:1502.01852.

    Kingma, Diederik, and Jimmy Ba (2014).
    "Adam: A method for stochastic optimization." arXiv:1412.6980.

    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y,
    ...                                                     random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1)
    >>> regr.fit(X_train, y_train)
    MLPRegressor(max_iter=2000, random_state=1, tol=0.1)
    >>> regr.predict(X_test[:2]).round(2)
    array([  28.98, -290.75])
    >>> round(regr.score(X_test, y_test), 2)
    0.98
    """

    _parameter_constraints: dict = dict(SklearnMLPRegressor._parameter_constraints)
    _sklearn_class = SklearnMLPRegressor

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score
        )

    def _validate_input(self, X, y, incremental, reset):
        if reset:
            X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"],
                                 multi_output=True, y_numeric=True,
                                 dtype=(np.float64, np.float32), reset=True)
        else:
            X, y = self._validate_continued(X, y, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # (targets that are not numbers, such as strings, pass: _solver's
        # check_numeric_targets raises where scikit-learn's arithmetic fails on them)
        if self.loss == "poisson" and y.dtype.kind in "biuf" and np.any(y < 0):
            # scikit-learn trains on to a NaN loss here; we say why instead
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression."
            )
        return X, y

    # scikit-learn 1.9.1 passes the method itself (always truthy), so its
    # MLPRegressor offers partial_fit for every solver: kept as it is.
    @available_if(lambda est: est._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        It raises for ``early_stopping=True``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. None gives every sample weight one.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
