"""fastmlp against the installed scikit-learn itself.

The same parameters and random_state must give the same fitted weights, loss
curve, stopping epoch, attributes, predictions, warnings and verbose lines. In
float64 the two agree to rounding (relative 1e-6 leaves room for a different
BLAS summation order); in float32 to relative 1e-3.
"""
import itertools
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp._compat import SCORES_STRING_LABELS
from fastmlp._core._network import params_buffer, predict_rows
from _helpers import assert_same_model

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = {
    "sgd-nesterov": dict(solver="sgd", nesterovs_momentum=True, learning_rate_init=0.05),
    "sgd-classical": dict(solver="sgd", nesterovs_momentum=False, learning_rate_init=0.05),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}
TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput-regression"]
RTOL = {np.float64: 1e-6, np.float32: 1e-3}

N_SAMPLES, N_FEATURES = 240, 8
BASE = dict(hidden_layer_sizes=(15, 7), batch_size=50, max_iter=12, shuffle=True,
            random_state=0, alpha=1e-3)


def make_data(seed=0):
    """X and one y per task, each learnable from X (so the weights move with purpose)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    # a noisy signal: learnable, yet no probability saturates to 0 or 1
    Z = 0.4 * X @ rng.randn(N_FEATURES, 3) + rng.randn(N_SAMPLES, 3)
    return X, {
        "binary": np.where(Z[:, 0] > 0, "yes", "no"),
        "multiclass": np.argmax(Z, axis=1) + 3,
        "multilabel": (Z > 0).astype(int),
        "regression": Z[:, 0],
        "multioutput-regression": Z[:, :2],
    }


X_ALL, Y_ALL = make_data()


def estimators(task_or_kind, **params):
    kind = task_or_kind
    if kind in TASKS:
        kind = "MLPRegressor" if "regression" in kind else "MLPClassifier"
    return getattr(sk, kind)(**params), getattr(fastmlp, kind)(**params)


def fit_both(task_or_kind, X, y, sample_weight=None, **params):
    """Fit scikit-learn's and fastmlp's estimator alike; ConvergenceWarning silenced."""
    ref, est = estimators(task_or_kind, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=sample_weight)
        est.fit(X, y, sample_weight=sample_weight)
    return ref, est


def assert_close(actual, desired, rtol, what=""):
    """assert_allclose with an absolute floor scaled to the reference's magnitude."""
    desired = np.asarray(desired)
    assert np.isfinite(desired).all(), f"{what}: the reference is not finite"
    atol = rtol * np.max(np.abs(desired)) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, err_msg=what)


def glorot_init(units, activation, seed):
    """The initial weights scikit-learn draws (see SKLEARN_MLP_NOTES.md)."""
    rng = np.random.RandomState(seed)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs = []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        rng.uniform(-bound, bound, fan_out)
    return coefs


def assert_same_fit(ref, est, rtol):
    """Every fitted attribute of `est` equals scikit-learn's `ref` (the shared check
    of _helpers), and so do the stall counter and the optimizer's state."""
    assert_same_model(est, ref, est.coefs_[0].dtype, rtol)
    assert est._no_improvement_count == ref._no_improvement_count
    if hasattr(ref, "classes_"):
        assert est.classes_.dtype == ref.classes_.dtype
    if hasattr(ref, "_optimizer"):   # the optimizer's state, packed as the parameters
        opt, ref_opt = est._optimizer, ref._optimizer
        packed = lambda arrays: np.concatenate([a.ravel() for a in arrays])
        if ref.solver == "adam":   # (its learning_rate is the base rate, not sklearn's lr_t)
            assert opt.t == ref_opt.t
            assert_close(opt.state1, packed(ref_opt.ms), rtol, "Adam first moment")
            assert_close(opt.state2, packed(ref_opt.vs), rtol, "Adam second moment")
        else:
            assert_close(opt.learning_rate, ref_opt.learning_rate, 1e-12, "learning_rate")
            assert_close(opt.state1, packed(ref_opt.velocities), rtol, "SGD velocity")


