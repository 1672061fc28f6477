"""The compiled loss and gradient (``fastmlp._core._network.loss_grad``).

Checked three ways for every hidden activation x output activation/loss, with
and without the L2 penalty and sample weights:
- against central finite differences of the compiled loss itself;
- against a small pure-NumPy forward pass + backprop written here from
  SKLEARN_MLP_NOTES.md (the oracle);
- against scikit-learn's own ``_loss_grad_lbfgs``.
and the float32 kernels against the float64 ones.
"""
import numpy as np
import pytest
import sklearn.neural_network as sk
from scipy.special import expit, xlogy

from fastmlp._core._layout import Layout, Workspace
from fastmlp._core._network import loss_grad
from fastmlp._functions import HIDDEN_ACTIVATIONS, LOSS_OF_OUTPUT, OUTPUT_ACTIVATIONS

HIDDEN = ["identity", "logistic", "tanh", "relu"]
# (output activation, n_outputs): squared error single and multi-output, multiclass
# log-loss, binary log-loss (binary and multilabel), Poisson single and multi-output
OUTPUTS = [("identity", 1), ("identity", 3), ("softmax", 3), ("logistic", 1),
           ("logistic", 3), ("exp", 1), ("exp", 2)]
OUTPUT_IDS = [f"{out}{k}" for out, k in OUTPUTS]


# ---------------------------------------------------------------------------
# The NumPy oracle
# ---------------------------------------------------------------------------

def np_hidden(name, z):
    return {"identity": lambda: z, "logistic": lambda: expit(z), "tanh": lambda: np.tanh(z),
            "relu": lambda: np.maximum(z, 0)}[name]()


def np_hidden_derivative(name, a):
    """f'(z) written in terms of a = f(z)."""
    return {"identity": lambda: np.ones_like(a), "logistic": lambda: a * (1 - a),
            "tanh": lambda: 1 - a ** 2, "relu": lambda: (a != 0).astype(a.dtype)}[name]()


def np_output(name, z):
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return {"identity": lambda: z, "logistic": lambda: expit(z), "exp": lambda: np.exp(z)}[name]()


def np_sample_loss(name, y, a):
    """Loss of each row."""
    eps = np.finfo(a.dtype).eps
    if name == "identity":     # half squared error averaged over outputs
        return 0.5 * ((y - a) ** 2).mean(axis=1)
    if name == "softmax":      # log-loss
        return -xlogy(y, np.clip(a, eps, 1 - eps)).sum(axis=1)
    if name == "logistic":     # binary log-loss, summed over the labels
        p = np.clip(a, eps, 1 - eps)
        return -(xlogy(y, p) + xlogy(1 - y, 1 - p)).sum(axis=1)
    return (xlogy(y, y / a) - y + a).sum(axis=1)   # half Poisson deviance


