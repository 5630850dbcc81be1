"""The lab: which schedule should I use here? Real training runs compared with evidence that holds up.

``lrkit.lab.compare(train, schedules=..., ...)`` tunes each schedule's lr on
the validation split, trains it over several seeds, scores it on a held-out
test split and names a winner only when paired statistics say so. ``train``
is your function ``train(run)`` (see :class:`Run`), or None for the built-in
data and models. Needs the ``lab`` extra (torch, scikit-learn, mnist1d,
matplotlib); ``engine="ray"`` needs the ``ray`` extra.

Importing this package imports no framework: torch and matplotlib load when a job runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Comparison", "Pruned", "Run", "compare"]


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("compare", "Comparison"):
        return getattr(importlib.import_module("lrkit.lab.job"), name)
    if name in ("Run", "Pruned"):
        return getattr(importlib.import_module("lrkit.lab.run"), name)
    raise AttributeError(f"module 'lrkit.lab' has no attribute {name!r}")
