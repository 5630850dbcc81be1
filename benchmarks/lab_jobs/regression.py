"""A user's own ``train(run)`` of another kind than the built-in classifiers: regression, in NumPy alone.

A fixed synthetic problem (8 inputs, a smooth nonlinear target plus noise; 2000 / 500 / 500 samples)
fitted by a linear model on 256 fixed random Fourier features, trained by SGD with heavy-ball momentum
(0.9, batch 32) at ``run.lr * schedule(t)`` (times the plateau's scale for a plateau run). ``val`` and the
returned test metric are mean squared errors: compare it with ``mode="min"``.
"""

from __future__ import annotations

import math

import numpy as np

BATCH = 32
FEATURES = 256


def _problem():
    rng = np.random.default_rng(12345)
    x = rng.normal(size=(3000, 8))
    w1, w2 = rng.normal(size=8), rng.normal(size=8)
    y = np.sin(x @ w1) + 0.5 * (x @ w2) ** 2 / 8 + 0.1 * rng.normal(size=3000)
    proj, phase = rng.normal(size=(8, FEATURES)) / 2, rng.uniform(0, 2 * math.pi, FEATURES)
    phi = np.cos(x @ proj + phase) * math.sqrt(2 / FEATURES)
    return (phi[:2000], y[:2000]), (phi[2000:2500], y[2000:2500]), (phi[2500:], y[2500:])


PROBLEM = _problem()


def _mse(w, x, y) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        e = float(np.mean((x @ w - y) ** 2))
    return e if math.isfinite(e) else math.nan


def train(run):
    (xt, yt), (xv, yv), (xs, ys) = PROBLEM
    rng = np.random.default_rng(run.seed)
    w = rng.normal(scale=0.01, size=FEATURES)
    velocity = np.zeros(FEATURES)
    steps = len(yt) // BATCH
    schedule = run.bind(steps_per_epoch=steps)
    orders = [rng.permutation(len(yt)) for _ in range(run.epochs)]
    run.fingerprint(init=w, batches=orders)
    t, scale = 0, 1.0
    for epoch in range(run.epochs):
        for b in range(steps):
            idx = orders[epoch][b * BATCH:(b + 1) * BATCH]
            with np.errstate(over="ignore", invalid="ignore"):
                grad = 2 * xt[idx].T @ (xt[idx] @ w - yt[idx]) / BATCH
                velocity = 0.9 * velocity + grad
                w = w - run.lr * schedule(t) * scale * velocity
            t += 1
        val = _mse(w, xv, yv)
        if run.plateau is not None:
            run.plateau.update(val if math.isfinite(val) else math.inf)
            scale = run.plateau.scale
        run.report(epoch=epoch, val=val)
    return {"test": _mse(w, xs, ys)}