def unpack(params, units):
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        coefs.append(params[start:start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(params[start:start + fan_out])
        start += fan_out
    assert start == params.shape[0]
    return coefs, intercepts


def np_loss_grad(params, units, hidden, out, alpha, X, Y, sw):
    """Loss and gradient of one batch as scikit-learn computes them, in NumPy."""
    coefs, intercepts = unpack(params, units)
    acts = [X]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        z = acts[-1] @ W + b
        acts.append(np_hidden(hidden, z) if i < len(coefs) - 1 else np_output(out, z))
    w = np.ones(X.shape[0]) if sw is None else sw
    sw_sum = w.sum()
    l2 = sum(np.dot(W.ravel(), W.ravel()) for W in coefs)
    loss = np.dot(w, np_sample_loss(out, Y, acts[-1])) / sw_sum + 0.5 * alpha * l2 / sw_sum

    delta = (acts[-1] - Y) * w[:, None]   # canonical link: d loss / dz = a - y
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        coef_grads[i] = (acts[i].T @ delta + alpha * coefs[i]) / sw_sum
        intercept_grads[i] = delta.sum(axis=0) / sw_sum
        if i > 0:
            delta = (delta @ coefs[i].T) * np_hidden_derivative(hidden, acts[i])
    grad = np.concatenate([g.ravel() for g in coef_grads] + intercept_grads)
    return loss, grad


# ---------------------------------------------------------------------------
# Problems and the compiled entry point
# ---------------------------------------------------------------------------

def make_problem(hidden, out, n_outputs, units_hidden=(4, 3), n=30, n_features=5,
                 alpha=0.0, weighted=False, seed=0, capacity_extra=3):
    rng = np.random.RandomState(seed)
    units = [n_features, *units_hidden, n_outputs]
    X = rng.randn(n, n_features)
    if out == "identity":
        Y = rng.randn(n, n_outputs)
    elif out == "softmax":
        Y = np.eye(n_outputs)[rng.randint(0, n_outputs, n)]
    elif out == "logistic":
        Y = (rng.rand(n, n_outputs) > 0.5).astype(np.float64)
    else:   # counts, zeros included
        Y = rng.poisson(1.5, (n, n_outputs)).astype(np.float64)
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    layout = Layout(units, HIDDEN_ACTIVATIONS[hidden], OUTPUT_ACTIVATIONS[out],
                    LOSS_OF_OUTPUT[out], alpha, n + capacity_extra)
    # parameters a little larger than Glorot's, so every nonlinearity is exercised
    params = rng.uniform(-1, 1, layout.n_params)
    return layout, units, params, X, np.ascontiguousarray(Y), sw


def compiled(layout, params, X, Y, sw, dtype=np.float64, n_threads=1):
    ws = Workspace(layout, dtype)
    grads = np.full(layout.n_params, np.nan, dtype=dtype)
    cast = lambda a: None if a is None else np.ascontiguousarray(a, dtype=dtype)
    loss = loss_grad(ws, cast(params), grads, X.astype(dtype), cast(Y), cast(sw), n_threads)
    return loss, grads


def l2_term(layout, params, alpha, sw_sum):
    n_coefs = layout.coef_slices()[-1][1]
    return 0.5 * alpha * np.dot(params[:n_coefs], params[:n_coefs]) / sw_sum


def finite_difference_check(layout, params, X, Y, sw, out, n_outputs, alpha, coords,
                            h=1e-6, n_threads=1):
    """Central differences of the compiled loss on `coords` (one thread: the tiles do
    not depend on it), against its gradient computed on `n_threads`."""
    _, grads = compiled(layout, params, X, Y, sw, n_threads=n_threads)
    sw_sum = X.shape[0] if sw is None else sw.sum()
    ws = Workspace(layout, np.float64)
    scratch = np.empty(layout.n_params)

    def objective(p):
        loss = loss_grad(ws, p, scratch, X, Y, sw, 1)
        if out == "identity":
            # scikit-learn's squared-error loss averages over outputs but its gradient
            # does not (issue #8349): the gradient is that of n_outputs * data loss + L2
            l2 = l2_term(layout, p, alpha, sw_sum)
            return n_outputs * (loss - l2) + l2
        return loss

    fd = np.empty(len(coords))
    for j, c in enumerate(coords):
        p = params.copy()
        p[c] = params[c] + h
        up = objective(p)
        p[c] = params[c] - h
        down = objective(p)
        fd[j] = (up - down) / (2 * h)
    np.testing.assert_allclose(grads[coords], fd, rtol=1e-6,
                               atol=1e-7 * np.max(np.abs(grads)))
    return grads


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("out, n_outputs", OUTPUTS, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_finite_differences_every_coordinate(hidden, out, n_outputs, alpha, weighted):
    layout, units, params, X, Y, sw = make_problem(hidden, out, n_outputs, alpha=alpha,
                                                   weighted=weighted)
    grads = finite_difference_check(layout, params, X, Y, sw, out, n_outputs, alpha,
                                    np.arange(layout.n_params))
    assert np.all(np.isfinite(grads)) and np.max(np.abs(grads)) > 1e-3


@pytest.mark.parametrize("out, n_outputs", [("softmax", 4), ("identity", 2), ("exp", 1)])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_finite_differences_tiled_network(hidden, out, n_outputs):
    """A wider network and batch, so the core splits rows and weight-gradient rows into
    several tiles, on several threads; a few hundred random coordinates and every
    intercept."""
    layout, units, params, X, Y, sw = make_problem(
        hidden, out, n_outputs, units_hidden=(70, 40), n=200, n_features=66, alpha=0.1,
        weighted=True, seed=1)
    params *= 0.15
    coords = np.random.RandomState(2).choice(layout.n_params, 250, replace=False)
    coords = np.union1d(coords, np.arange(layout.n_params - 120, layout.n_params))  # biases
    finite_difference_check(layout, params, X, Y, sw, out, n_outputs, 0.1, coords,
                            n_threads=2)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("out, n_outputs", OUTPUTS, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_and_gradient_match_numpy_oracle(hidden, out, n_outputs, alpha, weighted):
    layout, units, params, X, Y, sw = make_problem(hidden, out, n_outputs, alpha=alpha,
                                                   weighted=weighted, seed=3)
    loss, grads = compiled(layout, params, X, Y, sw)
    ref_loss, ref_grads = np_loss_grad(params, units, hidden, out, alpha, X, Y, sw)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-10,
                               atol=1e-13 * np.max(np.abs(ref_grads)))


def sklearn_estimator(hidden, out, units, alpha):
    """A scikit-learn MLP set up by hand for `_loss_grad_lbfgs` (as its _fit_lbfgs does)."""
    if out in ("softmax", "logistic"):
        est = sk.MLPClassifier(activation=hidden, alpha=alpha)
    else:
        est = sk.MLPRegressor(activation=hidden, alpha=alpha,
                              loss="poisson" if out == "exp" else "squared_error")
    n_layers = len(units) - 1
    est.n_layers_ = n_layers + 1
    est.n_outputs_ = units[-1]
    est.out_activation_ = out
    est.coefs_ = [None] * n_layers
    est.intercepts_ = [None] * n_layers
    est._coef_indptr, est._intercept_indptr, start = [], [], 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        est._coef_indptr.append((start, start + fan_in * fan_out, (fan_in, fan_out)))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        est._intercept_indptr.append((start, start + fan_out))
        start += fan_out
    return est


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out, n_outputs", OUTPUTS, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_and_gradient_match_sklearn(hidden, out, n_outputs, weighted):
    alpha = 0.2
    layout, units, params, X, Y, sw = make_problem(hidden, out, n_outputs, alpha=alpha,
                                                   weighted=weighted, seed=4)
    # the layout packs parameters exactly as scikit-learn packs them for lbfgs
    est = sklearn_estimator(hidden, out, units, alpha)
    assert [(a, b, tuple(s)) for a, b, s in layout.coef_slices()] == \
        [(a, b, tuple(s)) for a, b, s in est._coef_indptr]
    assert [tuple(s) for s in layout.intercept_slices()] == est._intercept_indptr

    n_layers = len(units) - 1
    ref_loss, ref_grads = est._loss_grad_lbfgs(
        params, X, Y, sw, [X] + [None] * n_layers, [None] * n_layers,
        [np.empty((a, b)) for a, b in zip(units[:-1], units[1:])],
        [np.empty(b) for b in units[1:]])
    loss, grads = compiled(layout, params, X, Y, sw)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-10,
                               atol=1e-13 * np.max(np.abs(ref_grads)))


def test_sklearn_fitted_coefficients():
    """loss_grad at the weights of a scikit-learn fit equals its own loss and gradient."""
    rng = np.random.RandomState(5)
    X = rng.randn(60, 4)
    y = rng.randint(0, 3, 60)
    ref = sk.MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs",
                           max_iter=3, alpha=0.05, random_state=0)
    with pytest.warns(Warning):
        ref.fit(X, y)
    packed = np.concatenate([c.ravel() for c in ref.coefs_] + ref.intercepts_)
    Y = np.ascontiguousarray(ref._label_binarizer.transform(y), dtype=np.float64)
    ref_loss, ref_grads = ref._loss_grad_lbfgs(
        packed, X, Y, None, [X, None, None], [None, None],
        [np.empty((4, 6)), np.empty((6, 3))], [np.empty(6), np.empty(3)])
    layout = Layout([4, 6, 3], HIDDEN_ACTIVATIONS["tanh"], OUTPUT_ACTIVATIONS["softmax"],
                    LOSS_OF_OUTPUT["softmax"], 0.05, 60)
    loss, grads = compiled(layout, packed, X, Y, None)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-10, atol=1e-14)
    assert loss == pytest.approx(ref.loss_curve_[-1] if hasattr(ref, "loss_curve_")
                                 else ref.loss_, rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out, n_outputs", OUTPUTS, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_float32_close_to_float64(hidden, out, n_outputs, weighted):
    layout, units, params, X, Y, sw = make_problem(hidden, out, n_outputs, alpha=0.2,
                                                   weighted=weighted, seed=6)
    params = params.astype(np.float32).astype(np.float64)   # the same starting point
    X = X.astype(np.float32).astype(np.float64)
    loss64, grads64 = compiled(layout, params, X, Y, sw)
    loss32, grads32 = compiled(layout, params, X, Y, sw, dtype=np.float32)
    assert grads32.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grads32, grads64, rtol=1e-4,
                               atol=1e-5 * np.max(np.abs(grads64)))
    # and the float32 result is not the float64 one: the kernels really ran in float32
    assert not np.array_equal(grads32.astype(np.float64), grads64)


