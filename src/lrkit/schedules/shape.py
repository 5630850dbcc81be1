"""Schedules that reshape another: window (cut to a length), reciprocal (1/x).

Both serve the recipes (phased training cuts endless phases with
``window``; weight decay that keeps ``lr * wd`` constant is a
``reciprocal`` of the lr) and have a text form like every schedule.
"""

from __future__ import annotations

from typing import Any

from .base import Inner, Schedule
from .compose import Wrapper
from .fields import Duration, Number, arg
from .units import Env, resolve

__all__ = ["reciprocal", "window"]


class window(Wrapper):
    """``inner(min(t, steps))``: any schedule cut to ``steps`` (then held), so an
    endless one can be a phase of ``>>``.

    ``steps`` may be ``"5ep"``, ``"10%"`` or ``"rest"``; inside the window,
    ``inner``'s own ``"rest"`` means the window's length (so a phase's
    ``cosine("rest")`` spans its phase).

    >>> import lrkit as lk
    >>> s = lk.window(lk.exponential(half_life=10), 20)
    >>> s(10), s(20), s(1000), s.duration
    (0.5, 0.25, 0.25, 20)
    >>> s = lk.window(lk.step(2, gamma=0.5), 5) >> lk.constant(0.1)
    >>> [s(t) for t in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.1, 0.1]
    """

    inner: Schedule = arg(Inner())
    steps: float | str = arg(Duration())
    _length = "steps"

    @property
    def is_finite(self) -> bool:
        return True

    def _duration(self) -> Any:
        return self.steps

    def rest_count(self) -> int:  # the inner schedule's "rest" is the window's own length, not the run's
        return 1 if self.steps == "rest" else 0

    def _bind(self, env: Env) -> Schedule:
        if not self._units:
            return self
        steps = resolve(self.steps, env, "window().steps")
        return window(self.inner._bind(env.within(steps)), steps)

    def _at(self, t, xp):
        return self.inner._at(xp.minimum(t, self.steps), xp)


class reciprocal(Wrapper):
    """``scale / max(inner(t), floor)``: rises as ``inner`` falls (duration: ``inner``'s).

    The weight decay that keeps AdamW's ``lr * wd`` constant under an lr
    schedule ``s`` is ``wd * reciprocal(s)`` (see ``lrkit.recipes``).

    >>> import lrkit as lk
    >>> s = lk.reciprocal(lk.linear(10, 1.0, 0.0), floor=0.25)
    >>> s(0), s(5), s(10)
    (1.0, 2.0, 4.0)
    """

    inner: Schedule = arg(Inner())
    scale: float = arg(Number(ge=0), default=1.0)
    floor: float = arg(Number(gt=0), default=1e-3)

    def _at(self, t, xp):
        return self.scale / xp.maximum(self.inner._at(t, xp), self.floor)
