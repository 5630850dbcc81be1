"""SGD (with heavy-ball momentum) on a noisy quadratic: simulated in NumPy, and its exact expectation.

The loss is ``f(w) = 1/2 sum_i h_i w_i**2``; a stochastic gradient is
``h * w + sigma * xi`` with ``xi`` standard normal (fresh each step, run and
coordinate). The update is torch's SGD: ``v = momentum * v + g``,
``w = w - lr_t * v``. Many configurations run at once: row ``n`` of ``w0`` is
one run with its own curvatures, lrs, noise and momentum.
"""

from __future__ import annotations

import numpy as np

__all__ = ["expected_loss", "random_curvatures", "random_quadratic", "sgd_quadratic"]


def random_curvatures(rng: np.random.Generator, d: int, lo: float, hi: float) -> np.ndarray:
    """``d`` curvatures log-uniform in ``[lo, hi]``, sorted, with ``lo`` and ``hi`` themselves included.

    >>> import numpy as np
    >>> h = random_curvatures(np.random.default_rng(0), 5, 0.01, 1.0)
    >>> float(h[0]), float(h[-1]), bool(np.all(np.diff(h) >= 0))
    (0.01, 1.0, True)
    """
    mid = np.exp(rng.uniform(np.log(lo), np.log(hi), d - 2))
    return np.sort(np.concatenate([[lo], mid, [hi]]))


def random_quadratic(rng: np.random.Generator, d: int, lo: float, hi: float,
                     size: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A random problem: ``d`` curvatures (:func:`random_curvatures`) and a start ``w0`` of random signs,
    ``|w0_i|`` uniform in ``[size/2, 3 size/2]``.

    >>> import numpy as np
    >>> h, w0 = random_quadratic(np.random.default_rng(0), 4, 0.1, 1.0, size=10.0)
    >>> h.shape, bool(np.all((5 <= abs(w0)) & (abs(w0) <= 15)))
    ((4,), True)
    """
    h = random_curvatures(rng, d, lo, hi)
    return h, size * rng.choice([-1.0, 1.0], d) * rng.uniform(0.5, 1.5, d)


def sgd_quadratic(h, lrs, w0, *, sigma=0.0, momentum=0.0, rng: np.random.Generator | None = None,
                  every: int | None = None, groups: int = 1) -> np.ndarray:
    """The loss of ``N`` runs of SGD on the noisy quadratic.

    ``w0``: ``(N, d)`` starts; ``h``: ``(N, d)`` or ``(d,)`` curvatures; ``lrs``:
    ``(T,)`` (one lr sequence for all) or ``(T, N)``; ``sigma`` and ``momentum``:
    a number or one per run. With ``groups=k`` the rows form ``k`` equal blocks
    that see the same noise draws (paired comparisons). Returns the final losses ``(N,)``, or with
    ``every=k`` the losses at steps ``0, k, 2k, ..., T``: shape ``(T // k + 1, N)``.

    >>> import numpy as np
    >>> sgd_quadratic(np.array([1.0]), [0.5, 0.5], np.array([[2.0]]), every=1).ravel().tolist()
    [2.0, 0.5, 0.125]
    """
    w = np.array(w0, dtype=np.float64, ndmin=2)
    h = np.broadcast_to(np.asarray(h, dtype=np.float64), w.shape)
    lrs = np.asarray(lrs, dtype=np.float64)
    lrs = lrs.reshape(lrs.shape[0], -1, 1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1, 1)
    beta = np.asarray(momentum, dtype=np.float64).reshape(-1, 1)
    rng = rng if rng is not None else np.random.default_rng(0)
    v = np.zeros_like(w)
    block = (w.shape[0] // groups, w.shape[1])
    noisy, heavy = bool(np.any(sigma)), bool(np.any(beta))
    rec = [0.5 * (h * w * w).sum(axis=1)] if every else []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(lrs.shape[0]):
            g = h * w
            if noisy:
                xi = rng.standard_normal(block)
                g += sigma * (np.tile(xi, (groups, 1)) if groups > 1 else xi)
            v = beta * v + g if heavy else g
            w = w - lrs[t] * v
            if every and (t + 1) % every == 0:
                rec.append(0.5 * (h * w * w).sum(axis=1))
        final = 0.5 * (h * w * w).sum(axis=1)
    return np.array(rec) if every else final


def expected_loss(h, lrs, w0, *, sigma: float = 0.0, momentum: float = 0.0) -> np.ndarray:
    """The exact expected loss of :func:`sgd_quadratic` after each step (one run, shape ``(T + 1,)``).

    Per coordinate the state ``z = (w, v)`` moves by ``z' = A z + c xi`` with
    ``A = [[1 - lr h, -lr beta], [h, beta]]`` and ``c = (-lr sigma, sigma)``, so
    its second moment ``S = E[z z^T]`` obeys ``S' = A S A^T + c c^T`` and
    ``E[f] = 1/2 sum_i h_i S_ww``. Without momentum and at a constant lr this
    settles at ``sum_i lr sigma**2 / (2 (2 - lr h_i))``.

    >>> import numpy as np
    >>> round(float(expected_loss(np.array([1.0]), np.full(2000, 0.5), np.array([0.0]), sigma=1.0)[-1]), 12)
    0.166666666667
    """
    h = np.asarray(h, dtype=np.float64)
    w0 = np.broadcast_to(np.asarray(w0, dtype=np.float64), h.shape)
    sww, swv, svv = w0 * w0, np.zeros_like(h), np.zeros_like(h)
    b, s2 = float(momentum), float(sigma) ** 2
    out = [0.5 * float(np.sum(h * sww))]
    for lr in np.asarray(lrs, dtype=np.float64):
        a11, a12, a21, a22 = 1 - lr * h, -lr * b, h, b
        p11, p12 = a11 * sww + a12 * swv, a11 * swv + a12 * svv
        p21, p22 = a21 * sww + a22 * swv, a21 * swv + a22 * svv
        sww, swv, svv = (p11 * a11 + p12 * a12 + lr * lr * s2, p11 * a21 + p12 * a22 - lr * s2,
                         p21 * a21 + p22 * a22 + s2)
        out.append(0.5 * float(np.sum(h * sww)))
    return np.array(out)
