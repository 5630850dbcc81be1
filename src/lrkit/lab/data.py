"""Built-in data that needs no download, and user ``.npz`` files.

``load_dataset(name)`` gives a training and a validation split (what the range
test and the experiments use); ``load_dataset(name, test=True)`` gives three
disjoint splits, training / validation / **test**, for ``lrkit compare``, where
choices (the lr of each schedule) read the validation split only and the
verdict reads the test split only.

=========== ======================= ===================================================
name        ``test=False``          ``test=True``
=========== ======================= ===================================================
digits      1437 / 360              1077 / 360 / 360
mnist1d     4000 / 1000             3000 / 1000 / 1000 (its own test set)
PATH.npz    its splits              its splits (see below)
=========== ======================= ===================================================

- ``digits``: scikit-learn's 1797 8x8 digits (64 features, 10 classes), split
  by a fixed permutation (``numpy.random.default_rng(0)``).
- ``mnist1d``: built locally by ``mnist1d.data.make_dataset`` (40 features,
  10 classes); never its download path. With ``test=True`` the last 1000 of its
  4000 training samples are the validation split and its 1000 test samples the test split.
- ``PATH.npz``: arrays ``x_train, y_train, x_val, y_val`` (and ``x_test, y_test``),
  or ``x, y`` (split 80/20, or 60/20/20 with ``test=True``, by a fixed permutation).
  With ``test=True`` and no ``x_test``, half of the validation split (a fixed
  permutation) is held out as the test split. Features: numbers, one row per
  sample, finite; labels: whole numbers >= 0 (integer, or float holding whole
  numbers), one per row. Anything else is an error naming the problem, never
  a silent repair.

Features are standardised with the mean and std of the training split.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..checks import fail, flag
from ..errors import MissingDependencyError, SpecError

__all__ = ["BUILTIN", "Dataset", "load_dataset"]

BUILTIN = ("digits", "mnist1d")


@dataclass(frozen=True)
class Dataset:
    """Train, validation and (optional) test arrays: float32 features, int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def sizes(self) -> dict[str, int]:
        """``{"train": n, "val": n, "test": n or 0}``."""
        return {"train": len(self.y_train), "val": len(self.y_val),
                "test": 0 if self.y_test is None else len(self.y_test)}

    def __repr__(self) -> str:
        test = "" if self.y_test is None else f", test={len(self.y_test)}"
        return (f"Dataset({self.name!r}, train={len(self.x_train)}, val={len(self.x_val)}{test}, "
                f"features={self.n_features}, classes={self.n_classes})")


