"""Datasets made offline: scikit-learn's bundled sets and generators, MNIST-1D
built locally, and synthetic signals. Each returns ``(x_train, y_train, x_val,
y_val, task)`` as numpy arrays, ``task`` "classify" or "regress"; features
standardised on the training split, regression targets too. Fixed data seed:
the run seed varies the model's init and the batch order, not the data."""

from __future__ import annotations

from functools import cache

import numpy as np


def _split(x, y, val: float, seed: int = 0):
    perm = np.random.default_rng(seed).permutation(len(y))
    n = round((1 - val) * len(y))
    return x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]


def _standardise(xt, xv, axis=0):
    mu = xt.mean(axis=axis, keepdims=True)
    sd = xt.std(axis=axis, keepdims=True)
    sd = np.where(sd > 1e-8, sd, 1.0)
    return ((xt - mu) / sd).astype(np.float32), ((xv - mu) / sd).astype(np.float32)


def _classify(x, y, val=0.2):
    xt, yt, xv, yv = _split(np.asarray(x, np.float64), np.asarray(y), val)
    xt, xv = _standardise(xt, xv)
    return xt, yt.astype(np.int64), xv, yv.astype(np.int64), "classify"


def _regress(x, y, val=0.2):
    xt, yt, xv, yv = _split(np.asarray(x, np.float64), np.asarray(y, np.float64), val)
    xt, xv = _standardise(xt, xv)
    mu, sd = yt.mean(), yt.std()
    return xt, ((yt - mu) / sd).astype(np.float32)[:, None], xv, ((yv - mu) / sd).astype(np.float32)[:, None], \
        "regress"


def _sklearn(name: str, task: str = "classify", **kw):
    """A scikit-learn set: ``load_*`` (bundled) or ``make_*`` (generated from ``kw``, with a fixed ``random_state``)."""
    import sklearn.datasets as sk

    out = getattr(sk, name)(**kw)
    x, y = (out.data, out.target) if name.startswith("load_") else out
    return (_classify if task == "classify" else _regress)(x, y)


@cache
def digits():
    return _sklearn("load_digits")


@cache
def mnist1d():
    import mnist1d.data as m

    ds = m.make_dataset(m.get_dataset_args())       # built locally (its own fixed seed), no download
    xt, xv = _standardise(np.asarray(ds["x"], np.float64), np.asarray(ds["x_test"], np.float64))
    return xt, np.asarray(ds["y"], np.int64), xv, np.asarray(ds["y_test"], np.int64), "classify"


@cache
def blobs():
    return _sklearn("make_classification", n_samples=3000, n_features=20, n_informative=10, n_redundant=4,
                    n_classes=4, class_sep=1.0, flip_y=0.03, random_state=0)


@cache
def moons():
    return _sklearn("make_moons", n_samples=2000, noise=0.3, random_state=0)


@cache
def breast():
    return _sklearn("load_breast_cancer")


@cache
def friedman():
    return _sklearn("make_friedman1", "regress", n_samples=3000, n_features=10, noise=1.0, random_state=0)


@cache
def diabetes():
    return _sklearn("load_diabetes", "regress")


@cache
def sine():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(2000, 1))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 0] + 0.1 * rng.normal(size=2000)
    return _regress(x, y)


@cache
def waves():
    """1-D signals of length 64: sine, square, triangle or sawtooth (4 classes),
    random frequency, phase and amplitude, plus noise."""
    rng = np.random.default_rng(0)
    n, length = 3000, 64
    y = rng.integers(0, 4, n)
    t = np.arange(length)[None, :]
    freq = rng.uniform(1.5, 5.0, (n, 1)) / length
    phase = rng.uniform(0, 1, (n, 1))
    u = (freq * t + phase) % 1.0
    shapes = np.stack([np.sin(2 * np.pi * u), np.sign(np.sin(2 * np.pi * u)), 4 * np.abs(u - 0.5) - 1, 2 * u - 1])
    x = shapes[y, np.arange(n)] * rng.uniform(0.5, 1.5, (n, 1)) + 0.6 * rng.normal(size=(n, length))
    return _classify(x, y)


@cache
def bars():
    """16x16 images of a bar at one of 4 orientations (4 classes) at a random
    place, plus noise; flattened (the models reshape)."""
    rng = np.random.default_rng(0)
    n, size = 3000, 16
    y = rng.integers(0, 4, n)
    img = np.zeros((n, size, size))
    for i in range(n):
        r, c = rng.integers(3, size - 3, 2)
        for k in range(-3, 4):
            dr, dc = [(0, k), (k, 0), (k, k), (k, -k)][y[i]]
            img[i, r + dr, c + dc] = 1.0
    x = img.reshape(n, -1) + 0.5 * rng.normal(size=(n, size * size))
    return _classify(x, y)


@cache
def adding():
    """The adding problem (Hochreiter & Schmidhuber 1997), length 30: channel 0
    random values, channel 1 marks two of them; the target is their sum."""
    rng = np.random.default_rng(0)
    n, length = 3000, 30
    values = rng.uniform(0, 1, (n, length))
    marks = np.zeros((n, length))
    for i in range(n):
        marks[i, rng.choice(length, 2, replace=False)] = 1.0
    x = np.stack([values, marks], axis=-1).reshape(n, -1)
    y = (values * marks).sum(axis=1)
    return _regress(x, y)


