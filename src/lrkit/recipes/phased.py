"""Phased training: a sequence of phases, each with its own schedule and optimizer settings.

A :class:`Phase` lasts ``steps`` optimizer updates and sets any numeric
hyperparameters of the param groups (``lr``, ``momentum``, ``beta1``,
``weight_decay``, ...), each to a number or to a schedule that runs on the
phase's own clock (it starts at 0 when the phase starts). :func:`phased`
turns a list of phases into one schedule per hyperparameter — a plain value
of lrkit — for :class:`lrkit.torch.Scheduler`'s dict form, so the switch at
each boundary is driven by the step count alone and resumes exactly.

By default the values are multipliers of each group's own base value (so
layer-wise lrs keep their ratios); a hyperparameter a phase leaves out is 1.0
(the base) in that phase. With ``absolute=True`` the values are the
hyperparameters themselves, and every phase must give every one of them.

>>> import torch, lrkit as lk
>>> from lrkit.torch import Scheduler
>>> from lrkit.recipes import Phase, phased
>>> plan = phased([
...     Phase(4, lr=lk.cyclic(0.5, 1.0, up=2), momentum=1.0),   # explore: cyclic lr
...     Phase(4, lr=lk.cosine(4, end=0.1), momentum=0.9),       # anneal
...     Phase(2, lr=0.01, momentum=0.0),                        # settle: small constant lr
... ])
>>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.2, momentum=0.9)
>>> sched = Scheduler(opt, plan)
>>> seen = []
>>> for _ in range(10):
...     seen.append((round(opt.param_groups[0]["lr"], 4), round(opt.param_groups[0]["momentum"], 3)))
...     opt.step(); sched.step()
>>> seen[:4], seen[4], seen[8]
([(0.1, 0.9), (0.15, 0.9), (0.2, 0.9), (0.15, 0.9)], (0.2, 0.81), (0.002, 0.0))
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from ..checks import duration, fail, fmt, number
from ..errors import SpecError
from ..schedules import Schedule, constant, sequence, window

Window = window
"""``lk.window`` under its recipe name: the schedule that cuts a phase to its length."""

__all__ = ["Phase", "Window", "phased"]


class Phase:
    """One phase of training: its length and the hyperparameters it sets.

    ``Phase(steps, name=None, **values)``: ``steps`` a number of optimizer
    updates (or ``"5ep"``, ``"10%"``, ``"rest"``); each value a number or a
    schedule on the phase's clock (``lr=lk.cosine(1000)``, ``momentum=0.9``).

    >>> Phase(1000, lr=0.1, momentum=0.9)
    Phase(1000, lr=0.1, momentum=0.9)
    """

    __slots__ = ("steps", "name", "values")
    steps: float | str
    name: str | None
    values: dict[str, float | Schedule]

    def __init__(self, steps: float | str, name: str | None = None, **values: float | Schedule) -> None:
        steps = duration("Phase", "steps", steps)
        if name is not None and not isinstance(name, str):
            raise fail("Phase", "name", "a string or None", name)
        for k, v in values.items():
            if isinstance(v, Schedule):
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise fail("Phase", k, "a number or a schedule (non-numeric settings cannot be scheduled)", v)
            number("Phase", k, v, ge=0)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", dict(values))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Phase is immutable")

    def __eq__(self, other: object) -> bool:
        mine = (self.steps, self.name, self.values)
        return isinstance(other, Phase) and mine == (other.steps, other.name, other.values)

    def __hash__(self) -> int:
        return hash((self.steps, self.name, tuple(sorted((k, v) for k, v in self.values.items()))))

    def __repr__(self) -> str:
        parts = [fmt(self.steps)] + ([f"name={self.name!r}"] if self.name else [])
        parts += [f"{k}={fmt(v)}" for k, v in self.values.items()]
        return f"Phase({', '.join(parts)})"


def _piece(value: float | Schedule, steps, last: bool) -> Schedule:
    if isinstance(value, Schedule):
        return value if last else window(value, steps)
    return constant(value) if last else constant(value, steps=steps)


def phased(phases: Iterable[Phase], *, absolute: bool = False) -> dict[str, Schedule]:
    """One schedule per hyperparameter, switching at the phase boundaries.

    Phase ``i`` covers steps ``[start_i, start_i + steps_i)``; there,
    hyperparameter ``p`` follows ``values[p](t - start_i)`` (a number is held).
    The last phase's values continue after the end. A hyperparameter a phase
    leaves out is ``1.0`` there (the group's base value, since values are
    multipliers); with ``absolute=True`` leaving one out is an error. Pass the
    result to ``lrkit.torch.Scheduler(optimizer, phased(...), absolute=...)``.

    >>> import lrkit as lk
    >>> plan = phased([Phase(10, lr=lk.cyclic(0.1, 1.0, up=5)), Phase("rest", lr=lk.cosine("rest"))])
    >>> str(plan["lr"].bind(total_steps=30))
    'window(cyclic(0.1, 1, 5), 10) >> cosine(20)'
    """
    if isinstance(phases, Phase) or isinstance(phases, (str, bytes, Mapping)) or not isinstance(phases, Iterable):
        raise fail("phased", "phases", "a list of Phase(...)", phases)
    phases = list(phases)
    if not phases:
        raise fail("phased", "phases", "a non-empty list of Phase(...)", phases)
    for i, p in enumerate(phases):
        if not isinstance(p, Phase):
            raise fail("phased", f"phases[{i}]", "a Phase(...)", p)
    if not isinstance(absolute, bool):
        raise fail("phased", "absolute", "True or False", absolute)
    params: list[str] = []
    for p in phases:
        params += [k for k in p.values if k not in params]
    if not params:
        raise SpecError("phased(): no phase sets any hyperparameter; give e.g. Phase(1000, lr=0.1)")
    out: dict[str, Schedule] = {}
    for name in params:
        pieces = []
        for i, p in enumerate(phases):
            if name not in p.values and absolute:
                raise SpecError(f"phased(): with absolute=True every phase must set every hyperparameter; "
                                f"phases[{i}] {p!r} does not set {name!r}")
            pieces.append(_piece(p.values.get(name, 1.0), p.steps, last=i == len(phases) - 1))
        out[name] = sequence(pieces)
    return out

