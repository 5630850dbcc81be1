"""Schedules built on another schedule: restarts (repeat it), noisy (jitter it).

``sequence`` (``>>``) and the pointwise ``*`` / ``+`` live with
:class:`~lrkit.schedules.base.Schedule`, whose operators build them.
"""

from __future__ import annotations

import math
from typing import Any

from ..checks import fail
from .base import Inner, Schedule
from .fields import Choice, Number, Whole, arg
from .ops import floor_div

__all__ = ["Wrapper", "noisy", "restarts"]


class Wrapper(Schedule):
    """A schedule built on one ``inner`` schedule: finiteness and duration are
    ``inner``'s unless the family says otherwise."""

    inner: Schedule = arg(Inner())

    @property
    def is_finite(self) -> bool:
        return self.inner.is_finite

    def _duration(self) -> Any:
        return self.inner.duration


class restarts(Wrapper):
    """Repeat a finite ``inner``: cycle ``k`` lasts ``inner.duration * period_mult**k``
    steps, is ``inner`` stretched onto it, times ``decay**k``. Endless unless
    ``cycles`` is given; then the last cycle's end value is held.

    Cycle ``k`` starts at ``d * k`` (``period_mult = 1``) or
    ``d * (m**k - 1) / (m - 1)``. torch ``CosineAnnealingWarmRestarts(T_0,
    T_mult, eta_min=m)`` is ``restarts(cosine(T_0, end=m), period_mult=T_mult)``.

    >>> import lrkit as lk
    >>> s = lk.restarts(lk.cosine(10), period_mult=2)
    >>> s(0), s(10), s(20), s(30)
    (1.0, 1.0, 0.5, 1.0)
    """

    inner: Schedule = arg(Inner())
    period_mult: float = arg(Number(ge=1), default=1.0)
    decay: float = arg(Number(gt=0), default=1.0)
    cycles: int | None = arg(Whole(ge=1), default=None)

    def _validate(self) -> None:
        inner: Any = self.inner
        if not inner.is_finite:
            raise fail(self.name, "inner", "finite (an endless schedule cannot be repeated)", inner)
        if inner.rest_count():
            raise fail(self.name, "inner", "free of 'rest' (a cycle cannot last what is left of the run; "
                       "give steps or a percentage)", inner)
        if inner.is_bound and not inner.duration > 0:
            raise fail(self.name, "inner", "longer than 0 steps (a cycle of 0 steps cannot repeat)", inner)
        if self.cycles is not None and inner.is_bound:
            try:
                total = float(self.cycle_start(self.cycles))
            except OverflowError:
                total = math.inf
            if not math.isfinite(total):
                raise fail(self.name, "cycles", "few enough for a finite total duration", self.cycles)

    @property
    def is_finite(self) -> bool:
        return self.cycles is not None

    def _duration(self) -> Any:
        return None if self.cycles is None else self.cycle_start(self.cycles)

    def cycle_start(self, k: int) -> float:
        """The step at which cycle ``k`` starts (``k = cycles``: the end).

        >>> import lrkit as lk
        >>> [lk.restarts(lk.cosine(10), period_mult=2).cycle_start(k) for k in range(4)]
        [0.0, 10.0, 30.0, 70.0]
        """
        d: Any = self.inner.duration
        m = self.period_mult
        return d * k if m == 1 else d * (m**k - 1) / (m - 1)

    def cycle_ends(self, until: float | None = None) -> list[float]:
        """The steps at which the cycles end: all of them, or those ending by ``until``.

        >>> import lrkit as lk
        >>> lk.restarts(lk.cosine(10), period_mult=2).cycle_ends(until=80)
        [10.0, 30.0, 70.0]
        """
        if self.cycles is None and until is None:
            raise fail("cycle_ends", "until", "given for endless restarts (or restarts(..., cycles=K))", until)
        ends, k = [], 1
        while self.cycles is None or k <= self.cycles:
            end = self.cycle_start(k)
            if until is not None and end > until:
                break
            ends.append(end)
            k += 1
        return ends

    def _cycle(self, t, xp):
        """``(k, m**k)``: the cycle that step ``t`` is in, and its stretch factor."""
        d, m = self.inner.duration, self.period_mult
        if m == 1:
            k = floor_div(t, d, xp)
            grow: Any = 1.0
        else:  # log(1 + t (m - 1) / d) as log(t / d + 1 / (m - 1)) + log(m - 1): no overflow, any m
            k = xp.floor((xp.log(t / d + 1.0 / (m - 1)) + math.log(m - 1)) / math.log(m))
            grow = xp.power(m, k)
            up = t >= d * (grow * m - 1) / (m - 1)  # the log rounded low: t is in the next cycle
            down = t < d * (grow - 1) / (m - 1)  # ... or high: in the one before
            k = xp.where(up, k + 1.0, xp.where(down, k - 1.0, k))
            grow = xp.where(up, grow * m, xp.where(down, grow / m, grow))
        if self.cycles is not None:  # past the end: the last cycle
            last = self.cycles - 1
            over = k > last
            k = xp.where(over, float(last), k)
            if m != 1:
                grow = xp.where(over, float(m) ** last, grow)
        return k, grow

    def _at(self, t, xp):
        d, m = self.inner.duration, self.period_mult
        k, grow = self._cycle(t, xp)
        local = t - k * d if m == 1 else (t - d * (grow - 1) / (m - 1)) / grow
        local = xp.minimum(xp.maximum(local, 0.0), d)
        if self.cycles is not None:  # past the end: exactly the last cycle's end (t - start may round below d)
            local = xp.where(t >= self._duration(), d, local)
        value = self.inner._at(local, xp)
        return value if self.decay == 1 else value * xp.power(self.decay, k)


