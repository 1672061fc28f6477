"""Fit and predict do not depend on how the inputs are laid out in memory.

The core gathers each batch's rows from X by its strides into a C-ordered work
buffer, so C-ordered, F-ordered, strided, reversed and read-only X must give the
very same bits; so must the different spellings of y and sample_weight.
"""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from fastmlp import MLPClassifier, MLPRegressor

N_SAMPLES, N_FEATURES = 150, 6
rng = np.random.RandomState(0)
X_WIDE = rng.randn(N_SAMPLES, 2 * N_FEATURES)
X = X_WIDE[:, ::2].copy()
Z = X @ rng.randn(N_FEATURES, 2) + 0.5 * rng.randn(N_SAMPLES, 2)
Y_INT = np.digitize(Z[:, 0], [-1, 1])            # classes 0, 1, 2
Y_REG = Z
SW = rng.uniform(0.5, 2.0, N_SAMPLES)
PARAMS = dict(hidden_layer_sizes=(9, 5), activation="tanh", batch_size=40, max_iter=5,
              random_state=0)


def readonly(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


def layouts(dtype):
    """X in several memory layouts, every one holding the same values."""
    base = X.astype(dtype)
    wide = X_WIDE.astype(dtype)
    tall = np.repeat(base, 2, axis=0)
    reversed_rows = base[::-1].copy()[::-1]
    reversed_cols = base[:, ::-1].copy()[:, ::-1]
    variants = {
        "C": np.ascontiguousarray(base),
        "F": np.asfortranarray(base),
        "strided-columns": wide[:, ::2],
        "strided-rows": tall[::2],
        "negative-strides": reversed_rows,
        "negative-column-strides": reversed_cols,
        "readonly": readonly(base),
        "readonly-F": readonly(np.asfortranarray(base)),
    }
    assert not variants["strided-columns"].flags.c_contiguous
    assert not variants["strided-columns"].flags.f_contiguous
    assert not variants["strided-rows"].flags.c_contiguous
    assert variants["negative-strides"].strides[0] < 0
    assert variants["F"].flags.f_contiguous and not variants["F"].flags.c_contiguous
    assert not variants["readonly"].flags.writeable
    for v in variants.values():
        np.testing.assert_array_equal(v, base)
    return variants


def fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def assert_same_weights(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)
    assert a.n_iter_ == b.n_iter_
    assert getattr(a, "loss_curve_", None) == getattr(b, "loss_curve_", None)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", [MLPClassifier, MLPRegressor])
def test_x_layouts_give_identical_fits_and_predictions(kind, dtype, solver):
    y = Y_INT if kind is MLPClassifier else Y_REG
    variants = layouts(dtype)
    ref = fit(kind(solver=solver, **PARAMS), variants["C"], y)
    expected_dtype = dtype if solver != "lbfgs" else np.float64
    assert ref.coefs_[0].dtype == expected_dtype
    method = "predict_proba" if kind is MLPClassifier else "predict"
    ref_out = getattr(ref, method)(variants["C"])
    for name, Xv in variants.items():
        before = Xv.copy()
        est = fit(kind(solver=solver, **PARAMS), Xv, y)
        np.testing.assert_array_equal(Xv, before, err_msg=f"{name}: X modified")
        assert_same_weights(est, ref)
        # predicting: every layout with the reference model, and the layouts' own models
        np.testing.assert_array_equal(getattr(ref, method)(Xv), ref_out, err_msg=name)
        np.testing.assert_array_equal(getattr(est, method)(Xv), ref_out, err_msg=name)
        np.testing.assert_array_equal(est.predict(Xv), ref.predict(variants["C"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_predict_from_a_list_and_other_dtypes(dtype):
    est = fit(MLPRegressor(**PARAMS), X.astype(dtype), Y_REG)
    Xd = X.astype(dtype)
    # a list becomes a float64 array, which computes in float64 (as scikit-learn does)
    out = est.predict(Xd.tolist())
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, est.predict(Xd.astype(np.float64)))
    assert est.predict(Xd).dtype == dtype
    # int X is upcast as scikit-learn upcasts it (int @ float -> float64)
    Xi = np.round(X * 3).astype(np.int64)
    out = est.predict(Xi)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, est.predict(Xi.astype(dtype)),
                               rtol=1e-6 if dtype == np.float64 else 1e-4, atol=1e-5)


def test_x_int_and_list_fit_like_float64():
    Xi = np.round(X * 3).astype(np.int64)
    ref = fit(MLPRegressor(**PARAMS), Xi.astype(np.float64), Y_REG)
    for Xv in (Xi, Xi.tolist(), readonly(Xi), np.asfortranarray(Xi)):
        est = fit(MLPRegressor(**PARAMS), Xv, Y_REG)
        assert est.coefs_[0].dtype == np.float64
        assert_same_weights(est, ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_classifier_label_spellings(dtype):
    Xd = X.astype(dtype)
    ref = fit(MLPClassifier(**PARAMS), Xd, Y_INT)
    names = np.array(["apple", "banana", "cherry"])
    spellings = {
        "list": list(Y_INT),
        "int32": Y_INT.astype(np.int32),
        "float": Y_INT.astype(np.float64),
        "readonly": readonly(Y_INT),
        "strided": np.repeat(Y_INT, 2)[::2],
        "strings": names[Y_INT],
        "string-list": list(names[Y_INT]),
        "object": names[Y_INT].astype(object),
        "shifted": Y_INT * 10 - 7,
    }
    for name, y in spellings.items():
        est = fit(MLPClassifier(**PARAMS), Xd, y)
        assert_same_weights(est, ref)
        np.testing.assert_array_equal(est.predict_proba(Xd), ref.predict_proba(Xd))
        pred = est.predict(Xd)
        assert pred.dtype == est.classes_.dtype
        np.testing.assert_array_equal(est.classes_, np.unique(np.asarray(y)))
        if name.startswith("string") or name == "object":
            np.testing.assert_array_equal(pred, names[ref.predict(Xd)])
        elif name == "shifted":
            np.testing.assert_array_equal(pred, ref.predict(Xd) * 10 - 7)
        else:
            np.testing.assert_array_equal(pred, ref.predict(Xd))


def test_classifier_column_y_warns_and_fits_the_same():
    ref = fit(MLPClassifier(**PARAMS), X, Y_INT)
    with pytest.warns(DataConversionWarning):
        est = fit(MLPClassifier(**PARAMS), X, Y_INT.reshape(-1, 1))
    assert_same_weights(est, ref)


def test_multilabel_indicator_layouts():
    Y = (Z > 0).astype(np.int64)
    ref = fit(MLPClassifier(**PARAMS), X, Y)
    for Yv in (np.asfortranarray(Y), readonly(Y), Y.astype(bool), Y.tolist(),
               np.repeat(Y, 2, axis=1)[:, ::2]):
        assert_same_weights(fit(MLPClassifier(**PARAMS), X, Yv), ref)


def test_regressor_target_spellings():
    ref = fit(MLPRegressor(**PARAMS), X, Y_REG)
    for Yv in (np.asfortranarray(Y_REG), readonly(Y_REG), Y_REG.tolist(),
               np.repeat(Y_REG, 2, axis=1)[:, ::2]):
        assert_same_weights(fit(MLPRegressor(**PARAMS), X, Yv), ref)
    ref1 = fit(MLPRegressor(**PARAMS), X, Y_REG[:, 0])
    for yv in (list(Y_REG[:, 0]), readonly(Y_REG[:, 0]), Y_REG[:, 0].astype(np.float32),
               np.repeat(Y_REG[:, 0], 2)[::2]):
        est = fit(MLPRegressor(**PARAMS), X, yv)
        if np.asarray(yv).dtype == np.float32:   # y values rounded to float32
            np.testing.assert_allclose(est.coefs_[0], ref1.coefs_[0], rtol=1e-4, atol=1e-6)
        else:
            assert_same_weights(est, ref1)
    with pytest.warns(DataConversionWarning):
        est = fit(MLPRegressor(**PARAMS), X, Y_REG[:, :1])
    assert_same_weights(est, ref1)
    assert est.predict(X).shape == (N_SAMPLES,)
    # int targets
    yi = np.round(Y_REG[:, 0] * 4)
    assert_same_weights(fit(MLPRegressor(**PARAMS), X, yi.astype(np.int64)),
                        fit(MLPRegressor(**PARAMS), X, yi))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", [MLPClassifier, MLPRegressor])
def test_sample_weight_spellings(kind, dtype, solver):
    y = Y_INT if kind is MLPClassifier else Y_REG
    Xd = X.astype(dtype)
    ref = fit(kind(solver=solver, **PARAMS), Xd, y, sample_weight=SW)
    # weights are cast to X's dtype, whatever their spelling
    for sw in (readonly(SW), list(SW), np.repeat(SW, 2)[::2], SW.astype(dtype),
               readonly(np.asfortranarray(SW))):
        before = np.array(sw, copy=True)
        est = fit(kind(solver=solver, **PARAMS), Xd, y, sample_weight=sw)
        np.testing.assert_array_equal(sw, before)
        assert_same_weights(est, ref)
    # unit weights are no weights; integer weights are float weights
    ones = fit(kind(solver=solver, **PARAMS), Xd, y, sample_weight=readonly(np.ones(N_SAMPLES)))
    assert_same_weights(ones, fit(kind(solver=solver, **PARAMS), Xd, y))
    swi = np.arange(N_SAMPLES) % 3 + 1
    assert_same_weights(fit(kind(solver=solver, **PARAMS), Xd, y, sample_weight=swi),
                        fit(kind(solver=solver, **PARAMS), Xd, y,
                            sample_weight=swi.astype(float)))
    # and the weights matter
    assert not np.array_equal(ref.coefs_[0], ones.coefs_[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", [MLPClassifier, MLPRegressor])
def test_sparse_layouts(kind, dtype):
    import scipy.sparse as sps
    y = Y_INT if kind is MLPClassifier else Y_REG
    dense = np.where(np.abs(X) > 0.6, X, 0).astype(dtype)
    A = sps.csr_matrix(dense)
    ref = fit(kind(**PARAMS), A, y)
    wide = sps.csr_matrix(np.repeat(dense, 2, axis=1))
    int64 = A.copy()
    int64.indices, int64.indptr = A.indices.astype(np.int64), A.indptr.astype(np.int64)
    ro = A.copy()
    for a in (ro.data, ro.indices, ro.indptr):
        a.setflags(write=False)
    explicit_zeros = A.copy()
    explicit_zeros.data[::3] = 0
    no_zeros = explicit_zeros.copy()
    no_zeros.eliminate_zeros()
    variants = {"csc": sps.csc_matrix(dense), "csr_array": sps.csr_array(dense),
                "csc_array": sps.csc_array(dense), "int64-indices": int64, "readonly": ro,
                "column-slice": wide[:, ::2]}
    method = "predict_proba" if kind is MLPClassifier else "predict"
    for name, Xv in variants.items():
        est = fit(kind(**PARAMS), Xv, y)
        assert_same_weights(est, ref)
        np.testing.assert_array_equal(getattr(est, method)(Xv), getattr(ref, method)(A),
                                      err_msg=name)
    assert_same_weights(fit(kind(**PARAMS), explicit_zeros, y), fit(kind(**PARAMS), no_zeros, y))
    # sparse and dense X: the same model up to the order of the sums
    est = fit(kind(**PARAMS), dense, y)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))
    np.testing.assert_allclose(getattr(ref, method)(dense), getattr(ref, method)(A),
                               rtol=rtol, atol=rtol)



def unpacked_c_contiguous(dtype, nan=False):
    """Arrays NumPy flags C-contiguous whose strides are not the packed ones (a
    length-1 dimension may have any stride), each with a packed copy; with `nan`,
    each holds a NaN."""
    x = X[:, 0].astype(dtype)
    wide = np.repeat(X.astype(dtype), 2, axis=1)
    if nan:
        x[-1] = wide[3, N_FEATURES - 1] = np.nan
    variants = {
        "x[:, None]": (x[:, None], x.reshape(-1, 1).copy()),
        "x[None].T": (x[None].T, x.reshape(-1, 1).copy()),
        "readonly x[:, None]": (readonly(x)[:, None], x.reshape(-1, 1).copy()),
        "one row of a wider array": (wide[3:4, :N_FEATURES], wide[3:4, :N_FEATURES].copy()),
    }
    for a, packed in variants.values():
        assert a.flags.c_contiguous and a.strides != packed.strides
        np.testing.assert_array_equal(a, packed)   # NaN == NaN here
    return variants


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", [MLPClassifier, MLPRegressor])
def test_c_contiguous_arrays_with_unpacked_strides(kind, dtype, solver):
    # scikit-learn takes them; the core read them in place only with packed strides
    # and refused them ("this X must be gathered") in predict and lbfgs's fit
    methods = ["predict", "predict_proba"] if kind is MLPClassifier else ["predict"]
    for name, (Xv, packed) in unpacked_c_contiguous(dtype).items():
        n = Xv.shape[0]
        y = Y_INT[:n] if kind is MLPClassifier else Y_REG[:n, 0]
        if n > 1:
            est = fit(kind(solver=solver, **PARAMS), Xv, y)
            assert_same_weights(est, fit(kind(solver=solver, **PARAMS), packed, y))
            assert est.score(Xv, y) == est.score(packed, y)
        # models of both dtypes: X in the weights' dtype (read in place, in the short
        # path up to 64 rows) and in the other one (converted)
        for model_dtype in (np.float64, np.float32):
            model = fit(kind(solver="adam", **PARAMS),
                        np.resize(X.astype(model_dtype), (N_SAMPLES, Xv.shape[1])), Y_INT)
            for method in methods:
                np.testing.assert_array_equal(getattr(model, method)(Xv),
                                              getattr(model, method)(packed), err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_nan_in_an_unpacked_c_contiguous_array_is_sklearns_error(dtype):
    # the error was "this X must be gathered, and the layout has no input block"
    for name, (Xv, _) in unpacked_c_contiguous(dtype, nan=True).items():
        for model_dtype in (np.float64, np.float32):
            est = fit(MLPClassifier(**PARAMS),
                      np.resize(X.astype(model_dtype), (N_SAMPLES, Xv.shape[1])), Y_INT)
            with pytest.raises(ValueError, match="Input X contains NaN"):
                est.predict(Xv)
