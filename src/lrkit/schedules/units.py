"""Run-relative durations: ``"5ep"``, ``"10%"``, ``"rest"`` and their binding to a run."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..checks import fmt
from ..errors import SpecError

__all__ = ["Env", "resolve", "unit_kinds"]


@dataclasses.dataclass(frozen=True)
class Env:
    """What binding knows of the run: its length, an epoch's length, and the span
    a ``"rest"`` duration fills (the run, a window, or what other phases leave)."""

    total_steps: float | None
    steps_per_epoch: float | None
    available: float | None

    def within(self, available: float | None) -> Env:
        return dataclasses.replace(self, available=available)


def resolve(value: Any, env: Env, where: str) -> Any:
    """``value`` in steps: numbers pass through, unit strings are bound to ``env``.

    Exact where the answer is whole: ``"7%"`` of 100 steps is ``100 * 7 / 100 = 7``
    (``7 / 100 * 100`` would be ``7.000000000000001``).
    """
    if not isinstance(value, str):
        return value
    if value == "rest":
        if env.available is None:
            raise SpecError(f"bind(): {where} uses 'rest', which needs total_steps; pass s.bind(total_steps=...)")
        if env.available <= 0:
            raise SpecError(
                f"bind(): 'rest' in {where} leaves no steps: the other phases take all of "
                f"total_steps={fmt(env.total_steps)}"
            )
        return _tidy(env.available)
    if value.endswith("ep"):
        if env.steps_per_epoch is None:
            raise SpecError(f"bind(): {where} uses {value!r}, which needs steps_per_epoch; "
                            "pass s.bind(steps_per_epoch=...)")
        return _tidy(float(value[:-2]) * env.steps_per_epoch)
    if env.total_steps is None:
        raise SpecError(f"bind(): {where} uses {value!r}, which needs total_steps; pass s.bind(total_steps=...)")
    return _tidy(env.total_steps * float(value[:-1]) / 100)


def _tidy(x: float) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def unit_kinds(value: Any) -> frozenset[str]:
    """The units used in a duration value: a subset of ``{'ep', '%', 'rest'}``."""
    if isinstance(value, str):
        return frozenset({"rest" if value == "rest" else ("ep" if value.endswith("ep") else "%")})
    if isinstance(value, tuple):
        out: frozenset[str] = frozenset()
        for x in value:
            out |= unit_kinds(x)
        return out
    return frozenset()