# ---- added for the round-2 report split (defined before any of them was run)
@cache
def wine():
    return _sklearn("load_wine")


@cache
def circles():
    return _sklearn("make_circles", n_samples=2000, noise=0.15, factor=0.5, random_state=0)


@cache
def hastie():
    from sklearn.datasets import make_hastie_10_2

    x, y = make_hastie_10_2(n_samples=3000, random_state=0)
    return _classify(x, (y > 0).astype(int))


@cache
def quantiles():
    return _sklearn("make_gaussian_quantiles", n_samples=3000, n_features=6, n_classes=3, random_state=0)


@cache
def blobs8():
    return _sklearn("make_classification", n_samples=4000, n_features=40, n_informative=20, n_redundant=5,
                    n_classes=8, n_clusters_per_class=1, class_sep=1.2, flip_y=0.02, random_state=1)


@cache
def friedman2():
    return _sklearn("make_friedman2", "regress", n_samples=3000, noise=10.0, random_state=0)


@cache
def friedman3():
    return _sklearn("make_friedman3", "regress", n_samples=3000, noise=0.1, random_state=0)


@cache
def linreg():
    return _sklearn("make_regression", "regress", n_samples=2000, n_features=20, n_informative=12, noise=5.0,
                    random_state=0)


@cache
def chirps():
    """1-D signals of length 64 whose frequency rises, falls or stays (3 classes), random phase, plus noise."""
    rng = np.random.default_rng(0)
    n, length = 3000, 64
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, length)[None, :]
    f0 = rng.uniform(2, 4, (n, 1))
    slope = np.choose(y, [0.0, 4.0, -1.5])[:, None]
    x = np.sin(2 * np.pi * (f0 * t + slope * t ** 2 / 2) + rng.uniform(0, 2 * np.pi, (n, 1)))
    return _classify(x + 0.7 * rng.normal(size=(n, length)), y)


@cache
def shapes():
    """12x12 images of a filled square, a ring or a cross (3 classes) of random size and place, plus noise."""
    rng = np.random.default_rng(0)
    n, side = 3000, 12
    y = rng.integers(0, 3, n)
    img = np.zeros((n, side, side))
    rr, cc = np.mgrid[:side, :side]
    for i in range(n):
        r, c = rng.uniform(3.5, side - 4.5, 2)
        s = rng.uniform(1.5, 3.0)
        d = np.maximum(abs(rr - r), abs(cc - c))
        img[i] = [d <= s, (d <= s) & (d > s - 1), (np.minimum(abs(rr - r), abs(cc - c)) < 0.8) & (d <= s)][y[i]]
    return _classify(img.reshape(n, -1) + 0.6 * rng.normal(size=(n, side * side)), y)


@cache
def signsum():
    """Sequences of 16 steps of noisy +-1 values; the class is the sign of their sum (2 classes)."""
    rng = np.random.default_rng(0)
    n, length = 3000, 16
    x = rng.choice([-1.0, 1.0], (n, length)) + 0.5 * rng.normal(size=(n, length))
    return _classify(x, (x.sum(axis=1) > 0).astype(int))


# added for the round-3 report split (written before any run on them)
@cache
def classif3():
    return _sklearn("make_classification", n_samples=3000, n_features=30, n_informative=8, n_redundant=10,
                    n_classes=5, class_sep=0.8, flip_y=0.05, random_state=3)


@cache
def sparse():
    return _sklearn("make_sparse_uncorrelated", "regress", n_samples=3000, n_features=12, random_state=0)


@cache
def bumps():
    """1-D signals of length 32 holding 1, 2 or 3 Gaussian bumps (3 classes) at random places, plus noise."""
    rng = np.random.default_rng(0)
    n, length = 3000, 32
    y = rng.integers(0, 3, n)
    t = np.arange(length)[None, :]
    x = np.zeros((n, length))
    for k in range(3):
        centre = rng.uniform(2, length - 3, (n, 1))
        x += (k <= y)[:, None] * np.exp(-0.5 * ((t - centre) / 1.2) ** 2)
    return _classify(x + 0.35 * rng.normal(size=(n, length)), y)


@cache
def stripes():
    """12x12 images of horizontal, vertical or diagonal stripes (3 classes), random period and phase, plus noise."""
    rng = np.random.default_rng(0)
    n, side = 3000, 12
    y = rng.integers(0, 3, n)
    rr, cc = np.mgrid[:side, :side]
    coord = np.stack([rr, cc, rr + cc])[y]
    period = rng.uniform(3, 6, (n, 1, 1))
    img = np.sin(2 * np.pi * coord / period + rng.uniform(0, 2 * np.pi, (n, 1, 1)))
    return _classify(img.reshape(n, -1) + 1.0 * rng.normal(size=(n, side * side)), y)


DATASETS = {f.__name__: f for f in (digits, mnist1d, blobs, moons, breast, friedman, diabetes, sine, waves, bars,
                                    adding, wine, circles, hastie, quantiles, blobs8, friedman2, friedman3, linreg,
                                    chirps, shapes, signsum, classif3, sparse, bumps, stripes)}
