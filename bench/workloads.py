"""Workload definitions, synthetic data and the FLOP count used for GFLOP/s.

All data is synthetic (numpy random numbers with labels from a random linear
"teacher"), so the harness needs no downloads and is reproducible from a seed.
"""
from dataclasses import dataclass, replace

import numpy as np

ALPHA = 1e-4           # L2 penalty: scikit-learn's default ``alpha``
LEARNING_RATE = 1e-3   # scikit-learn's default ``learning_rate_init``
MOMENTUM = 0.9         # SGD momentum (Nesterov) for the sgd workloads


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str            # "binary", "multiclass" or "regression"
    n_features: int
    hidden: tuple
    n_classes: int       # 0 for regression
    batch_size: int
    solver: str          # "adam" or "sgd" (Nesterov momentum 0.9)
    n_samples: int

    @property
    def n_outputs(self):
        """Output units: 1 for binary (logistic) and regression, else n_classes."""
        return self.n_classes if self.n_classes > 2 else 1

    @property
    def layer_sizes(self):
        return (self.n_features, *self.hidden, self.n_outputs)

    def flops_per_sample(self):
        """Dense-layer FLOPs of one forward + backward pass for one sample.

        Per layer with fan_in x fan_out weights:
          forward              2 * fan_in * fan_out   (X @ W)
          weight gradient      2 * fan_in * fan_out   (X.T @ delta)
          input gradient       2 * fan_in * fan_out   (delta @ W.T),
                               skipped for the first layer (nobody needs it).
        Bias adds, activations, the loss and optimizer updates are not counted.
        """
        total = 0
        for i, (fan_in, fan_out) in enumerate(zip(self.layer_sizes[:-1],
                                                  self.layer_sizes[1:])):
            passes = 2 if i == 0 else 3
            total += passes * 2 * fan_in * fan_out
        return total

    def flops_per_epoch(self, n_samples=None):
        return (n_samples or self.n_samples) * self.flops_per_sample()

    def describe(self):
        hidden = "x".join(str(h) for h in self.hidden)
        return (f"{self.n_features}-{hidden}-{self.n_outputs} {self.kind}, "
                f"{self.solver}, batch {self.batch_size}, n={self.n_samples}")


WORKLOADS = [
    Workload("small_tabular", "binary", 20, (64,), 2, 200, "adam", 20_000),
    Workload("mnist_shaped", "multiclass", 784, (100,), 10, 200, "adam", 20_000),
    Workload("wide", "multiclass", 256, (512, 512), 10, 256, "sgd", 10_000),
    Workload("regression", "regression", 50, (128, 64), 0, 128, "sgd", 20_000),
]
WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}

# Classifier used for the prediction-throughput benchmark (1 epoch of training).
PREDICT_WORKLOAD = Workload("predict_64", "multiclass", 64, (100,), 10, 200,
                            "adam", 20_000)


def shrink(workload, factor, minimum=2_000):
    """A copy of ``workload`` with n_samples divided by ``factor`` (quick mode)."""
    n = max(minimum, workload.n_samples // factor)
    return replace(workload, n_samples=min(n, workload.n_samples))


def make_data(workload, dtype, n_samples=None, seed=0):
    """Standard-normal X of ``dtype`` and targets from a random linear teacher."""
    n = n_samples or workload.n_samples
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, workload.n_features), dtype=np.float64)
    teacher = rng.standard_normal((workload.n_features, max(workload.n_classes, 1)))
    scores = X @ teacher / np.sqrt(workload.n_features)
    scores += 0.3 * rng.standard_normal(scores.shape)
    if workload.kind == "regression":
        y = scores[:, 0].astype(dtype)
    elif workload.kind == "binary":
        y = (scores[:, 0] > 0).astype(np.int64)
    else:
        y = scores.argmax(axis=1).astype(np.int64)
    return np.ascontiguousarray(X, dtype=dtype), y
