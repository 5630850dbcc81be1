"""Recipes from practice: techniques built on lrkit schedules, one module each.

- :func:`weight_decay_schedule` — decoupled weight decay that keeps ``lr * wd``
  constant or lets it decay with the lr (:mod:`.weight_decay`);
- :class:`Phase`, :func:`phased` — phased training, each phase with its own
  schedule and optimizer settings (:mod:`.phased`);
- :func:`layerwise_groups` — layer-wise lr decay for fine-tuning (:mod:`.layerwise`, torch);
- :class:`Snapshots`, :class:`SnapshotEnsemble`, :func:`cycle_ends` — snapshot
  ensembles over restart cycles (:mod:`.snapshot`, torch);
- :func:`one_cycle_momentum`, :func:`super_convergence` — range test, then
  one-cycle with inverse momentum, in one call (:mod:`.superconvergence`, torch).

``import lrkit.recipes`` imports no framework; the torch recipes import torch
when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from .phased import Phase, Window, phased
from .superconvergence import SuperConvergence, one_cycle_momentum, super_convergence
from .weight_decay import Reciprocal, weight_decay_schedule

__all__ = [
    "Phase",
    "Reciprocal",
    "SnapshotEnsemble",
    "Snapshots",
    "SuperConvergence",
    "Window",
    "cycle_ends",
    "layerwise_groups",
    "one_cycle_momentum",
    "phased",
    "super_convergence",
    "weight_decay_schedule",
]

_LAZY = {
    "layerwise_groups": "layerwise",
    "SnapshotEnsemble": "snapshot",
    "Snapshots": "snapshot",
    "cycle_ends": "snapshot",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
