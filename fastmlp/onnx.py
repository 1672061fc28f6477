"""ONNX export: ``import fastmlp.onnx`` registers fastmlp's MLPClassifier and
MLPRegressor with skl2onnx, so that ``skl2onnx.to_onnx`` converts them, alone
or inside a Pipeline, as it converts scikit-learn's.

The classifier uses skl2onnx's own MLP converter. The regressor's converter is
skl2onnx's forward pass with two additions that scikit-learn's MLPRegressor
lacks there too: the exponential output of ``loss="poisson"``, and the
(n_samples, n_outputs) shape of a multi-output regressor. A multilabel
classifier exports in float32 only (onnxruntime has no float64 Binarizer).

Needs skl2onnx (``pip install fastmlp[onnx]``; onnxruntime runs the models).
See :ref:`onnx`.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> from skl2onnx import to_onnx
>>> from sklearn.datasets import load_iris
>>> import fastmlp.onnx
>>> from fastmlp import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = X.astype(np.float32)
>>> clf = MLPClassifier(solver="lbfgs", max_iter=300, random_state=0).fit(X, y)
>>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
>>> session = ort.InferenceSession(onx.SerializeToString(),
...                                providers=["CPUExecutionProvider"])
>>> labels, probabilities = session.run(None, {"X": X})
>>> bool((labels == clf.predict(X)).all())
True
>>> bool(np.abs(probabilities - clf.predict_proba(X)).max() < 1e-5)
True
"""
from types import SimpleNamespace

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common._apply_operation import apply_reshape
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.operator_converters.multilayer_perceptron import (
        _predict,
        convert_sklearn_mlp_classifier,
    )
    from skl2onnx.proto import onnx_proto
except ImportError as exc:
    raise ImportError(
        "fastmlp.onnx requires skl2onnx. You can install it with "
        "`pip install fastmlp[onnx]` (skl2onnx and onnxruntime)."
    ) from exc

from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["CLASSIFIER_ALIAS", "REGRESSOR_ALIAS"]

#: the names of fastmlp's estimators among skl2onnx's converters
CLASSIFIER_ALIAS = "FastmlpMLPClassifier"
REGRESSOR_ALIAS = "FastmlpMLPRegressor"


def convert_mlp_regressor(scope, operator, container):
    """The regressor's ONNX graph: the layers, then the output activation
    (identity, or exp for the Poisson loss), shaped (n_samples, n_outputs)."""
    model = operator.raw_operator
    proto_dtype = guess_proto_type(operator.inputs[0].type)
    if proto_dtype != onnx_proto.TensorProto.DOUBLE:
        proto_dtype = onnx_proto.TensorProto.FLOAT
    # skl2onnx's forward pass knows the identity output, not exp: it draws the
    # layers, and Exp follows
    layers = SimpleNamespace(n_layers_=model.n_layers_, coefs_=model.coefs_,
                             intercepts_=model.intercepts_, activation=model.activation,
                             out_activation_="identity")
    y_pred = _predict(scope, operator.inputs[0].full_name, container, layers, proto_dtype)
    if model.out_activation_ == "exp":
        exp_name = scope.get_unique_variable_name("exp_result")
        container.add_node("Exp", y_pred, exp_name, name=scope.get_unique_operator_name("Exp"))
        y_pred = exp_name
    apply_reshape(scope, y_pred, operator.output_full_names, container,
                  desired_shape=(-1, model.n_outputs_))


def calculate_mlp_classifier_output_shapes(operator):
    """skl2onnx's classifier outputs; a multilabel classifier's labels are
    (N, n_labels), not (N,)."""
    calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if model._label_binarizer.y_type_.startswith("multilabel"):
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type.shape = [n_rows, model.n_outputs_]


def calculate_mlp_regressor_output_shapes(operator):
    """skl2onnx's regressor output, (N, 1), widened to (N, n_outputs)."""
    calculate_linear_regressor_output_shapes(operator)
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type.shape = [n_rows, operator.raw_operator.n_outputs_]


update_registered_converter(
    MLPClassifier, CLASSIFIER_ALIAS, calculate_mlp_classifier_output_shapes,
    convert_sklearn_mlp_classifier,
    # skl2onnx's options for scikit-learn's MLPClassifier
    options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
             "nocl": [True, False]},
)
update_registered_converter(
    MLPRegressor, REGRESSOR_ALIAS, calculate_mlp_regressor_output_shapes,
    convert_mlp_regressor,
)
