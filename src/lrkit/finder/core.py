"""The learning-rate range test, free of any framework.

:func:`range_test` calls ``train_step(lr) -> loss`` once per learning rate of
a sweep from ``start`` to ``end`` (training continues from step to step),
smooths the losses, stops when they diverge and reads suggestions off the
smoothed curve (see :mod:`lrkit.finder.heuristics` for the rules).
``lrkit.finder.torch.find_lr`` wraps it for a torch model and optimizer.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np

from ..errors import SpecError
from ..schedules.base import fail, fmt, number, one_of, show
from .heuristics import skip_count
from .result import MIN_POINTS, RangeTestResult

__all__ = ["MODES", "range_test", "smooth_losses", "sweep_lrs"]

MODES = ("exp", "linear")


def check_args(fn: str, start: Any, end: Any, steps: Any, mode: Any, smooth: Any,
               diverge: Any) -> tuple[float, float, int, str, float, float]:
    """Validate the sweep arguments shared by ``range_test`` and ``find_lr``."""
    start = float(number(fn, "start", start, gt=0))
    end = float(number(fn, "end", end, gt=0))
    if not end > start:
        raise fail(fn, "end", f"> start={fmt(start)}", end)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise fail(fn, "steps", "a whole number", steps)
    steps = int(number(fn, "steps", int(steps), ge=MIN_POINTS))
    mode = one_of(fn, "mode", mode, MODES)
    smooth = float(number(fn, "smooth", smooth, ge=0, lt=1))
    diverge = float(number(fn, "diverge", diverge, gt=1))
    if mode == "exp" and not math.log(end / start) / (steps - 1) > 1e-12:
        raise fail(fn, "end", f"far enough above start={fmt(start)} to give {steps} distinct lrs", end)
    return start, end, steps, mode, smooth, diverge


def sweep_lrs(start: float = 1e-7, end: float = 10.0, steps: int = 100, mode: str = "exp") -> np.ndarray:
    """The learning rates a sweep tries, first ``start``, last ``end``.

    ``exp``: evenly spaced in log-lr, ``lr_i = start * (end/start) ** (i/(steps-1))``;
    ``linear``: ``lr_i = start + (end - start) * i/(steps-1)``.

    >>> sweep_lrs(1e-3, 1e1, 5).tolist()
    [0.001, 0.01, 0.1, 1.0, 10.0]
    >>> sweep_lrs(0.5, 2.5, 5, mode="linear").tolist()
    [0.5, 1.0, 1.5, 2.0, 2.5]
    """
    start, end, steps, mode, _, _ = check_args("sweep_lrs", start, end, steps, mode, 0.0, 2.0)
    frac = np.arange(steps, dtype=np.float64) / (steps - 1)
    if mode == "exp":
        lrs = np.exp(math.log(start) + frac * (math.log(end) - math.log(start)))
    else:
        lrs = start + frac * (end - start)
    lrs[0], lrs[-1] = start, end
    return lrs


class _Smoother:
    """Debiased exponential moving average (Adam's bias correction):
    ``avg = smooth*avg + (1-smooth)*loss``, ``smoothed_i = avg / (1 - smooth**(i+1))``."""

    def __init__(self, smooth: float):
        self.smooth, self.avg, self.count = smooth, 0.0, 0

    def __call__(self, loss: float) -> float:
        self.count += 1
        self.avg = self.smooth * self.avg + (1.0 - self.smooth) * loss
        return self.avg / (1.0 - self.smooth ** self.count)


def smooth_losses(losses, smooth: float = 0.98) -> np.ndarray:
    """The debiased exponential moving average that :func:`range_test` keeps.

    ``avg_i = smooth*avg_{i-1} + (1-smooth)*loss_i`` (``avg_{-1} = 0``),
    ``smoothed_i = avg_i / (1 - smooth**(i+1))``: a weighted mean of
    ``losses[:i+1]`` with weights ``smooth**(i-k)``, so ``smoothed_0 = loss_0``.

    >>> smooth_losses([4.0, 2.0], smooth=0.5).tolist()
    [4.0, 2.6666666666666665]
    """
    smooth = float(number("smooth_losses", "smooth", smooth, ge=0, lt=1))
    f = _Smoother(smooth)
    return np.array([f(float(x)) for x in losses], dtype=np.float64)


def _as_loss(value: Any, lr: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(f"range_test(): train_step must return the loss as a number; "
                        f"got train_step({lr:.3g}) -> {show(value)}") from None


def range_test(train_step: Callable[[float], Any], start: float = 1e-7, end: float = 10.0,
               steps: int = 100, mode: str = "exp", smooth: float = 0.98, diverge: float = 4.0,
               *, callback: Callable[[int, float, float, float], Any] | None = None,
               _fn: str = "range_test") -> RangeTestResult:
    """Sweep the learning rate over ``sweep_lrs(start, end, steps, mode)``,
    calling ``train_step(lr) -> loss`` once per lr (training carries on).

    The losses are smoothed by a debiased moving average (``smooth_losses``).
    The sweep stops early when a loss is NaN or infinite (that point is not
    kept) or when it diverges: ``smoothed - best > (diverge - 1) * |best|``,
    ``best`` the lowest smoothed loss so far (for positive losses: smoothed
    > ``diverge`` x best). ``callback(i, lr, loss, smoothed)`` runs after
    each kept step (a progress bar, a log).

    Returns a :class:`RangeTestResult` with the raw and smoothed curves, the
    suggestions of each heuristic, the chosen ``suggestion`` and a ``range``.

    >>> import numpy as np
    >>> # gradient descent on f(w) = 2 w**2 (curvature 4: best lr 1/4, diverges above 1/2)
    >>> w = [1.0]
    >>> def train_step(lr):
    ...     loss = 2 * w[0] ** 2
    ...     w[0] -= lr * 4 * w[0]
    ...     return loss + 1.0
    >>> r = range_test(train_step, start=1e-4, end=10, steps=100, smooth=0.5)
    >>> r.stopped_early, 0.05 < r.suggestion < 0.5
    (True, True)
    """
    if not callable(train_step):
        raise fail(_fn, "train_step", "a callable train_step(lr) -> loss", train_step)
    if callback is not None and not callable(callback):
        raise fail(_fn, "callback", "a callable callback(i, lr, loss, smoothed) or None", callback)
    start, end, steps, mode, smooth, diverge = check_args(_fn, start, end, steps, mode, smooth, diverge)
    plan = sweep_lrs(start, end, steps, mode)
    smoother = _Smoother(smooth)
    lrs: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    best = math.inf
    warm = skip_count(steps)
    reason = f"completed all {steps} steps"
    for i, lr in enumerate(plan.tolist()):
        loss = _as_loss(train_step(lr), lr)
        if not math.isfinite(loss):
            reason = f"stopped at step {i}: the loss was {loss} at lr={lr:.3g}"
            break
        s = smoother(loss)
        lrs.append(lr)
        raw.append(loss)
        smoothed.append(s)
        if callback is not None:
            callback(i, lr, loss, s)
        if i < warm:
            continue
        best = min(best, s)
        if s - best > (diverge - 1.0) * abs(best):
            reason = (f"stopped at step {i}: diverged at lr={lr:.3g} (smoothed loss {s:.4g} "
                      f"> {diverge:g} x best {best:.4g})")
            break
    return RangeTestResult.build(np.array(lrs), np.array(raw), np.array(smoothed), reason=reason,
                                 stopped_early=len(lrs) < steps or reason.startswith("stopped"),
                                 start=start, end=end, steps=steps, mode=mode, smooth=smooth,
                                 diverge=diverge)