def assert_same_predictions(ref, est, X, rtol):
    if not hasattr(ref, "classes_"):
        pred, ref_pred = est.predict(X), ref.predict(X)
        assert pred.shape == ref_pred.shape and pred.dtype == ref_pred.dtype
        assert_close(pred, ref_pred, rtol, "predict")
        return
    proba, ref_proba = est.predict_proba(X), ref.predict_proba(X)
    assert proba.shape == ref_proba.shape and proba.dtype == ref_proba.dtype
    assert_close(proba, ref_proba, rtol, "predict_proba")
    log_proba = est.predict_log_proba(X)
    ref_log_proba = ref.predict_log_proba(X)
    assert log_proba.dtype == ref_log_proba.dtype
    assert_close(log_proba, ref_log_proba, rtol, "predict_log_proba")

    pred, ref_pred = est.predict(X), ref.predict(X)
    assert pred.shape == ref_pred.shape and pred.dtype == ref_pred.dtype
    # labels must agree except on rows whose probabilities sit within rounding
    # of the decision boundary (a 0.5 threshold, or a tie between two classes)
    if ref.out_activation_ == "softmax":
        top2 = np.sort(ref_proba, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
    else:
        margin = np.abs(ref_proba - 0.5).min(axis=1) if ref.n_outputs_ > 1 else \
            np.abs(ref_proba[:, 1] - 0.5)
    # probabilities within d of the reference can flip a label only where margin <= 2 d
    clear = margin > 2 * np.max(np.abs(proba - ref_proba)) + 1e-12
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(pred[clear], ref_pred[clear])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_parity_matrix(activation, solver, task, dtype):
    X = X_ALL.astype(dtype)
    y = Y_ALL[task]
    params = dict(BASE, activation=activation, **SOLVERS[solver])
    ref, est = fit_both(task, X, y, **params)
    rtol = RTOL[dtype]
    assert ref.coefs_[0].dtype == dtype
    assert_same_fit(ref, est, rtol)
    assert_same_predictions(ref, est, X, rtol)

    # the comparison is meaningful: several minibatches moved every layer's weights
    units = [N_FEATURES, *BASE["hidden_layer_sizes"], ref.n_outputs_]
    for c, c0 in zip(est.coefs_, glorot_init(units, activation, BASE["random_state"])):
        assert np.max(np.abs(c - c0)) > 0.02 * np.max(np.abs(c0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task, solver", [
    ("binary", "adam"), ("multiclass", "sgd-nesterov"), ("regression", "sgd-classical"),
    ("multioutput-regression", "adam"),
])
def test_stops_on_tol_at_the_same_epoch(task, solver, dtype):
    X = X_ALL.astype(dtype)
    params = dict(BASE, activation="tanh", **SOLVERS[solver])
    params.update(max_iter=60, tol=2e-2, n_iter_no_change=3)
    ref, est = estimators(task, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)   # stopping is no warning
        ref.fit(X, Y_ALL[task])
        est.fit(X, Y_ALL[task])
    assert ref.n_iter_ < params["max_iter"]
    assert_same_fit(ref, est, RTOL[dtype])


# scikit-learn before 1.9 fails to score string labels in early stopping (a TypeError
# from np.isnan on the predicted labels); fastmlp scores them as 1.9 does (doc/user_guide/
# differences.rst). Against those versions the binary labels are given as their codes.
EARLY_STOPPING = dict(BASE, activation="relu", **SOLVERS["adam"], max_iter=40,
                      early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                      tol=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_early_stopping_validation(task, weighted, dtype):
    X = X_ALL.astype(dtype)
    sw = np.random.RandomState(1).uniform(0.1, 3.0, N_SAMPLES) if weighted else None
    params = EARLY_STOPPING
    y = Y_ALL[task]
    if task == "binary" and not SCORES_STRING_LABELS:
        y = (y == "yes").astype(int)
    ref, est = fit_both(task, X, y, sample_weight=sw, **params)
    assert ref.n_iter_ < params["max_iter"]
    # the same validation rows and scores, and the same restored best weights
    assert_same_fit(ref, est, RTOL[dtype])
    assert_same_predictions(ref, est, X, RTOL[dtype])


def test_early_stopping_on_string_labels_is_early_stopping_on_their_codes():
    # with every scikit-learn version: the same split, scores and weights as for
    # the labels' codes (in the order of classes_)
    y = Y_ALL["binary"]
    on_labels = fastmlp.MLPClassifier(**EARLY_STOPPING).fit(X_ALL, y)
    on_codes = fastmlp.MLPClassifier(**EARLY_STOPPING).fit(X_ALL, (y == "yes").astype(int))
    assert list(on_labels.classes_) == ["no", "yes"]
    assert on_labels.validation_scores_ == on_codes.validation_scores_
    assert on_labels.n_iter_ == on_codes.n_iter_ < EARLY_STOPPING["max_iter"]
    for a, b in zip(on_labels.coefs_ + on_labels.intercepts_,
                    on_codes.coefs_ + on_codes.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression", "multioutput-regression"])
@pytest.mark.parametrize("solver", ["sgd-nesterov", "adam"])
def test_sample_weight(task, solver, dtype):
    X = X_ALL.astype(dtype)
    sw = np.random.RandomState(1).uniform(0.1, 3.0, N_SAMPLES)   # float64 weights
    params = dict(BASE, activation="tanh", **SOLVERS[solver])
    ref, est = fit_both(task, X, Y_ALL[task], sample_weight=sw, **params)
    assert_same_fit(ref, est, RTOL[dtype])
    # and the weights do matter
    _, unweighted = fit_both(task, X, Y_ALL[task], **params)
    assert not np.allclose(unweighted.coefs_[0], est.coefs_[0], rtol=1e-3)


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_learning_rate_schedules(learning_rate):
    params = dict(BASE, activation="relu", solver="sgd", learning_rate=learning_rate,
                  learning_rate_init=0.05, max_iter=45, tol=2e-2, n_iter_no_change=2)
    ref, est = fit_both("multiclass", X_ALL, Y_ALL["multiclass"], **params)
    assert_same_fit(ref, est, 1e-6)
    if learning_rate == "adaptive":   # divided by 5 until too small, then stopped
        assert ref.n_iter_ < params["max_iter"] and ref._optimizer.learning_rate <= 1e-6
    assert est._optimizer.learning_rate == pytest.approx(ref._optimizer.learning_rate,
                                                         rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("solver", ["sgd-classical", "adam"])
def test_poisson_loss(solver, dtype):
    X = X_ALL.astype(dtype)
    y = np.random.RandomState(2).poisson(np.exp(0.3 * X_ALL[:, :2].sum(axis=1)))
    params = dict(BASE, activation="tanh", loss="poisson", **SOLVERS[solver])
    params["learning_rate_init"] /= 5
    ref, est = fit_both("MLPRegressor", X, y, **params)
    assert est.out_activation_ == "exp"
    assert_same_fit(ref, est, RTOL[dtype])
    assert_same_predictions(ref, est, X, RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput-regression"])
def test_shuffle_false(task, dtype):
    X = X_ALL.astype(dtype)
    params = dict(BASE, activation="logistic", shuffle=False, **SOLVERS["sgd-nesterov"])
    ref, est = fit_both(task, X, Y_ALL[task], **params)
    assert_same_fit(ref, est, RTOL[dtype])
    # the order matters: shuffling gives other weights
    _, shuffled = fit_both(task, X, Y_ALL[task], **dict(params, shuffle=True))
    assert not np.allclose(shuffled.coefs_[0], est.coefs_[0], rtol=1e-3)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_batch_size_larger_than_n_samples_is_clipped(task):
    params = dict(BASE, activation="relu", batch_size=N_SAMPLES + 1, **SOLVERS["adam"])
    ref, est = estimators(task, **params)
    messages = []
    for model in (ref, est):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            model.fit(X_ALL, Y_ALL[task])
        clipped = [w for w in record if issubclass(w.category, UserWarning)
                   and not issubclass(w.category, ConvergenceWarning)]
        messages.append([(w.category, str(w.message)) for w in clipped])
    assert messages[0] and messages[1] == messages[0]
    assert "clipped" in messages[0][0][1]
    assert_same_fit(ref, est, 1e-6)
    # one full batch per epoch: the same as batch_size=n_samples
    _, full = fit_both(task, X_ALL, Y_ALL[task], **dict(params, batch_size=N_SAMPLES))
    np.testing.assert_array_equal(full.coefs_[0], est.coefs_[0])


def test_batch_size_auto():
    params = dict(BASE, activation="relu", batch_size="auto", **SOLVERS["adam"])
    ref, est = fit_both("multiclass", X_ALL, Y_ALL["multiclass"], **params)
    assert_same_fit(ref, est, 1e-6)
    assert est._optimizer.t == ref._optimizer.t == 2 * BASE["max_iter"]   # 240 rows: 200 + 40


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_convergence_warning_text(task):
    params = dict(BASE, activation="tanh", max_iter=3, **SOLVERS["adam"])
    ref, est = estimators(task, **params)
    with pytest.warns(ConvergenceWarning) as ref_record:
        ref.fit(X_ALL, Y_ALL[task])
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(X_ALL, Y_ALL[task])
    convergence = [[str(w.message) for w in rec if w.category is ConvergenceWarning]
                   for rec in (ref_record, record)]
    assert convergence[1] == convergence[0]
    assert len(convergence[0]) == 1 and "Maximum iterations (3)" in convergence[0][0]


VERBOSE_CASES = {
    "max_iter": ("regression", dict(activation="relu", max_iter=5, **SOLVERS["adam"])),
    "tol-stop": ("binary", dict(activation="tanh", max_iter=60, tol=2e-2, n_iter_no_change=3,
                                **SOLVERS["adam"])),
    "adaptive": ("multiclass", dict(activation="relu", solver="sgd", learning_rate="adaptive",
                                    learning_rate_init=0.05, max_iter=45, tol=2e-2,
                                    n_iter_no_change=2)),
    "early-stopping": ("multiclass", dict(activation="relu", max_iter=40, early_stopping=True,
                                          n_iter_no_change=2, tol=1e-3, **SOLVERS["adam"])),
}


@pytest.mark.parametrize("case", list(VERBOSE_CASES))
def test_verbose_prints_what_sklearn_prints(case, capsys):
    task, extra = VERBOSE_CASES[case]
    ref, est = estimators(task, **dict(BASE, verbose=True, **extra))
    outputs = []
    for model in (ref, est):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_ALL, Y_ALL[task])
        outputs.append(capsys.readouterr())
    assert outputs[1].out == outputs[0].out
    assert outputs[1].err == outputs[0].err
    lines = outputs[0].out.splitlines()
    assert sum(line.startswith("Iteration ") for line in lines) == ref.n_iter_ >= 2
    if case != "max_iter":
        assert any("did not improve more than" in line for line in lines)


def test_not_verbose_prints_nothing(capsys):
    fit_both("binary", X_ALL, Y_ALL["binary"], **dict(BASE, **SOLVERS["adam"]))
    assert capsys.readouterr().out == ""


def test_feature_names_in_with_dataframe():
    pd = pytest.importorskip("pandas")   # optional dependency
    columns = [f"feature_{i}" for i in range(N_FEATURES)]
    df = pd.DataFrame(X_ALL, columns=columns)
    for task in ("multiclass", "regression"):
        params = dict(BASE, **SOLVERS["adam"])
        ref, est = fit_both(task, df, Y_ALL[task], **params)
        np.testing.assert_array_equal(est.feature_names_in_, ref.feature_names_in_)
        np.testing.assert_array_equal(est.feature_names_in_, columns)
        assert_same_fit(ref, est, 1e-6)
        assert_close(est.predict(df) if task == "regression" else est.predict_proba(df),
                     ref.predict(df) if task == "regression" else ref.predict_proba(df), 1e-6)
        with warnings.catch_warnings(record=True) as record:   # fitted with names
            warnings.simplefilter("always")
            ref.predict(X_ALL)
            est.predict(X_ALL)
        texts = [str(w.message) for w in record]
        assert len(texts) == 2 and texts[0] == texts[1]


def test_no_feature_names_without_dataframe():
    ref, est = fit_both("binary", X_ALL, Y_ALL["binary"], **dict(BASE, **SOLVERS["adam"]))
    assert not hasattr(ref, "feature_names_in_") and not hasattr(est, "feature_names_in_")


def test_predict_other_dtype_than_fit():
    """A float32-fitted model predicting float64 rows (and the reverse) as sklearn does."""
    params = dict(BASE, activation="tanh", **SOLVERS["adam"])
    for fit_dtype, pred_dtype in itertools.permutations([np.float32, np.float64]):
        ref, est = fit_both("multiclass", X_ALL.astype(fit_dtype), Y_ALL["multiclass"],
                            **params)
        Xp = X_ALL.astype(pred_dtype)
        proba, ref_proba = est.predict_proba(Xp), ref.predict_proba(Xp)
        assert proba.dtype == ref_proba.dtype
        assert_close(proba, ref_proba, 1e-3)


@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput-regression"])
def test_predict_dtypes_the_core_does_not_compute_in(task, fit_dtype):
    """X of every numeric dtype predicts in the dtype scikit-learn's products give
    (X's dtype and the weights' promoted): longdouble X gives longdouble outputs,
    float16 and small integers the weights' dtype, large integers float64."""
    ref, est = fit_both(task, X_ALL.astype(fit_dtype), Y_ALL[task],
                        **dict(BASE, **SOLVERS["adam"]))
    for Xp in (X_ALL.astype(np.longdouble), X_ALL.astype(np.float16),
               np.round(X_ALL).astype(np.int8), np.round(X_ALL).astype(np.int64),
               np.round(np.abs(X_ALL)).astype(np.uint16), X_ALL > 0):
        for many in (Xp[:3], Xp):        # the few-row path and the general one
            assert_same_predictions(ref, est, many, 1e-3 if fit_dtype == np.float32 else 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", TASKS)
def test_lbfgs(task, dtype):
    X = X_ALL.astype(dtype)
    params = dict(BASE, activation="tanh", solver="lbfgs", max_iter=15)
    ref, est = fit_both(task, X, Y_ALL[task], **params)
    rtol = RTOL[dtype]
    assert est.n_iter_ == ref.n_iter_
    assert_close(est.loss_, ref.loss_, rtol, "loss_")
    for c, rc in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        assert c.dtype == rc.dtype      # float64, even for float32 X
        assert_close(c, rc, rtol, "weights")
    assert not hasattr(est, "loss_curve_") and not hasattr(ref, "loss_curve_")
    assert_same_predictions(ref, est, X, rtol)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task, solver", [("multiclass", "adam"), ("binary", "sgd-nesterov"),
                                          ("regression", "sgd-classical")])
def test_sparse_input(task, solver, dtype, fmt):
    import scipy.sparse as sps
    X = getattr(sps, f"{fmt}_matrix")(np.where(np.abs(X_ALL) > 0.7, X_ALL, 0).astype(dtype))
    params = dict(BASE, activation="relu", **SOLVERS[solver])
    ref, est = fit_both(task, X, Y_ALL[task], **params)
    assert_same_fit(ref, est, RTOL[dtype])
    assert_same_predictions(ref, est, X, RTOL[dtype])


def test_warm_start_after_early_stopping():
    """scikit-learn restores `self.coefs_ = self._best_coefs` after an early-stopped fit,
    so in a second, warm fit its "best" weights are the very arrays being trained (they
    are updated in place): when that fit never beats the first fit's best validation
    score, scikit-learn ends with the weights of its last epoch, not the old best."""
    params = dict(BASE, activation="relu", **SOLVERS["adam"])
    params.update(max_iter=40, early_stopping=True, validation_fraction=0.2,
                  n_iter_no_change=2, tol=1e-3, warm_start=True)
    ref, est = estimators("multiclass", **params)
    for _ in range(2):
        for model in (ref, est):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_ALL, Y_ALL["multiclass"])
        assert_same_fit(ref, est, 1e-6)


@pytest.mark.parametrize("labels", [
    np.array([0, 1]), np.array([3, -1, 7]), np.array(["b", "a", "c", "d"]),
    np.array([True, False]), np.array([1.0, 2.0, 4.0]), np.array(["x", "y"], dtype=object),
], ids=["int-binary", "int-multiclass", "str-multiclass", "bool", "float", "object"])
def test_label_kinds_train_as_in_sklearn(labels):
    """Targets are one-hot encoded as scikit-learn's LabelBinarizer encodes them,
    whatever the labels' dtype, and predictions come back as the same labels."""
    rng = np.random.RandomState(0)
    X = rng.randn(90, 4)
    y = labels[rng.randint(0, len(labels), 90)]
    y[:len(labels)] = labels
    params = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, batch_size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fastmlp.MLPClassifier(**params).fit(X, y)
        ref = sk.MLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.predict(X).dtype == ref.predict(X).dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_predictions_of_a_few_rows(dtype):
    """One row up to 64 C-ordered, native-endian rows take a short path (own
    buffers, calling thread); 65 rows, a float64 row for float32 weights, and
    strided, Fortran-ordered or big-endian rows take the general one. All agree
    with scikit-learn."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 12).astype(dtype)
    y = rng.randint(0, 4, 300)
    params = dict(hidden_layer_sizes=(20, 9), max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fastmlp.MLPClassifier(**params).fit(X, y)
        ref = sk.MLPClassifier(**params).fit(X, y)
    rtol = RTOL[dtype]
    for rows in [X[:1], X[3:8], X[:64], X[:65], X[:1].astype(np.float64), X[:10:2],
                 np.asfortranarray(X[:5]), X[:3].astype(X.dtype.newbyteorder(">"))]:
        proba = ours.predict_proba(rows)
        assert proba.dtype == ref.predict_proba(rows).dtype
        np.testing.assert_allclose(proba, ref.predict_proba(rows), rtol=rtol, atol=rtol)
        np.testing.assert_array_equal(ours.predict(rows), ref.predict(rows))


def test_short_path_takes_only_rows_it_reads_in_place():
    """predict_rows answers None (the general path then validates X) for anything but
    1 to 64 aligned, C-ordered, native-endian, finite rows in the weights' dtype; and
    params_buffer finds the weights' buffer only while coefs_ and intercepts_ are
    all views of it."""
    rng = np.random.RandomState(0)
    X = rng.randn(100, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fastmlp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
        ours.fit(X, rng.randint(0, 3, 100))
    layout = ours._small_layout()
    params = params_buffer(ours.coefs_, ours.intercepts_)
    assert params is not None and params.base is None
    out = predict_rows(layout, X[:3], params)
    np.testing.assert_allclose(out, ours.predict_proba(X[:65])[:3], rtol=1e-12)
    with_nan = X[:2].copy()
    with_nan[1, 3] = np.nan
    for rows in [X[:65], X[:0], X[:1].astype(np.float32), X[:10:2], np.asfortranarray(X[:5]),
                 X[:3].astype(">f8"), X[:2, :5].copy(), X[0], with_nan, X[:2].tolist()]:
        assert predict_rows(layout, rows, params) is None
    assert predict_rows(layout, X[:1], None) is None
    assert predict_rows(layout, X[:1], params.astype(np.float32)) is None

    ours.intercepts_[0] = ours.intercepts_[0].copy()      # replaced, not modified
    assert params_buffer(ours.coefs_, ours.intercepts_) is None
    np.testing.assert_allclose(ours.predict_proba(X[:3]), out, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_set_params_after_fit_is_used_by_every_prediction(task, dtype):
    """Nothing derived from the parameters outlives set_params: a few rows (the short
    path of a prediction) and many use the current activation, as scikit-learn's do."""
    X = X_ALL.astype(dtype)
    ref, est = fit_both(task, X, Y_ALL[task], **dict(BASE, activation="relu"))
    for model in (ref, est):
        model.set_params(activation="tanh")
    for rows in (X[:1], X[:5], X[:64], X[:65], X):
        assert_same_predictions(ref, est, rows, RTOL[dtype])
    for model in (ref, est):
        model.set_params(activation="logistic")
    assert_same_predictions(ref, est, X[:3], RTOL[dtype])


def test_warm_start_with_another_activation_scores_validation_with_it():
    """A warm-started early-stopping fit after set_params scores its (small)
    validation set with the network it trains."""
    params = dict(BASE, activation="relu", warm_start=True, early_stopping=True,
                  validation_fraction=0.2, n_iter_no_change=50, **SOLVERS["adam"])
    ref, est = fit_both("multiclass", X_ALL, Y_ALL["multiclass"], **params)
    for model in (ref, est):
        model.set_params(activation="tanh")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_ALL, Y_ALL["multiclass"])
    assert_same_fit(ref, est, 1e-6)


def test_warm_start_with_another_regression_loss_reports_that_loss():
    """scikit-learn's loss value is that of its current `loss` parameter, with the
    output activation of the first fit; so is fastmlp's."""
    X, y = X_ALL, np.abs(Y_ALL["regression"]) + 1.0
    params = dict(BASE, activation="tanh", warm_start=True, **SOLVERS["adam"])
    ref, est = fit_both("regression", X, y, **params)
    for loss in ("poisson", "squared_error"):
        for model in (ref, est):
            model.set_params(loss=loss)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
        assert est.out_activation_ == ref.out_activation_ == "identity"
        assert_same_fit(ref, est, 1e-6)
