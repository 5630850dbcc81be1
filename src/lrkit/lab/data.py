"""Built-in data that needs no download, and user ``.npz`` files.

- ``digits``: scikit-learn's 1797 8x8 digits (64 features, 10 classes),
  split 1437/360 by a fixed permutation, standardised on the training split.
- ``mnist1d``: MNIST-1D built locally with ``mnist1d.data.make_dataset``
  (4000/1000, 40 features, 10 classes); never its download path.
- ``PATH.npz``: arrays ``x_train, y_train, x_val, y_val`` (or ``x, y``, split 80/20).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import MissingDependencyError, SpecError

__all__ = ["BUILTIN", "Dataset", "load_dataset"]

BUILTIN = ("digits", "mnist1d")


@dataclass(frozen=True)
class Dataset:
    """Train and validation arrays (float32 features, int64 labels)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={len(self.x_train)}, val={len(self.x_val)}, "
                f"features={self.n_features}, classes={self.n_classes})")


def _standardise(x_train, x_val):
    mu = x_train.mean(axis=0, keepdims=True)
    sd = x_train.std(axis=0, keepdims=True)
    sd = np.where(sd > 1e-8, sd, 1.0)
    return ((x_train - mu) / sd).astype(np.float32), ((x_val - mu) / sd).astype(np.float32)


def _finish(name, xt, yt, xv, yv) -> Dataset:
    xt, xv = _standardise(np.asarray(xt, np.float64), np.asarray(xv, np.float64))
    yt, yv = np.asarray(yt, np.int64), np.asarray(yv, np.int64)
    n_classes = int(max(yt.max(), yv.max()) + 1)
    return Dataset(name, xt, yt, xv, yv, n_classes)


@lru_cache(maxsize=4)
def _digits() -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependencyError("scikit-learn", "lab") from None
    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.target))
    x, y = d.data[perm], d.target[perm]
    n = 1437
    return _finish("digits", x[:n], y[:n], x[n:], y[n:])


@lru_cache(maxsize=4)
def _mnist1d() -> Dataset:
    try:
        import mnist1d.data as m
    except ImportError:
        raise MissingDependencyError("mnist1d", "lab") from None
    ds = m.make_dataset(m.get_dataset_args())  # built locally, deterministic (its own seed)
    return _finish("mnist1d", ds["x"], ds["y"], ds["x_test"], ds["y_test"])


def _npz(path: str) -> Dataset:
    if not os.path.exists(path):
        raise SpecError(f"load_dataset(): no such file {path!r}")
    with np.load(path) as z:
        keys = set(z.files)
        if {"x_train", "y_train", "x_val", "y_val"} <= keys:
            parts = z["x_train"], z["y_train"], z["x_val"], z["y_val"]
        elif {"x", "y"} <= keys:
            x, y = z["x"], z["y"]
            perm = np.random.default_rng(0).permutation(len(y))
            n = int(round(0.8 * len(y)))
            parts = x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]
        else:
            raise SpecError(f"load_dataset(): {path!r} must hold x_train, y_train, x_val, y_val "
                            f"(or x, y); got {sorted(keys)}")
    xt, yt, xv, yv = parts
    if len(xt) != len(yt) or len(xv) != len(yv) or len(xt) == 0 or len(xv) == 0:
        raise SpecError(f"load_dataset(): {path!r} has mismatched or empty arrays")
    flat = lambda a: np.asarray(a).reshape(len(a), -1)  # noqa: E731
    return _finish(os.path.basename(path), flat(xt), yt, flat(xv), yv)


def load_dataset(name: str) -> Dataset:
    """Load ``"digits"``, ``"mnist1d"`` or a ``.npz`` path (see module doc).

    >>> d = load_dataset("digits")
    >>> d.x_train.shape, d.x_val.shape, d.n_classes
    ((1437, 64), (360, 64), 10)
    """
    if name == "digits":
        return _digits()
    if name == "mnist1d":
        return _mnist1d()
    if isinstance(name, str) and name.endswith(".npz"):
        return _npz(name)
    raise SpecError(f"load_dataset(): name must be one of {', '.join(BUILTIN)} or a .npz path; got {name!r}")
