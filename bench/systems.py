"""The systems being compared: fastmlp, scikit-learn and (optionally) PyTorch.

Every system offers the same three calls:
  fit(workload, X, y, epochs, seed) -> (model, wall_seconds, n_epochs_run)
  predict_proba(model, X)           -> class probabilities (numpy)
  describe()                        -> dict for the JSON file
"""
import os
import time
import warnings

import numpy as np

from workloads import ALPHA, LEARNING_RATE, MOMENTUM

# For developing the harness only: FASTMLP_BENCH_SUBSTITUTE=sklearn makes the
# "fastmlp" system use scikit-learn's classes (clearly flagged in the output).
SUBSTITUTE_ENV = "FASTMLP_BENCH_SUBSTITUTE"
ALL_SYSTEMS = ("sklearn", "fastmlp", "torch")


def estimator_params(workload, epochs, seed):
    """Constructor arguments shared by fastmlp and scikit-learn."""
    params = dict(
        hidden_layer_sizes=workload.hidden, activation="relu",
        solver=workload.solver, batch_size=workload.batch_size,
        learning_rate_init=LEARNING_RATE, alpha=ALPHA, shuffle=True,
        max_iter=epochs, tol=0.0, n_iter_no_change=10**9, random_state=seed,
    )
    if workload.solver == "sgd":
        params.update(learning_rate="constant", momentum=MOMENTUM,
                      nesterovs_momentum=True)
    return params


class EstimatorSystem:
    """A scikit-learn-compatible MLP implementation (fastmlp or sklearn)."""

    def __init__(self, name, classifier, regressor, version, **info):
        self.name = name
        self.classifier = classifier
        self.regressor = regressor
        self.version = version
        self.info = info

    def describe(self):
        return {"available": True, "version": self.version, **self.info}

    def fit(self, workload, X, y, epochs, seed=0):
        cls = self.regressor if workload.kind == "regression" else self.classifier
        est = cls(**estimator_params(workload, epochs, seed))
        with warnings.catch_warnings():
            from sklearn.exceptions import ConvergenceWarning
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message=".*Maximum iterations.*")
            start = time.perf_counter()
            est.fit(X, y)
            elapsed = time.perf_counter() - start
        return est, elapsed, int(est.n_iter_)

    def predict_proba(self, model, X):
        return model.predict_proba(X)


class TorchSystem:
    """An eager PyTorch training loop equivalent to the scikit-learn MLP."""

    name = "torch"

    def __init__(self, n_threads):
        import torch
        self.torch = torch
        self.version = torch.__version__
        torch.set_num_threads(n_threads)

    def describe(self):
        return {"available": True, "version": self.version,
                "num_threads": self.torch.get_num_threads()}

    def build(self, workload, dtype):
        nn = self.torch.nn
        sizes = workload.layer_sizes
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def optimizer(self, workload, model):
        # L2 on weights only, scaled like scikit-learn's alpha * W / batch_size.
        weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
        groups = [{"params": weights, "weight_decay": ALPHA / workload.batch_size},
                  {"params": biases, "weight_decay": 0.0}]
        if workload.solver == "adam":
            return self.torch.optim.Adam(groups, lr=LEARNING_RATE)
        return self.torch.optim.SGD(groups, lr=LEARNING_RATE, momentum=MOMENTUM,
                                    nesterov=True)

    def targets(self, workload, y, dtype):
        torch = self.torch
        if workload.kind == "multiclass":
            return torch.nn.CrossEntropyLoss(), torch.from_numpy(y.astype(np.int64))
        loss = (torch.nn.BCEWithLogitsLoss() if workload.kind == "binary"
                else torch.nn.MSELoss())
        return loss, torch.from_numpy(np.asarray(y)).to(dtype).reshape(-1, 1)

    def fit(self, workload, X, y, epochs, seed=0):
        torch = self.torch
        start = time.perf_counter()
        torch.manual_seed(seed)
        Xt = torch.from_numpy(np.ascontiguousarray(X))
        model = self.build(workload, Xt.dtype)
        opt = self.optimizer(workload, model)
        loss_fn, yt = self.targets(workload, y, Xt.dtype)
        n, batch = Xt.shape[0], workload.batch_size
        for _ in range(epochs):
            perm = torch.randperm(n)             # per-epoch shuffle, like sklearn
            epoch_loss = 0.0
            for lo in range(0, n, batch):
                idx = perm[lo:lo + batch]        # per-batch gather, like sklearn
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                epoch_loss += loss.detach()
            float(epoch_loss)                    # like sklearn's loss_curve_
        return model, time.perf_counter() - start, epochs

    def predict_proba(self, model, X):
        torch = self.torch
        with torch.no_grad():
            logits = model(torch.from_numpy(X))
            if logits.shape[1] == 1:
                p = torch.sigmoid(logits)
                return torch.cat([1 - p, p], dim=1).numpy()
            return torch.softmax(logits, dim=1).numpy()


def load_fastmlp():
    if os.environ.get(SUBSTITUTE_ENV) == "sklearn":
        import sklearn
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        return EstimatorSystem(
            "fastmlp", MLPClassifier, MLPRegressor,
            f"SUBSTITUTE: sklearn {sklearn.__version__}",
            substitute=f"{SUBSTITUTE_ENV}=sklearn (NOT fastmlp)")
    import fastmlp
    return EstimatorSystem("fastmlp", fastmlp.MLPClassifier, fastmlp.MLPRegressor,
                           getattr(fastmlp, "__version__", "unknown"),
                           location=os.path.dirname(fastmlp.__file__))


def load_system(name, n_threads):
    if name == "sklearn":
        import sklearn
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        return EstimatorSystem("sklearn", MLPClassifier, MLPRegressor,
                               sklearn.__version__)
    if name == "fastmlp":
        return load_fastmlp()
    if name == "torch":
        return TorchSystem(n_threads)
    raise ValueError(f"unknown system {name!r}")


def load_systems(names, n_threads):
    """Return ([available systems], {name: description}) for ``names``."""
    systems, info = [], {}
    for name in names:
        try:
            system = load_system(name, n_threads)
        except Exception as exc:  # ImportError, or a broken build
            info[name] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
            print(f"[bench] {name} unavailable: {info[name]['reason']}", flush=True)
            continue
        systems.append(system)
        info[name] = system.describe()
    return systems, info
