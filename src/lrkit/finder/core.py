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
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checks import fail, fmt, number, one_of, show
from ..errors import SpecError
from .result import MIN_POINTS, RangeTestResult

__all__ = ["MAX_STEPS", "MODES", "range_test", "run_sweep", "smooth_losses", "sweep_lrs"]

MODES = ("exp", "linear")
"""The sweep modes: ``"exp"`` spaces the lrs evenly in log-lr, ``"linear"`` evenly in lr (:func:`sweep_lrs`)."""
MAX_STEPS = 1_000_000   # a sweep holds its lrs in memory; a range test needs hundreds of steps, not millions


def check_args(fn: str, start: Any, end: Any, steps: Any, mode: Any, smooth: Any,
               diverge: Any) -> tuple[float, float, int, str, float, float]:
    """Validate the sweep arguments shared by ``range_test`` and ``find_lr``."""
    start = float(number(fn, "start", start, gt=0))
    end = float(number(fn, "end", end, gt=0))
    if not end > start:
        raise fail(fn, "end", f"> start={fmt(start)}", end)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise fail(fn, "steps", "a whole number", steps)
    steps = int(number(fn, "steps", int(steps), ge=MIN_POINTS, le=MAX_STEPS))
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
    if mode == "exp":
        lrs = np.geomspace(start, end, steps)
    else:
        lrs = start + np.arange(steps, dtype=np.float64) / (steps - 1) * (end - start)
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
               *, callback: Callable[[int, float, float, float], Any] | None = None) -> RangeTestResult:
    """Sweep the learning rate over ``sweep_lrs(start, end, steps, mode)``,
    calling ``train_step(lr) -> loss`` once per lr (training carries on).

    The losses are smoothed by a debiased moving average (:func:`smooth_losses`).
    The sweep stops early when a loss is NaN or infinite (that point is not
    kept) or when the smoothed loss diverges: ``smoothed - best > (diverge - 1)
    * |best|``, ``best`` the lowest smoothed loss since step ``steps // 10``
    (for positive losses: smoothed > ``diverge`` x best; the first tenth only
    warms the average up). ``callback(i, lr, loss, smoothed)`` runs after each
    kept step (a progress bar, a log).

    Returns a :class:`RangeTestResult`: the raw and smoothed curves, each
    heuristic's suggestion, the chosen ``suggestion`` and a ``range``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = np.ones(10)
    >>> def train_step(lr):      # SGD on f(w) = 2 |w|^2 (L = 4: best lr 1/4, diverges above 1/2)
    ...     loss = 2 * w @ w
    ...     w[:] -= lr * (4 * w + rng.normal(size=10))
    ...     return loss
    >>> r = range_test(train_step)
    >>> r.method, round(r.suggestion, 3), r.stopped_early
    ('edge/3', 0.026, True)
    """
    if not callable(train_step):
        raise fail("range_test", "train_step", "a callable train_step(lr) -> loss", train_step)
    sweep = check_args("range_test", start, end, steps, mode, smooth, diverge)
    if callback is not None and not callable(callback):
        raise fail("range_test", "callback", "a callable callback(i, lr, loss, smoothed) or None", callback)
    return run_sweep(train_step, *sweep, callback=callback)


def run_sweep(train_step: Callable[[float], Any], start: float, end: float, steps: int, mode: str,
              smooth: float, diverge: float, *, callback=None) -> RangeTestResult:
    """The loop of :func:`range_test`, on arguments already checked."""
    smoother = _Smoother(smooth)
    lrs: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    best = math.inf
    warm = max(1, steps // 10)
    reason = f"completed all {steps} steps"
    for i, lr in enumerate(sweep_lrs(start, end, steps, mode).tolist()):
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
    return RangeTestResult.build(lrs, raw, smoothed, reason=reason, stopped_early=reason.startswith("stopped"),
                                 start=start, end=end, steps=steps, mode=mode, smooth=smooth, diverge=diverge)
