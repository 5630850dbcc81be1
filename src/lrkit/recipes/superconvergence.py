"""Super-convergence (Smith & Topin 2018): a range test, then one cycle with inverse momentum.

1. A learning-rate range test finds ``(low, high)``: the lr range over which
   the loss falls (:func:`lrkit.torch.find_lr`).
2. One cycle: the lr rises from ``low`` to ``high`` over the first
   ``pct_start`` of the run, then anneals far below ``low``
   (``one_cycle(steps, peak=high, div_factor=high/low)``, torch's OneCycleLR).
3. The momentum moves the other way: from ``high_m`` (0.95) down to ``low_m``
   (0.85) while the lr rises, back up while it falls — a large lr with a
   large momentum would make the effective step ``lr / (1 - momentum)`` too big.

:func:`one_cycle_momentum` is that momentum schedule (torch OneCycleLR's
``cycle_momentum``), :func:`super_convergence` does all three in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checks import fail, flag, fmt, number, one_of
from ..errors import SpecError
from ..schedules import Schedule, interpolate, one_cycle

__all__ = ["SuperConvergence", "one_cycle_momentum", "super_convergence"]


def one_cycle_momentum(steps: float, low: float = 0.85, high: float = 0.95, pct_start: float = 0.3,
                       anneal: str = "cos", three_phase: bool = False) -> Schedule:
    """The momentum of torch ``OneCycleLR(total_steps=steps, base_momentum=low,
    max_momentum=high, pct_start, anneal_strategy=anneal, three_phase)``: absolute values.

    ``high`` at step 0, ``low`` at the lr's peak (step ``pct_start*steps - 1``),
    ``high`` again at step ``steps - 1`` (three-phase: back at
    ``2*pct_start*steps - 2``, then held), annealed like the lr (cosine or linear).

    >>> s = one_cycle_momentum(100)
    >>> s(0), s(29), round(s(64), 4), s(99)
    (0.95, 0.85, 0.9, 0.95)
    """
    fn = "one_cycle_momentum"
    steps = number(fn, "steps", steps, gt=0)
    low = number(fn, "low", low, ge=0)
    high = number(fn, "high", high, ge=low)
    pct_start = number(fn, "pct_start", pct_start, gt=0, lt=1)
    one_of(fn, "anneal", anneal, ("cos", "linear"))
    flag(fn, "three_phase", three_phase)
    if three_phase and not pct_start < 0.5:
        raise fail(fn, "pct_start", "< 0.5 with three_phase=True (the three phases must not overlap)", pct_start)
    ends = [e for e, _, _ in one_cycle(steps, pct_start=pct_start, three_phase=three_phase).phases()]
    peak, end = ends[0], ends[-1]  # the lr's phase ends: the momentum turns where the lr does
    if not 0 < peak < end:
        raise fail(fn, "steps", f"large enough that the peak step pct_start*steps - 1 lies strictly "
                   f"between 0 and steps - 1 (pct_start={fmt(pct_start)})", steps)
    shape = "cosine" if anneal == "cos" else "linear"
    if three_phase:
        back = ends[1]
        if not peak < back < end:
            raise fail(fn, "pct_start", "< 0.5 with three_phase=True (the three phases must not overlap)", pct_start)
        return interpolate([(0, high), (peak, low), (back, high), (end, high)], shape=shape)
    return interpolate([(0, high), (peak, low), (end, high)], shape=shape)


@dataclass
class SuperConvergence:
    """What :func:`super_convergence` set up: the range test, the two schedules
    (absolute values), the momentum-like param they drive and the scheduler."""

    range_test: Any
    lr: Schedule
    momentum: Schedule | None
    param: str | None
    scheduler: Any


def _momentum_param(optimizer) -> str | None:
    group = optimizer.param_groups[0]
    if "momentum" in group:
        return "momentum"
    if isinstance(group.get("betas"), (tuple, list)):
        return "beta1"
    return None


def super_convergence(model, optimizer, loss_fn, data, steps: int, *, momentum: tuple[float, float] = (0.85, 0.95),
                      pct_start: float = 0.3, anneal: str = "cos", final_div_factor: float = 1e4,
                      three_phase: bool = False, auto_step: bool = False,
                      range_test: dict[str, Any] | None = None) -> SuperConvergence:
    """Range test, then one-cycle lr with inverse momentum, ready to train ``steps`` updates.

    Runs ``lrkit.torch.find_lr(model, optimizer, loss_fn, data, **range_test)``
    (``range_test`` a dict of its options, e.g. ``{"start": 1e-5, "end": 1.0}``)
    (model and optimizer are restored afterwards), takes its ``range = (low,
    high)``, and returns a :class:`SuperConvergence` whose ``scheduler`` is an
    ``lrkit.torch.Scheduler`` (absolute values) driving

    - ``lr``: ``one_cycle(steps, peak=high, div_factor=high/low, pct_start,
      final_div_factor, anneal, three_phase)``;
    - the momentum (``"momentum"`` for SGD-like optimizers, ``"beta1"`` for
      Adam-like ones): ``one_cycle_momentum(steps, *momentum, ...)``.

    Call ``result.scheduler.step()`` after each ``optimizer.step()`` (or pass
    ``auto_step=True``). An SGD optimizer built with ``momentum=0`` gets
    momentum from the schedule (torch reads it from the group at every step).

    Example (``model``, ``opt``, ``batches`` as for ``find_lr``)::

        sc = super_convergence(model, opt, torch.nn.functional.cross_entropy, batches, steps=1000,
                               range_test={"start": 1e-5, "end": 1.0})
        print(sc.range_test.range, sc.lr)
        for x, y in batches: ...; opt.step(); sc.scheduler.step()
    """
    from ..finder.torch import find_lr
    from ..torch import Scheduler

    fn = "super_convergence"
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 1:
        raise fail(fn, "steps", "a whole number > 1", steps)
    if not (isinstance(momentum, (tuple, list)) and len(momentum) == 2):
        raise fail(fn, "momentum", "a (low, high) pair such as (0.85, 0.95)", momentum)
    if range_test is not None and not isinstance(range_test, dict):
        raise fail(fn, "range_test", "a dict of find_lr options (start, end, steps, ...) or None", range_test)
    result = find_lr(model, optimizer, loss_fn, data, **(range_test or {}))
    if result.range is None:
        raise SpecError(f"{fn}(): the range test found no lr range ({result.reasons.get('range')}); "
                        f"{result.reason}. Try other start/end values.")
    low, high = result.range
    lr = one_cycle(steps, peak=high, pct_start=pct_start, div_factor=high / low,
                   final_div_factor=final_div_factor, anneal=anneal, three_phase=three_phase)
    param = _momentum_param(optimizer)
    plan: dict[str, Schedule] = {"lr": lr}
    mom = None
    if param is not None:
        mom = one_cycle_momentum(steps, momentum[0], momentum[1], pct_start, anneal, three_phase)
        plan[param] = mom
    sched = Scheduler(optimizer, plan, absolute=True, auto_step=auto_step)
    return SuperConvergence(result, lr, mom, param, sched)
