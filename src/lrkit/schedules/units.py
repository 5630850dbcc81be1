"""Run-relative durations: ``"5ep"``, ``"10%"``, ``"rest"`` and their binding to a run."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import SpecError
from .args import fmt

__all__ = ["Env", "resolve", "unit_kinds"]


@dataclasses.dataclass(frozen=True)
class Env:
    total_steps: float | None
    steps_per_epoch: float | None
    available: float | None  # the span a "rest" duration fills


def resolve(value: Any, env: Env, where: str):
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
    amount, unit = float(value[:-2] if value.endswith("ep") else value[:-1]), value[-2:] if value.endswith("ep") else "%"
    if unit == "ep":
        if env.steps_per_epoch is None:
            raise SpecError(f"bind(): {where} uses {value!r}, which needs steps_per_epoch; pass s.bind(steps_per_epoch=...)")
        return _tidy(amount * env.steps_per_epoch)
    if env.total_steps is None:
        raise SpecError(f"bind(): {where} uses {value!r}, which needs total_steps; pass s.bind(total_steps=...)")
    return _tidy(amount / 100.0 * env.total_steps)


def _tidy(x: float):
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def unit_kinds(value: Any) -> set[str]:
    if isinstance(value, str):
        return {"rest" if value == "rest" else ("ep" if value.endswith("ep") else "%")}
    if isinstance(value, tuple):
        out: set[str] = set()
        for x in value:
            out |= unit_kinds(x)
        return out
    return set()
