"""
==========================================
ONNX export, checked against predict_proba
==========================================

``import fastmlp.onnx`` registers fastmlp's estimators with skl2onnx, so that
``skl2onnx.to_onnx`` converts a fastmlp model, or a pipeline holding one, as it
converts scikit-learn's (``pip install "fastmlp[onnx]"``). The exported model runs
wherever onnxruntime does, without Python or fastmlp. Here the probabilities it
computes are compared with ``predict_proba``'s. See :ref:`onnx`.
"""

# %%
# Fit and export
# --------------
import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp.onnx  # noqa: F401  (registers fastmlp's converters with skl2onnx)
from fastmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, random_state=0, stratify=y
)
pipeline = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=0),
)
pipeline.fit(X_train, y_train)

# the input's type and width come from one row; zipmap=False gives the
# probabilities as one array rather than a dict per row
onx = to_onnx(pipeline, X_train[:1], options={"zipmap": False})
print(f"ONNX graph: {len(onx.graph.node)} nodes")

# %%
# Run it with onnxruntime
# -----------------------
session = ort.InferenceSession(
    onx.SerializeToString(), providers=["CPUExecutionProvider"]
)
input_name = session.get_inputs()[0].name
onnx_labels, onnx_proba = session.run(None, {input_name: X_test})

proba = pipeline.predict_proba(X_test)
difference = np.abs(onnx_proba - proba)
print(f"largest difference of the probabilities: {difference.max():.2e}")
print("same labels:", bool((onnx_labels == pipeline.predict(X_test)).all()))

# %%
# The differences are float32 rounding: onnxruntime computes in another order.
fig, (ax_scatter, ax_hist) = plt.subplots(
    1, 2, figsize=(10, 4), layout="constrained"
)
ax_scatter.plot(proba.ravel(), onnx_proba.ravel(), ".", markersize=3)
ax_scatter.plot([0, 1], [0, 1], color="gray", linewidth=0.5)
ax_scatter.set_xlabel("fastmlp predict_proba")
ax_scatter.set_ylabel("onnxruntime")
ax_scatter.set_title("Every probability of the test set")
nonzero = difference[difference > 0]
ax_hist.hist(np.log10(nonzero), bins=40)
ax_hist.set_xlabel("log10 |onnxruntime - predict_proba|, where not 0")
ax_hist.set_ylabel("probabilities")
ax_hist.set_title(f"{(difference == 0).mean():.0%} agree exactly")
plt.show()
