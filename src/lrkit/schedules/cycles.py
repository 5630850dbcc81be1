"""Schedules with several phases in one formula: cyclic, one_cycle, wsd."""

from __future__ import annotations

from typing import Any

from ..checks import fail
from .base import Schedule
from .fields import Choice, Duration, Flag, Number, arg
from .ops import floor_div

__all__ = ["cyclic", "one_cycle", "wsd"]

LEVEL = Number(ge=0)


class cyclic(Schedule):
    """Triangle waves between ``low`` and ``high``: torch ``CyclicLR`` with
    ``base_lr=low, max_lr=high, step_size_up=up, step_size_down=down`` (default ``up``).

    With ``c = floor(1 + t/(up+down))``, ``x = 1 + t/(up+down) - c`` and
    ``h = x/r`` if ``x <= r`` else ``(x-1)/(r-1)`` (``r = up/(up+down)``):
    ``low + (high-low) * h * f``, ``f`` = 1 (triangular), ``2**-(c-1)``
    (triangular2) or ``gamma**t`` (exp_range; at a trough, where ``h = 0``,
    the value is ``low`` even where ``gamma**t`` overflows). Endless.

    >>> import lrkit as lk
    >>> s = lk.cyclic(0.1, 1.0, up=10)
    >>> s(0), s(10), s(20)
    (0.1, 1.0, 0.1)
    """

    low: float = arg(LEVEL)
    high: float = arg(LEVEL)
    up: float | str = arg(Duration())
    down: float | str | None = arg(Duration(), default=None)
    mode: str = arg(Choice("triangular", "triangular2", "exp_range"), default="triangular")
    gamma: float = arg(Number(gt=0), default=1.0)

    def _validate(self) -> None:
        if self.low > self.high:
            raise fail(self.name, "low", f"<= high ({self.high})", self.low)

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
        return self.low + xp.where(height > 0, height * xp.power(self.gamma, t), 0.0 * height)


def _anneal(kind: str, start: float, end: float, pct: Any, xp: Any) -> Any:
    if kind == "cos":
        return end + (start - end) / 2.0 * (xp.cos(xp.pi * pct) + 1)
    return (end - start) * pct + start


class one_cycle(Schedule):
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

    steps: float | str = arg(Duration())
    peak: float = arg(LEVEL, default=1.0)
    pct_start: float = arg(Number(ge=0, le=1), default=0.3)
    div_factor: float = arg(Number(gt=0), default=25.0)
    final_div_factor: float = arg(Number(gt=0), default=1e4)
    anneal: str = arg(Choice("cos", "linear"), default="cos")
    three_phase: bool = arg(Flag(), default=False)
    _length = "steps"

    def _validate(self) -> None:
        if self.three_phase and self.pct_start > 0.5:
            raise fail(self.name, "pct_start", "<= 0.5 with three_phase=True", self.pct_start)

    def phases(self) -> list[tuple[float, float, float]]:
        """torch OneCycleLR's phases: ``(end step, start value, end value)`` each.

        >>> import lrkit as lk
        >>> lk.one_cycle(100, peak=1.0).phases()
        [(29.0, 0.04, 1.0), (99, 1.0, 4e-06)]
        """
        init = self.peak / self.div_factor
        low = init / self.final_div_factor
        n: Any = self.steps
        pct = self.pct_start
        if self.three_phase:
            return [(float(pct * n) - 1, init, self.peak),
                    (float(2 * pct * n) - 2, self.peak, init),
                    (n - 1, init, low)]  # type: ignore[operator]
        return [(float(pct * n) - 1, init, self.peak), (n - 1, self.peak, low)]  # type: ignore[operator]

    def _at(self, t, xp):
        tt = xp.minimum(t, max(self.steps - 1, 0))  # type: ignore[operator]
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


class wsd(Schedule):
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

    steps: float | str = arg(Duration())
    warmup: float | str = arg(Duration(zero=True))
    decay: float | str = arg(Duration(zero=True))
    end: float = arg(LEVEL, default=0.0)
    shape: str = arg(Choice("linear", "cosine", "1-sqrt"), default="linear")
    _length = "steps"

    def _validate(self) -> None:
        parts = (self.steps, self.warmup, self.decay)
        if not any(isinstance(p, str) for p in parts) and self.warmup + self.decay > self.steps:  # type: ignore
            raise fail(self.name, "warmup + decay", f"<= steps ({self.steps})", self.warmup + self.decay)  # type: ignore

    def _at(self, t, xp):
        w, d, n, end = self.warmup, self.decay, self.steps, self.end
        up = end + (1.0 - end) * (xp.minimum(t, w) / w if w > 0 else t * 0.0 + 1.0)  # type: ignore[operator]
        p = xp.minimum(xp.maximum(t - (n - d), 0.0) / d, 1.0) if d > 0 else t * 0.0 + 1.0  # type: ignore
        if self.shape == "linear":
            f = 1.0 - p
        elif self.shape == "cosine":
            f = 0.5 * (1.0 + xp.cos(xp.pi * p))
        else:
            f = 1.0 - xp.sqrt(p)
        down = f * (1.0 - end) + end
        return xp.where(t < w, up, xp.where(t < n - d, 1.0 + t * 0.0, down))  # type: ignore[operator]
