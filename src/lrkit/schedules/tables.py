"""Schedules given by tables: piecewise (constant pieces), interpolate (knots)."""

from __future__ import annotations

from collections.abc import Sequence as Seq
from typing import Any, cast

from ..checks import fail
from .base import Schedule
from .fields import Choice, Levels, Points, StepList, arg

__all__ = ["interpolate", "piecewise"]


class piecewise(Schedule):
    """Constant pieces: ``values[0]`` before ``boundaries[0]``, ``values[i]`` on
    ``[boundaries[i-1], boundaries[i])``, ``values[-1]`` from the last boundary on.

    Endless. (Keras ``PiecewiseConstantDecay`` switches one step later: it uses
    ``step > boundary``.) The ``values`` argument is the field ``levels``
    (``s.values(ts)`` evaluates the schedule).

    >>> import lrkit as lk
    >>> s = lk.piecewise([10, 20], [1.0, 0.5, 0.1])
    >>> s(9), s(10), s(20)
    (1.0, 0.5, 0.1)
    """

    boundaries: Seq[float | str] = arg(StepList())
    levels: Seq[float] = arg(Levels(), alias="values")

    def _validate(self) -> None:
        if len(self.levels) != len(self.boundaries) + 1:
            raise fail(self.name, "values", f"one longer than boundaries ({len(self.boundaries) + 1} values)",
                       self.levels)

    def _at(self, t, xp):
        out = t * 0.0 + self.levels[0]
        for b, v in zip(self.boundaries, self.levels[1:]):
            out = xp.where(t >= b, v, out)
        return out


class interpolate(Schedule):
    """Through knots ``[(t0, v0), (t1, v1), ...]`` (times strictly increasing),
    ``shape`` "linear" or "cosine" between knots, held before the first and
    after the last. Duration: the last knot's step.

    Cosine between knots: ``v_i + (v_{i+1} - v_i) * (1 - cos(pi f)) / 2``,
    ``f`` the fraction of the way (optax's ``piecewise_interpolate_schedule``).

    >>> import lrkit as lk
    >>> s = lk.interpolate([(0, 0.0), (10, 1.0), (30, 0.5)])
    >>> s(5), s(20), s(100)
    (0.5, 0.75, 0.5)
    """

    points: Seq[tuple[float | str, float]] = arg(Points())
    shape: str = arg(Choice("linear", "cosine"), default="linear")

    @property
    def is_finite(self) -> bool:
        return True

    def _duration(self) -> Any:
        return self.points[-1][0]

    def _at(self, t, xp):
        points = cast("Seq[tuple[float, float]]", self.points)  # bound (evaluate checks): every step a number
        out = t * 0.0 + points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:]):
            f = xp.minimum(xp.maximum(t - t0, 0.0) / (t1 - t0), 1.0)
            if self.shape == "cosine":
                f = (1.0 - xp.cos(xp.pi * f)) / 2.0
            out = xp.where(t >= t0, v0 + (v1 - v0) * f, out)
        return out
