"""Schedules that reshape another: window (cut to a length), reciprocal (1/x).

Both serve the recipes (phased training cuts endless phases with
``window``; weight decay that keeps ``lr * wd`` constant is a
``reciprocal`` of the lr) and have a text form like every schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .args import constructor, duration, number
from .base import Schedule, schedule_arg
from .compose import Wrapper
from .units import resolve as _resolve

__all__ = ["reciprocal", "window"]


@dataclass(frozen=True, repr=False)
class Window(Wrapper):
    """``inner`` for ``t < steps``, then ``inner(steps)`` held: any schedule, cut
    to a finite length (so an endless one can be a phase of ``>>``).

    ``steps`` may be ``"5ep"``, ``"10%"`` or ``"rest"``; inside the window,
    ``inner``'s own ``"rest"`` means the window's length (so a phase's
    ``cosine("rest")`` spans its phase). Its text form is ``window(inner, steps)``.

    >>> import lrkit as lk
    >>> s = lk.window(lk.step(2, gamma=0.5), 5) >> lk.constant(0.1)
    >>> [s(t) for t in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.1, 0.1]
    """

    inner: Schedule
    steps: float | str
    name = "window"
    _durations = ("steps",)

    def _check(self):
        schedule_arg(self.name, "inner", self.inner)
        self._set("steps", duration(self.name, "steps", self.steps))

    def rest_count(self) -> int:
        # the inner schedule's "rest" is the window's own length, not the run's
        return 1 if self.steps == "rest" else 0

    def _bind(self, env):
        if not self.units:
            return self
        steps = _resolve(self.steps, env, "window().steps")
        return replace(self, inner=self.inner._bind(replace(env, available=steps)), steps=steps)

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        return self.inner.evaluate(xp.minimum(t, self.steps), xp)


@dataclass(frozen=True, repr=False)
class Reciprocal(Wrapper):
    """``scale / max(inner(t), floor)``: a schedule that rises as ``inner`` falls.

    Its duration is ``inner``'s. Its text form is ``reciprocal(inner, scale, floor)``.

    >>> import lrkit as lk
    >>> s = lk.reciprocal(lk.linear(10, 1.0, 0.0), floor=0.25)
    >>> s(0), s(5), s(10)
    (1.0, 2.0, 4.0)
    """

    inner: Schedule
    scale: float = 1.0
    floor: float = 1e-3
    name = "reciprocal"

    def _check(self):
        schedule_arg(self.name, "inner", self.inner)
        self._set("scale", number(self.name, "scale", self.scale, ge=0))
        self._set("floor", number(self.name, "floor", self.floor, gt=0))

    def _at(self, t, xp):
        return self.scale / xp.maximum(self.inner.evaluate(t, xp), self.floor)


@constructor
def window(inner, steps) -> Schedule:
    """``inner(min(t, steps))``: any schedule cut to ``steps`` (then held), so an
    endless one can be a phase of ``>>``. Inside, ``inner``'s ``"rest"`` means
    the window's length.

    >>> import lrkit as lk
    >>> s = lk.window(lk.exponential(half_life=10), 20)
    >>> s(10), s(20), s(1000), s.duration
    (0.5, 0.25, 0.25, 20)
    """
    return Window(inner, steps)


@constructor
def reciprocal(inner, scale=1.0, floor=1e-3) -> Schedule:
    """``scale / max(inner(t), floor)``: rises as ``inner`` falls (duration: ``inner``'s).

    The weight decay that keeps AdamW's ``lr * wd`` constant under an lr
    schedule ``s`` is ``wd * reciprocal(s)`` (see ``lrkit.recipes``).

    >>> import lrkit as lk
    >>> s = lk.reciprocal(lk.linear(10, 1.0, 0.5))
    >>> s(0), s(10)
    (1.0, 2.0)
    """
    return Reciprocal(inner, scale, floor)
