"""A 1-D loss with a flat good minimum and a sharp poor one (``restarts``, ``lr-noise``).

``f(x) = softmin_tau(s sqrt(1 + x**2), c + h/2 (x - x_p)**2)`` with
``softmin_tau(a, b) = -tau log(exp(-a/tau) + exp(-b/tau))``: the wide good
minimum at ``x = 0`` (curvature ``s``, value ``s``) and, on its slope at
``x_p``, a sharp poor minimum of curvature ``h`` and value ``c``, joined
smoothly. Gradient descent cannot stay in a minimum of curvature ``h`` when
``lr > 2/h`` (see ``gradient-flow``): the knob both experiments turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Landscape", "random_landscape", "sgd"]


@dataclass(frozen=True)
class Landscape:
    """The two-minimum function; ``depth`` is how far the poor minimum lies below the flat branch.

    >>> f = Landscape()
    >>> round(float(f.loss(np.array([0.0]))[0]), 3), round(float(f.loss(np.array([3.0]))[0]), 3)
    (0.5, 1.0)
    """

    x_poor: float = 3.0
    h_poor: float = 25.0
    depth: float = 0.5811388300841898  # c_poor = 1
    slope: float = 0.5
    tau: float = 0.02

    @property
    def c_poor(self) -> float:
        """The poor minimum's value: the flat branch at ``x_poor`` minus ``depth``."""
        return self.slope * math.sqrt(1 + self.x_poor ** 2) - self.depth

    @property
    def half_width(self) -> float:
        """Half the width of the poor basin: where its parabola meets the flat branch (about)."""
        return math.sqrt(2 * self.depth / self.h_poor)

    def _parts(self, x):
        a = self.slope * np.sqrt(1 + x * x)
        b = self.c_poor + 0.5 * self.h_poor * (x - self.x_poor) ** 2
        m = np.minimum(a, b)
        return a, b, m, np.exp(-(a - m) / self.tau), np.exp(-(b - m) / self.tau)

    def loss(self, x: np.ndarray) -> np.ndarray:
        """``f(x)``, elementwise."""
        m, wa, wb = self._parts(x)[2:]
        return m - self.tau * np.log(wa + wb)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``f'(x)``: the two branches' slopes weighted by their soft-min weights."""
        wa, wb = self._parts(x)[3:]
        return (wa * self.slope * x / np.sqrt(1 + x * x) + wb * self.h_poor * (x - self.x_poor)) / (wa + wb)

    def in_good(self, x: np.ndarray) -> np.ndarray:
        """Runs in the good basin (left of half way to the poor minimum)."""
        return np.abs(x) < self.x_poor / 2

    def in_poor(self, x: np.ndarray) -> np.ndarray:
        """Runs inside the poor basin."""
        return np.abs(x - self.x_poor) < self.half_width


def random_landscape(r: np.random.Generator) -> Landscape:
    """A landscape with a random poor minimum: curvature log-uniform in [15, 40], position in [2.5, 4],
    depth in [0.4, 0.7]."""
    return Landscape(x_poor=float(r.uniform(2.5, 4.0)), h_poor=float(np.exp(r.uniform(np.log(15), np.log(40)))),
                     depth=float(r.uniform(0.4, 0.7)))


def sgd(f: Landscape, x0: np.ndarray, lrs: np.ndarray, sigma: float, r: np.random.Generator, *,
        path: bool = False) -> np.ndarray:
    """Noisy SGD ``x -= lr_t (f'(x) + sigma xi)`` (``x`` kept within +-1000); ``lrs`` is ``(T,)`` or
    ``(T, len(x0))``. Final positions, or with ``path`` the positions at steps ``0 .. T``: ``(T + 1, len(x0))``.

    >>> f = Landscape()
    >>> x = sgd(f, np.array([-2.0, 3.05]), np.full(500, 0.05), 0.0, np.random.default_rng(0))
    >>> (np.round(x, 3) + 0.0).tolist()    # lr 0.05 < 2/h = 0.08: each run stays in its minimum
    [0.0, 3.0]
    """
    x = np.array(x0, dtype=np.float64)
    lrs = np.asarray(lrs, dtype=np.float64)
    seen = [x]
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            x = np.clip(x - lr * (f.grad(x) + sigma * r.standard_normal(x.shape)), -1e3, 1e3)
            if path:
                seen.append(x)
    return np.array(seen) if path else x
