"""Demo: fastmlp beside scikit-learn on scikit-learn's bundled digits data.

    python -m fastmlp
"""
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier


def timed_fit(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return time.perf_counter() - start


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(100,), max_iter=100, random_state=0)

    rows = []
    for name, cls in [("scikit-learn", SklearnMLPClassifier), ("fastmlp", MLPClassifier)]:
        est = cls(**params)
        seconds = timed_fit(est, X_train, y_train)
        rows.append((name, est, seconds))

    print(f"digits: {X_train.shape[0]} training rows, {X.shape[1]} features, "
          f"{len(np.unique(y))} classes; MLPClassifier{params}\n")
    print(f"{'':14s}{'accuracy':>10s}{'epochs':>8s}{'fit time':>11s}")
    for name, est, seconds in rows:
        print(f"{name:14s}{est.score(X_test, y_test):10.4f}{est.n_iter_:8d}{seconds:10.3f}s")
    (_, sk, sk_time), (_, fm, fm_time) = rows
    same = all(np.allclose(a, b, rtol=1e-6, atol=1e-9) for a, b in zip(sk.coefs_, fm.coefs_))
    print(f"\nspeed-up: {sk_time / fm_time:.1f}x; "
          f"same weights as scikit-learn: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
