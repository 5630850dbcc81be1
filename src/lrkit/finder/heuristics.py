"""Reading a learning rate off a range-test curve.

Every rule reads the smoothed losses ``s`` against ``x = log10(lr)`` and
returns ``(lr, None)`` or ``(None, reason)``. None of them chooses among the
first ``skip`` points (:func:`skip_count`: 25 of 100 at ``smooth=0.98``),
where the debiased moving average still rests on a handful of noisy losses.
``e`` below is the index of the lowest smoothed loss after those points.

- ``steepest``: the most negative slope ``(s[j] - s[i]) / (x[j] - x[i])``
  over the decade of lr centred on each point (``i``, ``j`` the first and
  last points with ``|x - x_k| <= 1/2``, at least one step away from ``k``),
  searched over ``skip <= k <= min(e, n - 2)``. A secant over a decade is far
  less noisy than a one-step difference.
- ``valley``: fastai's rule, unchanged. ``L_i`` is the length of the longest
  decreasing subsequence of ``s`` ending at ``i``; with ``m = argmax L`` the
  valley is the ``L_m`` points before ``m``, and the suggestion the point
  ``m - L_m + floor(L_m/3) + floor(L_m/6)``, about half-way along.
- ``min/10``: ``lr[e] / 10``.

:func:`choose` picks one and :func:`lr_range` gives the one-cycle pair.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_POINTS", "STEEPEST_WITHIN", "choose", "lr_range", "min_over_10", "skip_count",
           "steepest", "valley"]

MIN_POINTS = 5
STEEPEST_WITHIN = 4.0
_HALF_WINDOW = 0.5  # decades each side of the point for the steepest secant


def skip_count(n: int, smooth: float) -> int:
    """How many leading points no rule may choose: ``max(1, n // 10, min(h, n // 4))``,
    ``h = ceil(log(1/2) / log(smooth))`` the steps until the newest loss weighs
    less than twice its steady-state share ``1 - smooth`` (34 for 0.98).

    >>> skip_count(100, 0.98), skip_count(100, 0.9), skip_count(100, 0.0)
    (25, 10, 10)
    """
    h = math.ceil(math.log(0.5) / math.log(smooth)) if smooth > 0 else 0
    return max(1, n // 10, min(h, n // 4))


def _bottom(lrs: np.ndarray, s: np.ndarray, smooth: float) -> tuple[int, str | None]:
    n = len(s)
    if n < MIN_POINTS:
        return -1, f"only {n} point{'' if n == 1 else 's'} recorded before the sweep stopped; need >= {MIN_POINTS}"
    skip = skip_count(n, smooth)
    e = skip + int(np.argmin(s[skip:]))
    if e == skip:
        return e, (f"the smoothed loss never fell below its value at lr={lrs[skip]:.3g}; "
                   f"the sweep starts too high: lower `start`")
    return e, None


def steepest(lrs: np.ndarray, s: np.ndarray, smooth: float) -> tuple[float | None, str | None]:
    """Where the smoothed loss falls fastest per decade of lr, before its minimum.

    >>> lrs = np.logspace(-4, 0, 41); s = 2 - np.tanh(2 * (np.log10(lrs) + 2)); s[-1] = 9.0
    >>> round(steepest(lrs, s, smooth=0.9)[0], 6)
    0.01
    """
    e, why = _bottom(lrs, s, smooth)
    if why:
        return None, why
    x = np.log10(lrs)
    at = np.arange(len(s))
    lo = np.maximum(np.minimum(np.searchsorted(x, x - _HALF_WINDOW, side="left"), at - 1), 0)
    hi = np.minimum(np.maximum(np.searchsorted(x, x + _HALF_WINDOW, side="right") - 1, at + 1), len(s) - 1)
    k = np.arange(skip_count(len(s), smooth), min(e, len(s) - 2) + 1)   # the last point has no right side
    slope = (s[hi[k]] - s[lo[k]]) / (x[hi[k]] - x[lo[k]])
    best = int(np.argmin(slope))
    if not slope[best] < 0:
        return None, "the smoothed loss never falls before its minimum"
    return float(lrs[k[best]]), None


def valley(lrs: np.ndarray, s: np.ndarray, smooth: float) -> tuple[float | None, str | None]:
    """fastai's valley: half-way along the longest decreasing stretch.

    >>> lrs = np.logspace(-4, 0, 9); s = np.array([5, 5.1, 5.0, 4, 3, 2, 1, 1.5, 9.0])
    >>> bool(valley(lrs, s, smooth=0.0)[0] == lrs[3])
    True
    """
    e, why = _bottom(lrs, s, smooth)
    if why:
        return None, why
    skip = skip_count(len(s), smooth)
    t = s[skip:]
    runs = np.ones(len(t), dtype=np.int64)
    for i in range(1, len(t)):
        higher = t[:i] > t[i]
        if higher.any():
            runs[i] = 1 + int(runs[:i][higher].max())
    end = int(np.argmax(runs))
    length = int(runs[end])
    if length < 3:
        return None, "the smoothed loss has no decreasing stretch of 3 or more points"
    start = end - length
    i = max(0, start + int(length / 3) + int(length / 6))
    return float(lrs[skip + i]), None


def min_over_10(lrs: np.ndarray, s: np.ndarray, smooth: float, *, completed: bool) -> tuple[float | None, str | None]:
    """The lr of the lowest smoothed loss, over 10 (``completed``: the sweep
    reached ``end``; a minimum at its last point is then no minimum).

    >>> min_over_10(np.logspace(-2, 2, 5), np.array([3, 2.5, 1, 2, 9.0]), 0.0, completed=False)
    (0.1, None)
    """
    e, why = _bottom(lrs, s, smooth)
    if why:
        return None, why
    if completed and e == len(s) - 1:
        return None, f"the loss was still falling at the last lr={lrs[-1]:.3g}; raise `end`"
    return float(lrs[e] / 10), None


def choose(suggestions: dict[str, float | None]) -> tuple[str | None, str | None]:
    """The heuristic to trust: ``steepest`` while it lies at least
    ``STEEPEST_WITHIN`` (4x) below the lr of the lowest loss (``10 * min/10``),
    else ``min/10``.

    The moving average lags the raw loss, so a steepest point that runs up
    against the minimum marks the lag, not the best lr. With one of the two
    missing the other is taken, with both missing ``valley``.

    >>> choose({"steepest": 0.05, "valley": 0.003, "min/10": 0.02})
    ('steepest', None)
    >>> choose({"steepest": 0.1, "valley": 0.003, "min/10": 0.02})
    ('min/10', None)
    """
    st, mn = suggestions.get("steepest"), suggestions.get("min/10")
    if st is not None and mn is not None:
        return ("steepest" if st * STEEPEST_WITHIN <= mn * 10 else "min/10"), None
    for name in ("steepest", "min/10", "valley"):
        if suggestions.get(name) is not None:
            return name, None
    return None, "no heuristic applies (see the other reasons)"


def lr_range(lrs: np.ndarray, s: np.ndarray, smooth: float, suggestion: float | None, *,
             completed: bool) -> tuple[tuple[float, float] | None, str | None]:
    """``(low, high)`` for one-cycle / cyclic schedules: ``high = max(lr_min / 3,
    suggestion)`` with ``lr_min`` the lr of the lowest smoothed loss (a third
    of it stays on the falling side of the minimum, where Smith puts the top
    of a cycle), ``low = high / 10`` (where a one-cycle starts).

    >>> lr_range(np.logspace(-3, 1, 5), np.array([3, 2.8, 2, 1, 9.0]), 0.0, 0.01, completed=False)
    ((0.03333333333333333, 0.3333333333333333), None)
    """
    if suggestion is None:
        return None, "no suggestion to build it on"
    e, why = _bottom(lrs, s, smooth)
    if completed and e == len(s) - 1:
        return None, f"the loss was still falling at the last lr={lrs[-1]:.3g}; raise `end`"
    high = max(float(lrs[e]) / 3, suggestion)
    return (high / 10, high), None
