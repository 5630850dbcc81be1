"""Single-formula schedules: constant, linear, warmup, step, multistep,
exponential, cosine, polynomial, inverse_time, inverse_sqrt.

Each is one class: its fields (with their checks and defaults) and its
formula. ``t' = min(t, steps)``: a finite schedule holds its final value past the end.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq

from ..checks import show
from ..errors import SpecError
from .base import Schedule
from .fields import Duration, Number, StepList, arg
from .ops import floor_div

__all__ = [
    "constant", "cosine", "exponential", "inverse_sqrt", "inverse_time",
    "linear", "multistep", "polynomial", "step", "warmup",
]

LEVEL = Number(ge=0)  # a value of the schedule: start, end, ...
RATE = Number(gt=0)  # a multiplicative factor: gamma


class constant(Schedule):
    """``value`` at every step; ``steps`` only sets the duration (None: endless).

    Useful as a phase: ``lk.constant(0.1, steps=100) >> lk.cosine(900)``.

    >>> import lrkit as lk
    >>> lk.constant(0.5)(123), lk.constant(0.5, steps=10).duration
    (0.5, 10)
    """

    value: float = arg(LEVEL, default=1.0, positional=True)
    steps: float | str | None = arg(Duration(), default=None)
    _length = "steps"

    def _at(self, t, xp):
        return t * 0.0 + self.value


class linear(Schedule):
    """Straight line from ``start`` to ``end`` over ``steps``, then ``end``.

    ``value(t) = start + (end - start) * min(t, steps) / steps``: ``start`` at 0,
    ``end`` from ``steps`` on. Same as torch ``LinearLR(start_factor=start,
    end_factor=end, total_iters=steps)``.

    >>> import lrkit as lk
    >>> s = lk.linear(100, start=1.0, end=0.5)
    >>> s(0), s(50), s(100), s(10**9)
    (1.0, 0.75, 0.5, 0.5)
    """

    steps: float | str = arg(Duration())
    start: float = arg(LEVEL, default=1.0)
    end: float = arg(LEVEL, default=0.0)
    _length = "steps"

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)  # fraction first: ((end-start)*tt)/steps can overshoot end,
        ramp = self.start + (self.end - self.start) * (tt / self.steps)  # e.g. to -3e-18 for end=0
        return xp.where(t >= self.steps, self.end, ramp)  # the end value exactly, not start + (end - start)


class warmup(linear):
    """Linear warmup: ``linear`` with defaults ``start=0``, ``end=1``.

    ``value(t) = start + (end - start) * min(t, steps) / steps`` (HF linear warmup):
    0 at step 0, 1 from ``steps`` on.

    >>> import lrkit as lk
    >>> s = lk.warmup(500) >> lk.cosine(9_500, end=0.01)
    >>> s(0), s(250), s(500), s(10_000)
    (0.0, 0.5, 1.0, 0.01)
    """

    start: float = arg(LEVEL, default=0.0)
    end: float = arg(LEVEL, default=1.0)


class step(Schedule):
    """Multiply by ``gamma`` every ``size`` steps: ``start * gamma ** floor(t / size)``.

    Endless. Same as torch ``StepLR(step_size=size, gamma=gamma)``.

    >>> import lrkit as lk
    >>> s = lk.step(10, gamma=0.5)
    >>> s(0), s(9), s(10), s(25)
    (1.0, 1.0, 0.5, 0.25)
    """

    size: float | str = arg(Duration())
    gamma: float = arg(RATE, default=0.1)
    start: float = arg(LEVEL, default=1.0)

    def _at(self, t, xp):
        return self.start * xp.power(self.gamma, floor_div(t, self.size, xp))


class multistep(Schedule):
    """``start * gamma ** (number of milestones m <= t)``; repeated milestones count twice.

    Endless. Same as torch ``MultiStepLR``.

    >>> import lrkit as lk
    >>> s = lk.multistep([30, 80], gamma=0.1)
    >>> s(29), s(30), round(s(80), 12)
    (1.0, 0.1, 0.01)
    """

    milestones: Seq[float | str] = arg(StepList())
    gamma: float = arg(RATE, default=0.1)
    start: float = arg(LEVEL, default=1.0)

    def _at(self, t, xp):
        count = t * 0.0
        for m in self.milestones:
            count = count + xp.where(t >= m, 1.0, 0.0)
        return self.start * xp.power(self.gamma, count)


class exponential(Schedule):
    """``start * gamma ** t``; give exactly one of ``gamma`` or ``half_life``
    (then ``gamma = 0.5 ** (1 / half_life)``, computed as ``0.5 ** (t / half_life)``,
    exactly ``0.5 ** k`` at ``t = k * half_life``). Endless. Same as torch ``ExponentialLR``.

    >>> import lrkit as lk
    >>> lk.exponential(half_life=100)(200), lk.exponential(0.5)(3)
    (0.25, 0.125)
    """

    gamma: float | None = arg(RATE, default=None)
    half_life: float | str | None = arg(Duration(), default=None)
    start: float = arg(LEVEL, default=1.0)

    def _validate(self) -> None:
        if (self.gamma is None) == (self.half_life is None):
            raise SpecError(f"{self.name}(): exactly one of gamma and half_life must be given; "
                            f"got gamma={show(self.gamma)}, half_life={show(self.half_life)}")

    @property
    def rate(self) -> float:
        """The per-step factor: ``gamma``, or ``0.5 ** (1 / half_life)``."""
        return self.gamma if self.gamma is not None else 0.5 ** (1.0 / self.half_life)  # type: ignore[operator]

    def _at(self, t, xp):
        if self.half_life is not None:
            return self.start * xp.power(0.5, t / self.half_life)
        return self.start * xp.power(self.gamma, t)


class cosine(Schedule):
    """Half-cosine from ``start`` to ``end`` over ``steps``, then ``end``.

    ``value(t) = end + (start - end) * (1 + cos(pi * min(t, steps) / steps)) / 2``.
    Same as torch ``CosineAnnealingLR(T_max=steps, eta_min=end)`` for ``t <= steps``
    (torch's curve rises again past ``T_max``; lrkit holds ``end``).

    >>> import lrkit as lk
    >>> s = lk.cosine(100, end=0.1)
    >>> s(0), round(s(50), 12), s(100), s(1e9)
    (1.0, 0.55, 0.1, 0.1)
    """

    steps: float | str = arg(Duration())
    start: float = arg(LEVEL, default=1.0)
    end: float = arg(LEVEL, default=0.0)
    _length = "steps"

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)
        return self.end + (self.start - self.end) * (1 + xp.cos(xp.pi * tt / self.steps)) / 2


class polynomial(Schedule):
    """``end + (start - end) * (1 - min(t, steps) / steps) ** power``, then ``end``.

    Same as torch ``PolynomialLR(total_iters=steps, power=power)`` when ``end=0``.

    >>> import lrkit as lk
    >>> s = lk.polynomial(100, power=2.0)
    >>> s(0), s(50), s(100)
    (1.0, 0.25, 0.0)
    """

    steps: float | str = arg(Duration())
    power: float = arg(Number(ge=0), default=1.0)
    start: float = arg(LEVEL, default=1.0)
    end: float = arg(LEVEL, default=0.0)
    _length = "steps"

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)
        left = (self.steps - tt) / self.steps  # not 1 - tt/steps: exactly 0 at the end even where XLA
        return self.end + (self.start - self.end) * xp.power(left, self.power)  # divides by multiplying


class inverse_time(Schedule):
    """``start / (1 + t / timescale) ** power``. Endless.

    Keras ``InverseTimeDecay(initial, decay_steps, decay_rate)`` is
    ``initial * inverse_time(decay_steps / decay_rate)``.

    >>> import lrkit as lk
    >>> lk.inverse_time(100)(100)
    0.5
    """

    timescale: float | str = arg(Duration())
    power: float = arg(Number(ge=0), default=1.0)
    start: float = arg(LEVEL, default=1.0)

    def _at(self, t, xp):
        return self.start / xp.power(1.0 + t / self.timescale, self.power)


class inverse_sqrt(Schedule):
    """``start / sqrt(1 + t / timescale)``: ``inverse_time(timescale, 0.5, start)``.

    HF's ``get_inverse_sqrt_schedule`` after its warmup is
    ``lk.warmup(w) >> lk.inverse_sqrt(timescale)``.

    >>> import lrkit as lk
    >>> lk.inverse_sqrt(100)(300)
    0.5
    """

    timescale: float | str = arg(Duration())
    start: float = arg(LEVEL, default=1.0)

    def _at(self, t, xp):
        return self.start / xp.sqrt(1.0 + t / self.timescale)
