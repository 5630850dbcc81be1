"""Schedules with several phases in one formula: cyclic, one_cycle, wsd."""

from __future__ import annotations

from dataclasses import dataclass

from .args import constructor, duration, fail, number, one_of
from .base import Schedule
from .ops import floor_div

__all__ = ["cyclic", "one_cycle", "wsd"]


@dataclass(frozen=True, repr=False)
class Cyclic(Schedule):
    low: float
    high: float
    up: float | str
    down: float | str | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    name = "cyclic"
    _durations = ("up", "down")

    def _check(self):
        self._set("low", number(self.name, "low", self.low, ge=0))
        self._set("high", number(self.name, "high", self.high, ge=0))
        if self.low > self.high:
            raise fail(self.name, "low", f"<= high ({self.high})", self.low)
        self._set("up", duration(self.name, "up", self.up))
        if self.down is not None:
            self._set("down", duration(self.name, "down", self.down))
        one_of(self.name, "mode", self.mode, ("triangular", "triangular2", "exp_range"))
        self._set("gamma", number(self.name, "gamma", self.gamma, gt=0))

    def _at(self, t, xp):
        up = float(self.up)
        total = up + (float(self.down) if self.down is not None else up)
        ratio = up / total
        done = floor_div(t, total, xp)  # torch: cycle = floor(1 + t/total), x = 1 + t/total - cycle;
        cycle = done + 1.0  # the same numbers, with x from the exact remainder t - done*total,
        x = (t - done * total) / total  # which keeps float32 (Keras, JAX) precise on long runs
        scale = xp.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (self.high - self.low) * scale
        if self.mode == "triangular":
            return self.low + height * 1.0
        if self.mode == "triangular2":
            return self.low + height * (1 / xp.power(2.0, cycle - 1))
        return self.low + height * xp.power(self.gamma, t)


