"""Schedules given by tables: piecewise (constant pieces), interpolate (knots)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .args import ListArg, constructor, duration, fail, number, one_of
from .base import Schedule
from .units import resolve as _resolve

__all__ = ["interpolate", "piecewise"]


def _sequence_arg(ctor, param, v, what):
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise fail(ctor, param, what, v)
    return list(v)


def _no_rest(ctor, param, v):
    if v == "rest":
        raise fail(ctor, param, "a number of steps, 'Nep' or 'N%' ('rest' is only for phase lengths)", v)
    return v


def _sorted(ctor, param, times, strict, shown):
    nums = [x for x in times if not isinstance(x, str)]
    if len(nums) == len(times):
        bad = any((b <= a) if strict else (b < a) for a, b in zip(nums, nums[1:]))
        if bad:
            rule = "strictly increasing in time" if strict else "sorted (non-decreasing)"
            raise fail(ctor, param, rule, shown)


@dataclass(frozen=True, repr=False)
class Piecewise(Schedule):
    boundaries: tuple
    levels: tuple  # the ``values`` argument: a field named ``values`` would hide ``Schedule.values()``
    name = "piecewise"
    _durations = ("boundaries",)
    _renamed = {"levels": "values"}

    def _check(self):
        b = _sequence_arg(self.name, "boundaries", self.boundaries, "a list of steps")
        v = _sequence_arg(self.name, "values", self.levels, "a list of numbers")
        b = ListArg(_no_rest(self.name, "boundaries", duration(self.name, "boundaries", x, zero=True)) for x in b)
        v = ListArg(number(self.name, "values", x, ge=0) for x in v)
        _sorted(self.name, "boundaries", b, False, b)
        if len(v) != len(b) + 1:
            raise fail(self.name, "values", f"one longer than boundaries ({len(b) + 1} values)", v)
        self._set("boundaries", b)
        self._set("levels", v)

    def _at(self, t, xp):
        out = t * 0.0 + self.levels[0]
        for b, v in zip(self.boundaries, self.levels[1:]):
            out = xp.where(t >= b, v, out)
        return out


@dataclass(frozen=True, repr=False)
class Interpolate(Schedule):
    points: tuple
    shape: str = "linear"
    name = "interpolate"
    _durations = ("points",)

    def _check(self):
        pts = _sequence_arg(self.name, "points", self.points, "a list of (step, value) pairs")
        if not pts:
            raise fail(self.name, "points", "a non-empty list of (step, value) pairs", self.points)
        out = []
        for p in pts:
            if isinstance(p, (str, bytes)) or not isinstance(p, (list, tuple)) or len(p) != 2:
                raise fail(self.name, "points", "a list of (step, value) pairs", self.points)
            k = _no_rest(self.name, "points", duration(self.name, "points", p[0], zero=True))
            out.append((k, number(self.name, "points", p[1], ge=0)))
        _sorted(self.name, "points", [p[0] for p in out], True, ListArg(out))
        self._set("points", ListArg(out))
        one_of(self.name, "shape", self.shape, ("linear", "cosine"))

    def _duration(self):
        return self.points[-1][0]

    def _bind(self, env):
        if not self.units:
            return self
        pts = ListArg((_resolve(k, env, "interpolate().points"), v) for k, v in self.points)
        return replace(self, points=pts)

    def _at(self, t, xp):
        out = t * 0.0 + self.points[0][1]
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:]):
            f = xp.minimum(xp.maximum(t - t0, 0.0) / (t1 - t0), 1.0)
            if self.shape == "cosine":
                f = (1.0 - xp.cos(xp.pi * f)) / 2.0
            out = xp.where(t >= t0, v0 + (v1 - v0) * f, out)
        return out


@constructor
def piecewise(boundaries, values) -> Schedule:
    """Constant pieces: ``values[0]`` before ``boundaries[0]``, ``values[i]`` on
    ``[boundaries[i-1], boundaries[i])``, ``values[-1]`` from the last boundary on.

    Endless. (Keras ``PiecewiseConstantDecay`` switches one step later: it uses
    ``step > boundary``.)

    >>> import lrkit as lk
    >>> s = lk.piecewise([10, 20], [1.0, 0.5, 0.1])
    >>> s(9), s(10), s(20)
    (1.0, 0.5, 0.1)
    """
    return Piecewise(boundaries, values)


@constructor
def interpolate(points, shape="linear") -> Schedule:
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
    return Interpolate(points, shape)
