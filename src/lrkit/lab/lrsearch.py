"""How each schedule's lr is searched and chosen (pure: numbers in, decisions out).

The lrs of a job lie on one **ladder**: the grid (``lrs``, sorted) indexed
``0 .. G-1``, continued past both ends with the ratio of the grid's two end
steps (2 for the default grid ``lr * (1/4, 1/2, 1, 2, 4)``). Every run of a
schedule at a ladder lr is identified by its index, so the adaptive and the
full protocol share runs.

A tried lr is a **point**: the mean over the tuning seeds of the validation
metric at the last report, oriented so that higher is better. A point counts
only when every one of its tuning runs finished (``done``); a pruned, failed
or diverged one is never chosen. The **choice** is the best point; equal
means (up to float rounding) go to the smaller lr. The test split is never read.

- ``full``: every grid point, nothing else.
- ``adaptive`` (coarse to fine): first the centre of the grid and the points a
  coarse step either side of it (two ladder steps on a grid of 5 or more points,
  one on a smaller grid: ``lr/4, lr, 4 lr`` on the default grid); while the best
  point is the highest or lowest tried, two steps more on that side (up to
  :data:`REACH` steps past the grid); then, between the best point and its better
  neighbour, the one point in between (the grid's resolution). On the default
  grid that is 4 points where the full protocol trains 5, and the search can
  leave the grid where the full protocol only flags its edge.

>>> s = Search.within([0.025, 0.05, 0.1, 0.2, 0.4])
>>> s.next({})
[2, 1, 3]
>>> s.next({1: 0.80, 2: 0.90, 3: 0.92})           # the best is the highest tried: one step up
[4]
>>> s.next({1: 0.80, 2: 0.90, 3: 0.92, 4: 0.85}), s.choice({1: 0.80, 2: 0.90, 3: 0.92, 4: 0.85})
([], 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["REACH", "Search", "ladder"]

REACH = 16.0  # how far past each end of the grid the adaptive search may go: 16x below the smallest lr, 16x above
TIE = 1e-12


def ladder(grid: list[float], index: int) -> float:
    """The lr at ``index`` of the ladder through ``grid`` (module doc), rounded to 12 significant digits.

    >>> [ladder([0.1, 0.2, 0.4], k) for k in (-1, 0, 2, 3)]
    [0.05, 0.1, 0.4, 0.8]
    >>> ladder([0.1], 1), ladder([0.1], -2)
    (0.2, 0.025)
    """
    g = len(grid)
    if 0 <= index < g:
        return grid[index]
    if index < 0:
        ratio = grid[1] / grid[0] if g > 1 else 2.0
        return float(f"{grid[0] / ratio ** (-index):.12g}")
    ratio = grid[-1] / grid[-2] if g > 1 else 2.0
    return float(f"{grid[-1] * ratio ** (index - g + 1):.12g}")


@dataclass(frozen=True)
class Search:
    """The lr search of one schedule over a grid of ``size`` points (module doc).

    ``points`` map a tried ladder index to its value (higher is better) or
    None (pruned, failed or diverged); ``next(points)`` gives the indices to
    try now (empty when the search is over), ``choice(points)`` the chosen index.
    ``low`` / ``high`` bound the indices (:meth:`within` computes them for a grid).
    """

    size: int
    protocol: str = "adaptive"
    low: int = 0
    high: int = 0

    @classmethod
    def within(cls, grid: list[float], protocol: str = "adaptive", top: float = math.inf) -> Search:
        """The search over ``grid``, its ladder bounded by :data:`REACH` and by ``top`` (the largest lr allowed)."""
        lo, hi = 0, len(grid) - 1
        if protocol == "adaptive":
            while lo > -64 and ladder(grid, lo - 1) >= grid[0] / REACH * (1 - 1e-9):
                lo -= 1
            while hi < len(grid) + 64 and ladder(grid, hi + 1) <= min(top, grid[-1] * REACH * (1 + 1e-9)):
                hi += 1
        return cls(len(grid), protocol, lo, hi)


    @property
    def bounds(self) -> tuple[int, int]:
        return (0, self.size - 1) if self.protocol == "full" else (self.low, self.high)

    def first(self) -> list[int]:
        """The first points, the centre of the grid first (so runs trained one after another meet their rival
        before the points less likely to be best: pruning can only compare with what has reported)."""
        c = (self.size - 1) // 2
        if self.protocol == "full" or self.size <= 3:
            return sorted(range(self.size), key=lambda k: (abs(k - c), k))
        return [c, c - 1, c + 1]

    def next(self, points: Mapping[int, float | None]) -> list[int]:
        """The ladder indices to try next, given what was tried (module doc)."""
        if not points:
            return self.first()
        if self.protocol == "full" or self.size == 1:  # one lr given: nothing to search
            return [k for k in self.first() if k not in points]
        lo, hi = self.bounds
        tried = sorted(points)
        best = self.choice(points)
        if best is None:  # nothing trained well: try smaller lrs (diverged or failed at every one)
            k = tried[0] - 1
            return [k] if k >= lo else []
        finite = [k for k in tried if points[k] is not None]
        for edge, step, inner in ((tried[0], -1, finite[1:2]), (tried[-1], 1, finite[-2:-1])):
            rising = bool(inner) and self._above(points[edge], points[inner[0]])
            if best == edge and rising and lo <= edge + step <= hi and edge + step not in points:
                return [edge + step]
        return []

    @staticmethod
    def _above(v: float | None, w: float | None) -> bool:
        """``v`` is better than ``w`` beyond float rounding (a flat response is no reason to go further)."""
        return v is not None and (w is None or v - w > TIE * max(1.0, abs(v)))

    def choice(self, points: Mapping[int, float | None]) -> int | None:
        """The index of the best point (ties to the smaller lr), None when no point counts."""
        best: tuple[int, float] | None = None
        for k in sorted(points):
            v = points[k]
            if v is None or not math.isfinite(v):
                continue
            if best is None or v - best[1] > TIE * max(1.0, abs(v)):
                best = (k, v)
        return None if best is None else best[0]

    def at_edge(self, points: Mapping[int, float | None]) -> bool:
        """The choice is the lowest or highest lr tried: the best lr may lie beyond (the full protocol's grid
        ends there; the adaptive search stops :data:`REACH` steps past the grid)."""
        best = self.choice(points)
        return best is not None and len(points) > 1 and best in (min(points), max(points))