def _finish(name: str, parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> Dataset:
    xt = np.asarray(parts["train"][0], np.float64)
    mu = xt.mean(axis=0, keepdims=True)
    sd = xt.std(axis=0, keepdims=True)
    sd = np.where(sd > 1e-8, sd, 1.0)
    out = {k: (((np.asarray(x, np.float64) - mu) / sd).astype(np.float32), np.asarray(y, np.int64))
           for k, (x, y) in parts.items()}
    n_classes = int(max(y.max() for _, y in out.values()) + 1)
    test = out.get("test", (None, None))
    return Dataset(name, *out["train"], *out["val"], n_classes, *test)


def _cut(x, y, fractions, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split ``x, y`` by a fixed permutation into parts of the given fractions (the last takes the rest)."""
    perm = np.random.default_rng(seed).permutation(len(y))
    edges = np.cumsum([round(f * len(y)) for f in fractions[:-1]])
    return [(x[i], y[i]) for i in np.split(perm, edges)]


@lru_cache(maxsize=4)
def _digits(test: bool) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependencyError("scikit-learn", "lab") from None
    d = load_digits()
    perm = np.random.default_rng(0).permutation(len(d.target))
    x, y = d.data[perm], d.target[perm]
    if not test:
        return _finish("digits", {"train": (x[:1437], y[:1437]), "val": (x[1437:], y[1437:])})
    return _finish("digits", {"train": (x[:1077], y[:1077]), "val": (x[1077:1437], y[1077:1437]),
                              "test": (x[1437:], y[1437:])})


@lru_cache(maxsize=4)
def _mnist1d(test: bool) -> Dataset:
    try:
        import mnist1d.data as m
    except ImportError:
        raise MissingDependencyError("mnist1d", "lab") from None
    ds = m.make_dataset(m.get_dataset_args())  # built locally, deterministic (its own seed)
    x, y = ds["x"], ds["y"]
    if not test:
        return _finish("mnist1d", {"train": (x, y), "val": (ds["x_test"], ds["y_test"])})
    return _finish("mnist1d", {"train": (x[:3000], y[:3000]), "val": (x[3000:], y[3000:]),
                               "test": (ds["x_test"], ds["y_test"])})


# ------------------------------------------------------------------- .npz
def _bad(path: str, problem: str) -> SpecError:
    return SpecError(f"load_dataset(): {path!r} {problem}")


def _features(path: str, key: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise _bad(path, f"must hold numbers in {key}; got dtype {x.dtype}")
    if x.ndim < 2:
        raise _bad(path, f"must hold one row per sample in {key} (2-D or more); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise _bad(path, f"must hold finite numbers in {key}; it has NaN or infinite values")
    return x.reshape(len(x), -1)


def _labels(path: str, key: str, y: np.ndarray) -> np.ndarray:
    if y.dtype.kind not in "biuf":
        raise _bad(path, f"must hold whole-number class labels in {key}; got dtype {y.dtype}")
    if y.ndim != 1:
        raise _bad(path, f"must hold one label per sample in {key} (1-D); got shape {y.shape}")
    if y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not np.all(whole):
            bad = y[~whole][0]
            raise _bad(path, f"must hold whole-number class labels in {key}; got {float(bad)!r} "
                             "(float labels must be whole numbers like 0.0, 1.0)")
    if len(y) and y.min() < 0:
        raise _bad(path, f"must hold class labels >= 0 in {key}; got {int(y.min())}")
    return y.astype(np.int64)


def _read_npz(path: str) -> dict[str, np.ndarray]:
    if not os.path.isfile(path):
        raise SpecError(f"load_dataset(): name must be digits, mnist1d or an existing .npz file; got {path!r}")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise _bad(path, "is not a .npz archive (numpy.savez): it is not a zip file")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise _bad(path, "must be a .npz archive (numpy.savez); it holds a single array")
            return {k: z[k] for k in z.files}
    except SpecError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise _bad(path, f"is not a readable .npz archive (numpy.savez): {str(e).splitlines()[0]}") from None


def _npz(path: str, test: bool) -> Dataset:  # noqa: C901 - one check per way a user's .npz can be wrong
    z = _read_npz(path)
    split4 = {"x_train", "y_train", "x_val", "y_val"}
    if split4 <= set(z):
        names = ["train", "val"] + (["test"] if {"x_test", "y_test"} <= set(z) else [])
        pairs = {n: (z[f"x_{n}"], z[f"y_{n}"]) for n in names}
    elif {"x", "y"} <= set(z):
        pairs = {"all": (z["x"], z["y"])}
    else:
        raise _bad(path, f"must hold x_train, y_train, x_val, y_val (and x_test, y_test) or x, y; got {sorted(z)}")
    checked = {}
    for n, (x, y) in pairs.items():
        kx, ky = ("x", "y") if n == "all" else (f"x_{n}", f"y_{n}")
        x, y = _features(path, kx, x), _labels(path, ky, y)
        if len(x) != len(y):
            raise _bad(path, f"must hold one label per row: {kx} has {len(x)} rows, {ky} has {len(y)} labels")
        if len(y) == 0:
            raise _bad(path, f"must hold samples in {kx}; it is empty")
        checked[n] = (x, y)
    widths = {n: x.shape[1] for n, (x, _) in checked.items()}
    if len(set(widths.values())) > 1:
        raise _bad(path, f"must have the same number of features in every split; got {widths}")
    if "all" in checked:
        parts = _cut(*checked["all"], (0.6, 0.2, 0.2) if test else (0.8, 0.2))
        checked = dict(zip(("train", "val", "test"), parts))
    elif test and "test" not in checked:
        checked["val"], checked["test"] = _cut(*checked["val"], (0.5, 0.5))
    if not test:
        checked.pop("test", None)
    for n, (_, y) in checked.items():
        if len(y) == 0:
            raise _bad(path, f"has too few samples for a {n} split")
    if int(max(y.max() for _, y in checked.values())) < 1:
        raise _bad(path, "must hold at least two classes; every label is 0")
    return _finish(os.path.basename(path), checked)


def load_dataset(name: str, *, test: bool = False) -> Dataset:
    """Load ``"digits"``, ``"mnist1d"`` or a ``.npz`` path (see the module doc).

    ``test=True`` adds a held-out test split (``x_test``, ``y_test``) that no
    choice may read; the training split is then smaller.

    >>> d = load_dataset("digits")
    >>> d.x_train.shape, d.x_val.shape, d.n_classes, d.x_test is None
    ((1437, 64), (360, 64), 10, True)
    >>> load_dataset("digits", test=True).sizes()
    {'train': 1077, 'val': 360, 'test': 360}
    """
    test = flag("load_dataset", "test", test)
    if name == "digits":
        return _digits(test)
    if name == "mnist1d":
        return _mnist1d(test)
    if isinstance(name, str) and name.endswith(".npz"):
        return _npz(name, test)
    raise fail("load_dataset", "name", "'digits', 'mnist1d' or a path ending in .npz", name)
