"""
=======================================
Learning from a stream with partial_fit
=======================================

:meth:`~fastmlp.MLPClassifier.partial_fit` runs one epoch over the data it is
given, keeping the weights and the optimizer's state between calls, so a model can
learn from data that arrives in chunks, or that does not fit in memory at once.
Here each chunk is first used to test the model, then to train it ("test, then
train"), which gives a running score on data the model has not seen yet.
"""

# %%
# A stream of chunks
# ------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification

from fastmlp import MLPClassifier

X, y = make_classification(
    n_samples=30_000,
    n_features=20,
    n_informative=10,
    n_classes=3,
    random_state=0,
)
classes = np.unique(y)  # every class, known before the stream starts
chunk_size = 500
chunks = [
    (X[i : i + chunk_size], y[i : i + chunk_size])
    for i in range(0, len(X), chunk_size)
]
print(f"{len(chunks)} chunks of {chunk_size} rows")

# %%
# Test, then train
# ----------------
# The first call needs ``classes``: a chunk need not hold every class.
clf = MLPClassifier(
    hidden_layer_sizes=(64,), learning_rate_init=0.003, random_state=0
)
scores, seen = [], []
start = time.perf_counter()
for i, (X_chunk, y_chunk) in enumerate(chunks):
    if i > 0:
        scores.append(
            clf.score(X_chunk, y_chunk)
        )  # before the model learns from it
        seen.append(clf.t_)
    clf.partial_fit(X_chunk, y_chunk, classes=classes)
elapsed = time.perf_counter() - start
print(f"{len(chunks)} partial_fit calls and {len(scores)} scores in {elapsed:.2f} s")
print(f"accuracy on the last 10 chunks, before training: {np.mean(scores[-10:]):.3f}")

# %%
# The running score
# -----------------
# Each point is the accuracy on the next chunk, before the model trained on it;
# the line is its mean over the last 10 chunks.
running = np.convolve(scores, np.ones(10) / 10, mode="valid")
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.plot(seen, scores, ".", color="tab:gray", label="next chunk")
ax.plot(seen[9:], running, color="tab:blue", label="mean of the last 10 chunks")
ax.set_xlabel("Training samples seen (t_)")
ax.set_ylabel("Accuracy on unseen data")
ax.set_title("partial_fit on a stream of 500-row chunks")
ax.legend(loc="lower right")
plt.show()

# %%
# For data larger than memory held in a dask array, dask-ml's ``Incremental``
# makes the same calls over the array's chunks (:ref:`scaling_out`).
