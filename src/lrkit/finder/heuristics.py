"""Reading a learning rate off a range-test curve.

Each heuristic takes the swept ``lrs`` and the smoothed losses ``s`` (same
length, lrs increasing) and returns ``(lr, None)`` or ``(None, reason)``.
All of them work in ``x = log10(lr)``; the first ``skip = max(1, n // 10)``
points, where the moving average still rests on a handful of losses, are
never chosen.

- ``steepest``: ``argmin_i ds/dx`` over ``skip <= i <= argmin(s)``, the
  derivative by ``numpy.gradient(s, x)`` (central differences).
- ``valley``: fastai's rule. ``L_i`` = length of the longest strictly
  decreasing run of ``s`` (a subsequence) ending at ``i``; the valley ends at
  ``e = argmax L`` and has ``L_e`` points; the suggestion is the point
  ``VALLEY_AT`` of the way along it: ``i = e - L_e + 1 + round(VALLEY_AT * (L_e - 1))``.
- ``min/10``: the lr of the lowest smoothed loss, divided by 10.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VALLEY_AT", "min_over_10", "skip_count", "steepest", "valley"]

VALLEY_AT = 0.5
MIN_POINTS = 5


def skip_count(n: int) -> int:
    """How many leading points no heuristic may choose: ``max(1, n // 10)``."""
    return max(1, n // 10)


def _too_short(n: int) -> str | None:
    if n < MIN_POINTS:
        return f"only {n} point{'s' if n != 1 else ''} recorded before the sweep stopped; need >= {MIN_POINTS}"
    return None


def steepest(lrs: np.ndarray, s: np.ndarray) -> tuple[float | None, str | None]:
    """The lr where the smoothed loss falls fastest per decade of lr.

    >>> lrs = np.logspace(-4, 0, 9); s = np.array([5, 5, 4.9, 4.5, 3, 1.5, 1.2, 1.1, 9.0])
    >>> steepest(lrs, s)[0] == lrs[4]
    True
    """
    why = _too_short(len(s))
    if why:
        return None, why
    skip = skip_count(len(s))
    imin = skip + int(np.argmin(s[skip:]))
    if imin < skip + 2:
        return None, (f"the smoothed loss was lowest at lr={lrs[imin]:.3g}, at the start of the sweep: "
                      f"it never fell; lower `start`")
    g = np.gradient(s, np.log10(lrs))
    k = skip + int(np.argmin(g[skip:imin + 1]))
    if not g[k] < 0:
        return None, "the smoothed loss never falls after the first points"
    return float(lrs[k]), None


def valley(lrs: np.ndarray, s: np.ndarray) -> tuple[float | None, str | None]:
    """fastai's valley: part way along the longest decreasing stretch of the curve.

    >>> lrs = np.logspace(-4, 0, 9); s = np.array([5, 5.1, 5.0, 4, 3, 2, 1, 1.5, 9.0])
    >>> valley(lrs, s)[0] == lrs[4]
    True
    """
    why = _too_short(len(s))
    if why:
        return None, why
    skip = skip_count(len(s))
    t = s[skip:]
    runs = np.ones(len(t), dtype=np.int64)
    for i in range(1, len(t)):
        lower = t[:i] > t[i]
        if lower.any():
            runs[i] = 1 + int(runs[:i][lower].max())
    e = int(np.argmax(runs))
    length = int(runs[e])
    if length < 3:
        return None, "the smoothed loss has no decreasing stretch of 3 or more points"
    i = skip + e - length + 1 + int(round(VALLEY_AT * (length - 1)))
    return float(lrs[i]), None


def min_over_10(lrs: np.ndarray, s: np.ndarray, *, completed: bool) -> tuple[float | None, str | None]:
    """The lr of the lowest smoothed loss, over 10.

    >>> min_over_10(np.array([0.1, 1.0, 10, 100, 1000]), np.array([3, 2, 1, 2, 9.0]), completed=False)
    (1.0, None)
    """
    why = _too_short(len(s))
    if why:
        return None, why
    skip = skip_count(len(s))
    imin = skip + int(np.argmin(s[skip:]))
    if imin == skip:
        return None, (f"the smoothed loss was lowest at lr={lrs[imin]:.3g}, at the start of the sweep: "
                      f"it never fell; lower `start`")
    if completed and imin == len(s) - 1:
        return None, f"the loss was still falling at the last lr={lrs[-1]:.3g}; raise `end`"
    return float(lrs[imin] / 10), None
