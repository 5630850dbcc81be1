"""Single-formula schedules: constant, linear, warmup, step, multistep,
exponential, cosine, polynomial, inverse_time, inverse_sqrt.

``t' = min(t, steps)``: a finite schedule holds its final value past the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError
from .args import ListArg, constructor, duration, fail, number, show
from .base import Schedule
from .ops import floor_div

__all__ = [
    "constant", "cosine", "exponential", "inverse_sqrt", "inverse_time",
    "linear", "multistep", "polynomial", "step", "warmup",
]


@dataclass(frozen=True, repr=False)
class Constant(Schedule):
    value: float = 1.0
    steps: float | str | None = None
    name = "constant"
    _durations = ("steps",)
    _positional = ("value",)

    def _check(self):
        self._set("value", number(self.name, "value", self.value, ge=0))
        if self.steps is not None:
            self._set("steps", duration(self.name, "steps", self.steps))

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        return t * 0.0 + self.value


@dataclass(frozen=True, repr=False)
class Linear(Schedule):
    steps: float | str
    start: float = 1.0
    end: float = 0.0
    name = "linear"
    _durations = ("steps",)

    def _check(self):
        self._set("steps", duration(self.name, "steps", self.steps))
        self._set("start", number(self.name, "start", self.start, ge=0))
        self._set("end", number(self.name, "end", self.end, ge=0))

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)  # fraction first: ((end-start)*tt)/steps can overshoot end,
        ramp = self.start + (self.end - self.start) * (tt / self.steps)  # e.g. to -3e-18 for end=0
        return xp.where(t >= self.steps, self.end, ramp)  # the end value exactly, not start + (end - start)


@dataclass(frozen=True, repr=False)
class Warmup(Linear):
    steps: float | str
    start: float = 0.0
    end: float = 1.0
    name = "warmup"


@dataclass(frozen=True, repr=False)
class Step(Schedule):
    size: float | str
    gamma: float = 0.1
    start: float = 1.0
    name = "step"
    _durations = ("size",)

    def _check(self):
        self._set("size", duration(self.name, "size", self.size))
        self._set("gamma", number(self.name, "gamma", self.gamma, gt=0))
        self._set("start", number(self.name, "start", self.start, ge=0))

    def _at(self, t, xp):
        return self.start * xp.power(self.gamma, floor_div(t, self.size, xp))


@dataclass(frozen=True, repr=False)
class MultiStep(Schedule):
    milestones: tuple
    gamma: float = 0.1
    start: float = 1.0
    name = "multistep"
    _durations = ("milestones",)

    def _check(self):
        ms = self.milestones
        if isinstance(ms, (str, bytes)) or not isinstance(ms, (list, tuple)):
            raise fail(self.name, "milestones", "a list of steps", ms)
        ms = ListArg(duration(self.name, "milestones", m, zero=True) for m in ms)
        if "rest" in ms:
            raise fail(self.name, "milestones", "steps, 'Nep' or 'N%' ('rest' is only for phase lengths)", "rest")
        nums = [m for m in ms if not isinstance(m, str)]
        if len(nums) == len(ms) and any(b < a for a, b in zip(nums, nums[1:])):
            raise fail(self.name, "milestones", "sorted (non-decreasing)", ms)
        self._set("milestones", ms)
        self._set("gamma", number(self.name, "gamma", self.gamma, gt=0))
        self._set("start", number(self.name, "start", self.start, ge=0))

    def _at(self, t, xp):
        count = t * 0.0
        for m in self.milestones:
            count = count + xp.where(t >= m, 1.0, 0.0)
        return self.start * xp.power(self.gamma, count)


@dataclass(frozen=True, repr=False)
class Exponential(Schedule):
    gamma: float | None = None
    half_life: float | str | None = None
    start: float = 1.0
    name = "exponential"
    _durations = ("half_life",)

    def _check(self):
        if (self.gamma is None) == (self.half_life is None):
            raise SpecError(
                f"{self.name}(): exactly one of gamma and half_life must be given; "
                f"got gamma={show(self.gamma)}, half_life={show(self.half_life)}"
            )
        if self.gamma is not None:
            self._set("gamma", number(self.name, "gamma", self.gamma, gt=0))
        else:
            self._set("half_life", duration(self.name, "half_life", self.half_life))
        self._set("start", number(self.name, "start", self.start, ge=0))

    @property
    def rate(self) -> float:
        """The per-step factor: ``gamma``, or ``0.5 ** (1 / half_life)``."""
        return self.gamma if self.gamma is not None else 0.5 ** (1.0 / self.half_life)

    def _at(self, t, xp):
        if self.half_life is not None:  # 0.5 ** (t / h): exactly 0.5**k at t = k * half_life
            return self.start * xp.power(0.5, t / self.half_life)
        return self.start * xp.power(self.gamma, t)


@dataclass(frozen=True, repr=False)
class Cosine(Schedule):
    steps: float | str
    start: float = 1.0
    end: float = 0.0
    name = "cosine"
    _durations = ("steps",)

    def _check(self):
        self._set("steps", duration(self.name, "steps", self.steps))
        self._set("start", number(self.name, "start", self.start, ge=0))
        self._set("end", number(self.name, "end", self.end, ge=0))

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)
        return self.end + (self.start - self.end) * (1 + xp.cos(xp.pi * tt / self.steps)) / 2


@dataclass(frozen=True, repr=False)
class Polynomial(Schedule):
    steps: float | str
    power: float = 1.0
    start: float = 1.0
    end: float = 0.0
    name = "polynomial"
    _durations = ("steps",)

    def _check(self):
        self._set("steps", duration(self.name, "steps", self.steps))
        self._set("power", number(self.name, "power", self.power, ge=0))
        self._set("start", number(self.name, "start", self.start, ge=0))
        self._set("end", number(self.name, "end", self.end, ge=0))

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        tt = xp.minimum(t, self.steps)
        left = (self.steps - tt) / self.steps  # not 1 - tt/steps: exactly 0 at the end even where XLA
        return self.end + (self.start - self.end) * xp.power(left, self.power)  # divides by multiplying


@dataclass(frozen=True, repr=False)
class InverseTime(Schedule):
    timescale: float | str
    power: float = 1.0
    start: float = 1.0
    name = "inverse_time"
    _durations = ("timescale",)

    def _check(self):
        self._set("timescale", duration(self.name, "timescale", self.timescale))
        self._set("power", number(self.name, "power", self.power, ge=0))
        self._set("start", number(self.name, "start", self.start, ge=0))

    def _at(self, t, xp):
        return self.start / xp.power(1.0 + t / self.timescale, self.power)


@dataclass(frozen=True, repr=False)
class InverseSqrt(Schedule):
    timescale: float | str
    start: float = 1.0
    name = "inverse_sqrt"
    _durations = ("timescale",)

    def _check(self):
        self._set("timescale", duration(self.name, "timescale", self.timescale))
        self._set("start", number(self.name, "start", self.start, ge=0))

    def _at(self, t, xp):
        return self.start / xp.sqrt(1.0 + t / self.timescale)


# ------------------------------------------------------------ public makers
@constructor
def constant(value=1.0, steps=None) -> Schedule:
    """``value`` at every step; ``steps`` only sets the duration (None: endless).

    Useful as a phase: ``lk.constant(0.1, steps=100) >> lk.cosine(900)``.

    >>> import lrkit as lk
    >>> lk.constant(0.5)(123)
    0.5
    """
    return Constant(value, steps)


@constructor
def linear(steps, start=1.0, end=0.0) -> Schedule:
    """Straight line from ``start`` to ``end`` over ``steps``, then ``end``.

    ``value(t) = start + (end - start) * min(t, steps) / steps``.
    Same as torch ``LinearLR(start_factor=start, end_factor=end, total_iters=steps)``.

    >>> import lrkit as lk
    >>> s = lk.linear(100, start=1.0, end=0.5)
    >>> s(0), s(50), s(100), s(10**9)
    (1.0, 0.75, 0.5, 0.5)
    """
    return Linear(steps, start, end)


@constructor
def warmup(steps, start=0.0, end=1.0) -> Schedule:
    """Linear warmup: ``linear`` with defaults ``start=0``, ``end=1``.

    ``value(t) = start + (end - start) * min(t, steps) / steps`` (HF linear warmup).

    >>> import lrkit as lk
    >>> s = lk.warmup(500) >> lk.cosine(9_500, end=0.01)
    >>> s(0), s(250), s(500), s(10_000)
    (0.0, 0.5, 1.0, 0.01)
    """
    return Warmup(steps, start, end)


@constructor
def step(size, gamma=0.1, start=1.0) -> Schedule:
    """Multiply by ``gamma`` every ``size`` steps: ``start * gamma ** floor(t / size)``.

    Endless. Same as torch ``StepLR(step_size=size, gamma=gamma)``.

    >>> import lrkit as lk
    >>> s = lk.step(10, gamma=0.5)
    >>> s(0), s(9), s(10), s(25)
    (1.0, 1.0, 0.5, 0.25)
    """
    return Step(size, gamma, start)


@constructor
def multistep(milestones, gamma=0.1, start=1.0) -> Schedule:
    """``start * gamma ** (number of milestones m <= t)``; repeated milestones count twice.

    Endless. Same as torch ``MultiStepLR``.

    >>> import lrkit as lk
    >>> s = lk.multistep([30, 80], gamma=0.1)
    >>> s(29), s(30), round(s(80), 12)
    (1.0, 0.1, 0.01)
    """
    return MultiStep(milestones, gamma, start)


@constructor
def exponential(gamma=None, half_life=None, start=1.0) -> Schedule:
    """``start * gamma ** t``; give exactly one of ``gamma`` or ``half_life``
    (then ``gamma = 0.5 ** (1 / half_life)``). Endless. Same as torch ``ExponentialLR``.

    >>> import lrkit as lk
    >>> round(lk.exponential(half_life=100)(200), 12)
    0.25
    """
    return Exponential(gamma, half_life, start)


@constructor
def cosine(steps, start=1.0, end=0.0) -> Schedule:
    """Half-cosine from ``start`` to ``end`` over ``steps``, then ``end``.

    ``value(t) = end + (start - end) * (1 + cos(pi * min(t, steps) / steps)) / 2``.
    Same as torch ``CosineAnnealingLR(T_max=steps, eta_min=end)`` for ``t <= steps``
    (torch's curve rises again past ``T_max``; lrkit holds ``end``).

    >>> import lrkit as lk
    >>> s = lk.cosine(100, end=0.1)
    >>> s(0), round(s(50), 12), s(100), s(1e9)
    (1.0, 0.55, 0.1, 0.1)
    """
    return Cosine(steps, start, end)


@constructor
def polynomial(steps, power=1.0, start=1.0, end=0.0) -> Schedule:
    """``end + (start - end) * (1 - min(t, steps) / steps) ** power``, then ``end``.

    Same as torch ``PolynomialLR(total_iters=steps, power=power)`` when ``end=0``.

    >>> import lrkit as lk
    >>> s = lk.polynomial(100, power=2.0)
    >>> s(0), s(50), s(100)
    (1.0, 0.25, 0.0)
    """
    return Polynomial(steps, power, start, end)


@constructor
def inverse_time(timescale, power=1.0, start=1.0) -> Schedule:
    """``start / (1 + t / timescale) ** power``. Endless.

    Keras ``InverseTimeDecay(initial, decay_steps, decay_rate)`` is
    ``initial * inverse_time(decay_steps / decay_rate)``.

    >>> import lrkit as lk
    >>> lk.inverse_time(100)(100)
    0.5
    """
    return InverseTime(timescale, power, start)


@constructor
def inverse_sqrt(timescale, start=1.0) -> Schedule:
    """``start / sqrt(1 + t / timescale)``: ``inverse_time(timescale, 0.5, start)``.

    HF's ``get_inverse_sqrt_schedule`` after its warmup is
    ``lk.warmup(w) >> lk.inverse_sqrt(timescale)``.

    >>> import lrkit as lk
    >>> lk.inverse_sqrt(100)(300)
    0.5
    """
    return InverseSqrt(timescale, start)