def test_gradient_independent_of_capacity_and_workspace_reuse():
    """A larger capacity (unused rows in the work buffers) and a reused, dirty
    workspace give the same bits."""
    layout, units, params, X, Y, sw = make_problem("relu", "softmax", 3, alpha=0.1,
                                                   weighted=True, capacity_extra=0)
    loss, grads = compiled(layout, params, X, Y, sw)
    big = Layout(units, HIDDEN_ACTIVATIONS["relu"], OUTPUT_ACTIVATIONS["softmax"],
                 LOSS_OF_OUTPUT["softmax"], 0.1, 500)
    ws = Workspace(big, np.float64)
    ws.acts[:] = np.nan
    ws.deltas[:] = np.nan
    grads2 = np.full_like(grads, np.nan)
    # a first call on other rows dirties the buffers
    loss_grad(ws, params, grads2, X[::-1].copy(), Y[::-1].copy(), None, 1)
    assert loss_grad(ws, params, grads2, X, Y, sw, 1) == loss
    np.testing.assert_array_equal(grads2, grads)


def test_loss_grad_rejects_bad_shapes():
    layout, units, params, X, Y, sw = make_problem("tanh", "identity", 1)
    ws = Workspace(layout, np.float64)
    grads = np.empty(layout.n_params)
    with pytest.raises(ValueError):
        loss_grad(ws, params[:-1], grads[:-1], X, Y, None, 1)
    with pytest.raises(ValueError):
        loss_grad(ws, params, grads, X[:, :-1].copy(), Y, None, 1)
    with pytest.raises(ValueError):
        loss_grad(ws, params, grads, X, Y[:-1], None, 1)
    with pytest.raises(ValueError):
        loss_grad(ws, params, grads, X, Y, sw if sw is not None else np.ones(3), 1)
    too_many = np.vstack([X] * 2)
    with pytest.raises(ValueError):   # more rows than the workspace holds
        loss_grad(ws, params, grads, too_many, np.vstack([Y] * 2), None, 1)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out, n_outputs", [("softmax", 3), ("identity", 2), ("logistic", 1)])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_sparse_x(hidden, out, n_outputs, weighted):
    """CSR X: the first layer's sparse products give the dense loss and gradient, which
    finite differences confirm."""
    import scipy.sparse as sps
    layout, units, params, X, Y, sw = make_problem(hidden, out, n_outputs, alpha=0.2,
                                                   weighted=weighted, seed=7)
    X = np.where(np.abs(X) > 0.7, X, 0)
    Xs = sps.csr_matrix(X)
    loss, grads = compiled(layout, params, X, Y, sw)
    ws = Workspace(layout, np.float64)
    sparse_grads = np.full(layout.n_params, np.nan)
    sparse_loss = loss_grad(ws, params, sparse_grads, Xs, Y, sw, 1)
    assert sparse_loss == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(sparse_grads, grads, rtol=1e-11,
                               atol=1e-14 * np.max(np.abs(grads)))
    ref_loss, ref_grads = np_loss_grad(params, units, hidden, out, 0.2, X, Y, sw)
    np.testing.assert_allclose(sparse_grads, ref_grads, rtol=1e-10,
                               atol=1e-13 * np.max(np.abs(ref_grads)))
