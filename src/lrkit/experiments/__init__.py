"""Self-checking experiments: what the literature on lr schedules teaches, measured over many seeds.

Each experiment states one claim with thresholds fixed in its module, measures
it on several seeds (``seeds`` consecutive seeds from ``seed_offset``) and
reports the share of seeds on which it held (``pass_rate``); the claim holds
only when that share is at least 80%. Where the claim depends on a knob (a
peak lr, the noise, the weight decay, ...) it is measured across the knob and
the result says where it holds (the *region*). ``lrkit experiment NAME``;
``lrkit experiment --list``.

>>> from lrkit import experiments
>>> experiments.names()[:3]
['noisy-quadratic', 'half-life', 'gradient-flow']
>>> r = experiments.run("gradient-flow", seeds=2, quick=True)
>>> r.seeds, r.pass_rate, r.holds
([0, 1], 1.0, True)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..checks import flag, integer, unknown
from .base import (
    PASS_RATE,
    Cell,
    Check,
    ExperimentResult,
    Progress,
    pass_rate,
    write_outputs,
)

__all__ = ["PASS_RATE", "SEEDS", "Cell", "Check", "ExperimentResult", "describe", "module", "names", "pass_rate", "run"]

SEEDS = 10
"""Seeds per experiment unless ``seeds`` says otherwise (``lrkit experiment --seeds``)."""

_MODULES = {
    "noisy-quadratic": "noisy_quadratic",
    "half-life": "half_life",
    "gradient-flow": "gradient_flow",
    "decay-speed": "decay_speed",
    "restarts": "restarts",
    "warmup": "warmup",
    "momentum": "momentum",
    "weight-decay": "weight_decay",
    "lr-noise": "lr_noise",
    "lm-cooldown": "lm_cooldown",
    "lm-decay": "lm_decay",
    "lm-branch": "lm_branch",
    "lm-warmup": "lm_warmup",
    "lm-schedulefree": "lm_schedulefree",
}


def names() -> list[str]:
    """The experiment names, in the order of the docs.

    >>> names()[:3]
    ['noisy-quadratic', 'half-life', 'gradient-flow']"""
    return list(_MODULES)


def module(name: str) -> ModuleType:
    """The module of experiment ``name`` (a did-you-mean error for an unknown name).

    >>> module("restarts").NAME
    'restarts'
    """
    if name not in _MODULES:
        raise unknown("experiment", "experiment", name, _MODULES)
    return importlib.import_module(f".{_MODULES[name]}", __name__)


def describe() -> dict[str, str]:
    """Experiment name -> the question it answers (one line each).

    >>> describe()["gradient-flow"].startswith("Gradient descent is Euler")
    True"""
    return {n: module(n).QUESTION for n in _MODULES}


def run(name: str, out: str | None = None, *, seeds: int = SEEDS, seed_offset: int = 0, quick: bool = False,
        progress: bool = False) -> ExperimentResult:
    """Run experiment ``name`` on seeds ``seed_offset .. seed_offset + seeds - 1``.

    With ``out``, write ``<out>/<name>/result.json`` (``claim``, ``holds``,
    ``pass_rate``, ``seeds``, ``checks``, ``region``), the figure
    ``<name>.png`` and the table (``.md``, ``.csv``) there. ``quick`` runs a
    reduced size (fewer steps or runs; the claim is checked all the same);
    ``progress`` reports on stderr.

    Example (as ``lrkit experiment restarts --seeds 20 --seed-offset 100 --out out``)::

        result = run("restarts", out="out", seeds=20, seed_offset=100)
        print(result.pass_rate, result.holds, result.region()["summary"])
    """
    mod = module(name)
    seeds = integer("experiment", "seeds", seeds, ge=1)
    seed_offset = integer("experiment", "seed_offset", seed_offset, ge=0)
    quick = flag("experiment", "quick", quick)
    seed_list = list(range(seed_offset, seed_offset + seeds))
    total = mod.progress_total(seeds, quick) if hasattr(mod, "progress_total") else seeds   # default: one per seed
    bar = Progress(name, total, enabled=bool(progress))
    result, fig = mod.run(seed_list, quick=quick, progress=bar)
    return write_outputs(result, out, fig)
