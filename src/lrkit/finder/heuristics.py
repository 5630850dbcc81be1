"""Reading a learning rate off a range-test curve.

Every rule returns ``(lr, None)`` or ``(None, reason)``. None of them chooses
among the first ``skip`` points (:func:`skip_count`: 25 of 100 at
``smooth=0.98``), where the debiased moving average still rests on a handful
of noisy losses. Three rules read the smoothed losses ``s`` (the moving
average) against ``x = log10(lr)``, with ``e`` the index of the lowest
smoothed loss after the skipped points:

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

One reads the centred curve of :mod:`lrkit.finder.curve`, which does not lag:

- ``rise/4``: a quarter of the lr where the centred loss starts to rise
  measurably above its bottom.

From these, :func:`edge` reads the highest lr the sweep shows training fast
at, and ``edge/3`` (:func:`edge_over_3`) stays a factor 3 below it.
:func:`choose` picks the default (``edge/3``, or ``rise/4`` when the loss
never fell) and :func:`lr_range` gives the one-cycle pair.
"""

from __future__ import annotations

import math

import numpy as np

from .curve import Reading

__all__ = ["MIN_POINTS", "RANGE_OVER", "RISE_OVER", "SAFETY", "SHALLOW_PEAK", "choose", "edge", "edge_over_3",
           "lr_range", "min_over_10", "rise_over_4", "skip_count", "steepest", "valley"]

MIN_POINTS = 5
RISE_OVER = 4.0     # the default stays this factor below the lr where the loss starts to rise
RANGE_OVER = 3.0    # the range's high end: this factor below it
SAFETY = 3.0        # the default (``edge/3``) stays this factor below the edge the sweep shows
SHALLOW_PEAK = 2.0  # on a curve that fell by less than a third: the high end, in units of the edge
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


def _still_falling(lrs: np.ndarray) -> str:
    return f"the loss was still falling at the last lr={lrs[-1]:.3g}; raise `end`"


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
    _, why = _bottom(lrs, s, smooth)
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
        return None, _still_falling(lrs)
    return float(lrs[e] / 10), None


def rise_over_4(lrs: np.ndarray, reading: Reading) -> tuple[float | None, str | None]:
    """A quarter of the lr where the centred loss starts to rise: from there it stays more than 2 noise
    units above its bottom for a quarter decade (:mod:`lrkit.finder.curve`).

    >>> from lrkit.finder.curve import read
    >>> lrs = np.logspace(-3, 1, 5); losses = np.array([3, 2.8, 2, 1, 9.0])
    >>> rise_over_4(lrs, read(lrs, losses, skip=1))
    (2.5, None)

    It is none when the loss rises from the start (within a decade of the first point read).
    """
    if reading.rise is None:
        return None, "the loss never rose measurably: no blow-up in the sweep"
    x = np.log10(lrs)
    if x[reading.rise] - x[reading.skip] < 1.0:
        return None, (f"the loss rose within a decade of lr={lrs[reading.skip]:.3g}; "
                      f"the sweep starts too high: lower `start`")
    return float(lrs[reading.rise] / RISE_OVER), None


def edge(suggestions: dict[str, float | None], reading: Reading) -> tuple[float | None, str | None]:
    """The highest lr the sweep shows training fast at, by how far the loss fell
    (:mod:`lrkit.finder.curve`):

    - deeply (by at least a third): the lower of ``steepest`` and ``rise/4``.
      The moving average lags the raw loss, so on a curve that collapses over
      a few steps its steepest point runs up against the bottom, where
      training at a constant lr is at the edge of diverging; a quarter of the
      lr where the loss starts to rise caps it (with neither: ``min/10``,
      then ``valley``);
    - measurably but by less than a third: ``min/10``. The sweep barely
      trained the model, and the fall it shows is mostly the start of
      instability: its steepest point and its rise come late (then the lower
      of ``rise/4`` and ``steepest``, then ``valley``);
    - not measurably: none (the sweep only shows where training blows up).

    >>> from lrkit.finder.curve import read
    >>> lrs = np.logspace(-3, 1, 9); deep = read(lrs, [3, 3, 3, 2, 1, 1, 1, 5, 9.0], skip=1)
    >>> edge({"steepest": 0.05, "valley": 0.003, "min/10": 0.02, "rise/4": 0.1}, deep)
    (0.05, None)
    >>> shallow = read(lrs, [3, 3, 3, 2.9, 2.8, 2.8, 2.8, 5, 9.0], skip=1)
    >>> edge({"steepest": 0.2, "valley": 0.003, "min/10": 0.02, "rise/4": 0.1}, shallow)
    (0.02, None)
    """
    if not reading.fell:
        return None, f"{reading.flat()}; the sweep only shows where training blows up"
    if not reading.deep and suggestions.get("min/10") is not None:
        return suggestions["min/10"], None
    have = [v for k in ("steepest", "rise/4") if (v := suggestions.get(k)) is not None]
    if have:
        return min(have), None
    for name in ("min/10", "valley"):
        if (v := suggestions.get(name)) is not None:
            return v, None
    return None, "no heuristic applies (see the other reasons)"


