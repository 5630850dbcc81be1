"""SGD (with heavy-ball momentum) on a noisy quadratic, many runs at once, in NumPy.

The loss is ``f(w) = 1/2 * sum_i h_i w_i**2``; a stochastic gradient is
``h * w + sigma * xi`` with ``xi`` standard normal (fresh each step and run).
The update is torch's SGD: ``v = momentum * v + g``, ``w = w - lr_t * v``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd_quadratic"]


def sgd_quadratic(h, lrs, *, w0=1.0, sigma: float = 1.0, runs: int = 100, seed: int = 0,
                  momentum: float = 0.0) -> np.ndarray:
    """The loss of every run after every step: an array of shape ``(runs, len(lrs) + 1)``
    (column 0 is the loss at the start). ``w0``: the start, a number or one per coordinate.

    >>> import numpy as np
    >>> loss = sgd_quadratic(np.array([1.0]), [0.5, 0.5], w0=2.0, sigma=0.0, runs=1)
    >>> loss.tolist()      # w: 2 -> 1 -> 0.5, loss w**2 / 2
    [[2.0, 0.5, 0.125]]
    """
    h = np.asarray(h, dtype=np.float64)
    lrs = np.asarray(lrs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    w = np.broadcast_to(np.asarray(w0, dtype=np.float64), (runs, h.size)).copy()
    v = np.zeros_like(w)
    out = np.empty((runs, lrs.size + 1))
    out[:, 0] = 0.5 * (h * w * w).sum(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t, lr in enumerate(lrs):
            g = h * w + sigma * rng.standard_normal(w.shape)
            v = momentum * v + g if momentum else g
            w = w - lr * v
            out[:, t + 1] = 0.5 * (h * w * w).sum(axis=1)
    return out