_MASK = 0xFFFFFFFF


def _mix(x: Any) -> Any:
    """A 32-bit integer hash (works on Python ints and integer arrays alike)."""
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    return (x >> 16) ^ x


class noisy(Wrapper):
    """``max(0, inner(t) * (1 + e))``, ``e`` drawn from ``(seed, floor(t))`` by a
    counter-based hash: the same on every run, rank and resume (timm's lr noise,
    as a pure function). ``kind`` "normal" (std ``std``) or "uniform" (on
    ``[-sqrt(3) std, sqrt(3) std]``, the same std). Past a finite end the final
    value (noise included) is held. A different ``seed`` is a different draw.

    >>> import lrkit as lk
    >>> s = lk.noisy(lk.constant(1.0), std=0.1, seed=1)
    >>> s(7) == s(7.5) == lk.parse(str(s))(7)
    True
    """

    inner: Schedule = arg(Inner())
    std: float = arg(Number(ge=0))
    seed: int = arg(Whole(ge=0, le=2**63 - 1), default=0)
    kind: str = arg(Choice("normal", "uniform"), default="normal")

    def _at(self, t, xp):
        d = self.inner.duration
        tt = t if d is None else xp.minimum(t, d)
        base = self.inner._at(tt, xp)
        k = xp.floor(tt)
        hi = xp.floor(k / 4294967296.0)
        lo = k - hi * 4294967296.0
        key = _mix(_mix((self.seed >> 32) & _MASK) ^ (self.seed & _MASK) ^ 0x9E3779B9)
        h = _mix(xp.uint(lo) ^ _mix(xp.uint(hi) ^ key))
        u2 = xp.float(_mix(h ^ 0xB5297A4D)) / 4294967296.0
        if self.kind == "normal":
            u1 = (xp.float(_mix(h ^ 0x68E31DA4)) + 1.0) / 4294967296.0
            e = self.std * xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * xp.pi * u2)
        else:
            e = self.std * math.sqrt(3.0) * (2.0 * u2 - 1.0)
        return xp.maximum(base * (1.0 + e), 0.0)