def edge_over_3(suggestions: dict[str, float | None], reading: Reading) -> tuple[float | None, str | None]:
    """``edge / 3``: a third of :func:`edge`. Each reading of the edge marks where
    training is fast in a 100-step sweep; a run of hundreds or thousands of
    steps at a constant lr needs a margin below it. The factor 3 was set on the
    44 problems (240 cases) of the benchmark's tuning splits (lr/lr* near 1 in
    the median; 2 to 4 did about as well) and then checked once on 9 problems
    never used to set it (docs/finder.md).

    >>> from lrkit.finder.curve import read
    >>> lrs = np.logspace(-3, 1, 9); deep = read(lrs, [3, 3, 3, 2, 1, 1, 1, 5, 9.0], skip=1)
    >>> edge_over_3({"steepest": 0.06, "valley": 0.003, "min/10": 0.02, "rise/4": 0.1}, deep)
    (0.02, None)
    """
    lr, why = edge(suggestions, reading)
    return (lr / SAFETY, None) if lr is not None else (None, why)


def choose(suggestions: dict[str, float | None], reading: Reading) -> tuple[str | None, str | None]:
    """The heuristic to trust: ``edge/3`` when the loss fell measurably; ``rise/4``
    when it never did (the sweep only shows where training blows up).

    >>> from lrkit.finder.curve import read
    >>> lrs = np.logspace(-3, 1, 9); deep = read(lrs, [3, 3, 3, 2, 1, 1, 1, 5, 9.0], skip=1)
    >>> choose({"steepest": 0.05, "valley": 0.003, "min/10": 0.02, "rise/4": 0.1, "edge/3": 0.05 / 3}, deep)
    ('edge/3', None)
    >>> flat = read(lrs, [3, 3, 3, 3, 3, 3, 3, 5, 9.0], skip=1)
    >>> choose({"steepest": None, "valley": None, "min/10": None, "rise/4": 0.1, "edge/3": None}, flat)
    ('rise/4', None)
    """
    if not reading.fell:
        if suggestions.get("rise/4") is not None:
            return "rise/4", None
        return None, "the loss neither fell nor rose measurably during the sweep: widen it (`start`, `end`)"
    if suggestions.get("edge/3") is not None:
        return "edge/3", None
    return None, "no heuristic applies (see the other reasons)"


def lr_range(lrs: np.ndarray, reading: Reading, top: float | None, *,
             completed: bool) -> tuple[tuple[float, float] | None, str | None]:
    """``(low, high)`` for one-cycle / cyclic schedules, ``low = high / 10`` (where a
    one-cycle starts), from ``top``, the :func:`edge` of the curve. When the
    loss fell deeply, ``high = max(rise / 3, top)`` with ``rise`` the lr where
    the centred loss starts to rise; when it fell by less than a third,
    ``high = 2 x top`` (the rise is late on such curves). None, with a reason,
    when the loss never fell measurably (no lr is known to make progress) or,
    on a deep curve, never rose (the sweep stopped short of where training
    breaks down).

    >>> from lrkit.finder.curve import read
    >>> lrs = np.logspace(-3, 1, 5); losses = np.array([3, 2.8, 2, 1, 9.0])
    >>> lr_range(lrs, read(lrs, losses, skip=1), 0.01, completed=False)
    ((0.33333333333333337, 3.3333333333333335), None)
    """
    if not reading.fell:
        return None, f"{reading.flat()}: no lr is known to make progress"
    if top is None:
        return None, "no suggestion to build it on"
    if not reading.deep:
        return (SHALLOW_PEAK * top / 10, SHALLOW_PEAK * top), None
    if reading.rise is None:
        if completed and reading.bottom == len(lrs) - 1:
            return None, _still_falling(lrs)
        return None, (f"the loss never rose measurably after lr={lrs[reading.bottom]:.3g}: the sweep ended "
                      f"before training breaks down; raise `end`")
    high = max(float(lrs[reading.rise]) / RANGE_OVER, top)
    return (high / 10, high), None