def _anneal(kind, start, end, pct, xp):
    if kind == "cos":
        return end + (start - end) / 2.0 * (xp.cos(xp.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True, repr=False)
class OneCycle(Schedule):
    steps: float | str
    peak: float = 1.0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: str = "cos"
    three_phase: bool = False
    name = "one_cycle"
    _durations = ("steps",)

    def _check(self):
        self._set("steps", duration(self.name, "steps", self.steps))
        self._set("peak", number(self.name, "peak", self.peak, ge=0))
        self._set("pct_start", number(self.name, "pct_start", self.pct_start, ge=0, le=1))
        if self.three_phase is True and self.pct_start > 0.5:
            raise fail(self.name, "pct_start", "<= 0.5 with three_phase=True", self.pct_start)
        self._set("div_factor", number(self.name, "div_factor", self.div_factor, gt=0))
        self._set("final_div_factor", number(self.name, "final_div_factor", self.final_div_factor, gt=0))
        one_of(self.name, "anneal", self.anneal, ("cos", "linear"))
        if not isinstance(self.three_phase, bool):
            raise fail(self.name, "three_phase", "True or False", self.three_phase)

    def _duration(self):
        return self.steps

    def phases(self) -> list[tuple[float, float, float]]:
        """torch OneCycleLR's phases: (end_step, start value, end value)."""
        init = self.peak / self.div_factor
        low = init / self.final_div_factor
        n, pct = self.steps, self.pct_start
        if self.three_phase:
            return [(float(pct * n) - 1, init, self.peak),
                    (float(2 * pct * n) - 2, self.peak, init),
                    (n - 1, init, low)]
        return [(float(pct * n) - 1, init, self.peak), (n - 1, self.peak, low)]

    def _at(self, t, xp):
        tt = xp.minimum(t, max(self.steps - 1, 0))
        phases = self.phases()
        starts = [0.0] + [p[0] for p in phases[:-1]]
        value = None
        for (end, a, b), begin in reversed(list(zip(phases, starts))):
            span = end - begin
            pct = (tt - begin) / span if span != 0 else tt * 0.0 + 1.0
            pct = xp.minimum(xp.maximum(pct, 0.0), 1.0)  # steps < 1: no extrapolation past a phase
            v = _anneal(self.anneal, a, b, pct, xp)
            value = v if value is None else xp.where(tt <= end, v, value)
        return value


@dataclass(frozen=True, repr=False)
class WSD(Schedule):
    steps: float | str
    warmup: float | str
    decay: float | str
    end: float = 0.0
    shape: str = "linear"
    name = "wsd"
    _durations = ("steps", "warmup", "decay")

    def _check(self):
        self._set("steps", duration(self.name, "steps", self.steps))
        self._set("warmup", duration(self.name, "warmup", self.warmup, zero=True))
        self._set("decay", duration(self.name, "decay", self.decay, zero=True))
        self._set("end", number(self.name, "end", self.end, ge=0))
        one_of(self.name, "shape", self.shape, ("linear", "cosine", "1-sqrt"))
        parts = (self.steps, self.warmup, self.decay)
        if not any(isinstance(p, str) for p in parts) and self.warmup + self.decay > self.steps:
            raise fail(self.name, "warmup + decay", f"<= steps ({self.steps})", self.warmup + self.decay)

    def _duration(self):
        return self.steps

    def _at(self, t, xp):
        w, d, n, end = self.warmup, self.decay, self.steps, self.end
        up = end + (1.0 - end) * (xp.minimum(t, w) / w if w > 0 else t * 0.0 + 1.0)
        p = xp.minimum(xp.maximum(t - (n - d), 0.0) / d, 1.0) if d > 0 else t * 0.0 + 1.0
        if self.shape == "linear":
            f = 1.0 - p
        elif self.shape == "cosine":
            f = 0.5 * (1.0 + xp.cos(xp.pi * p))
        else:
            f = 1.0 - xp.sqrt(p)
        down = f * (1.0 - end) + end
        return xp.where(t < w, up, xp.where(t < n - d, 1.0 + t * 0.0, down))


@constructor
def cyclic(low, high, up, down=None, mode="triangular", gamma=1.0) -> Schedule:
    """Triangle waves between ``low`` and ``high``: torch ``CyclicLR`` with
    ``base_lr=low, max_lr=high, step_size_up=up, step_size_down=down`` (default ``up``).

    With ``c = floor(1 + t/(up+down))``, ``x = 1 + t/(up+down) - c`` and
    ``h = x/r`` if ``x <= r`` else ``(x-1)/(r-1)`` (``r = up/(up+down)``):
    ``low + (high-low) * h * f``, ``f`` = 1 (triangular), ``2**-(c-1)``
    (triangular2) or ``gamma**t`` (exp_range). Endless.

    >>> import lrkit as lk
    >>> s = lk.cyclic(0.1, 1.0, up=10)
    >>> s(0), s(10), s(20)
    (0.1, 1.0, 0.1)
    """
    return Cyclic(low, high, up, down, mode, gamma)


@constructor
def one_cycle(steps, peak=1.0, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
              anneal="cos", three_phase=False) -> Schedule:
    """torch ``OneCycleLR``'s learning rate with ``max_lr=peak, total_steps=steps``.

    From ``peak/div_factor`` up to ``peak`` by step ``pct_start*steps - 1``,
    then down to ``peak/(div_factor*final_div_factor)`` at step ``steps - 1``
    (``anneal`` "cos" or "linear"; ``three_phase`` as torch). Unlike torch,
    stepping past the end is not an error: the final value is held.

    >>> import lrkit as lk
    >>> s = lk.one_cycle(100, peak=1.0)
    >>> round(s(0), 12), s(29), s(99), s(1000)
    (0.04, 1.0, 4e-06, 4e-06)
    """
    return OneCycle(steps, peak, pct_start, div_factor, final_div_factor, anneal, three_phase)


@constructor
def wsd(steps, warmup, decay, end=0.0, shape="linear") -> Schedule:
    """Warmup-stable-decay: ``end -> 1`` linearly over ``warmup``, hold 1, then
    decay to ``end`` over the last ``decay`` steps with ``shape`` "linear"
    (``1-p``), "cosine" (``(1+cos(pi p))/2``) or "1-sqrt" (``1-sqrt(p)``),
    rescaled as ``f*(1-end) + end``. Same as HF ``get_wsd_schedule`` with
    ``min_lr_ratio=end, decay_type=shape`` and linear warmup.

    >>> import lrkit as lk
    >>> s = lk.wsd(1000, warmup=100, decay=200)
    >>> s(0), s(50), s(500), s(900), s(1000)
    (0.0, 0.5, 1.0, 0.5, 0.0)
    """
    return WSD(steps, warmup, decay, end, shape)
