"""Self-checking experiments: what the literature on lr schedules teaches, measured.

Each experiment answers one question, writes a figure and a table, checks its
claim against its own measurement and says whether it held
(``lrkit experiment NAME``; ``lrkit experiment --list``).

>>> from lrkit.lab import experiments
>>> experiments.names()[:3]
['noisy-quadratic', 'half-life', 'gradient-flow']
>>> r = experiments.run("gradient-flow", quick=True)
>>> r.holds, r.numbers["best_swept_lr"] == r.numbers["lr_2_over_m_plus_M"]
(True, True)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ...errors import SpecError
from .base import Check, ExperimentResult

__all__ = ["Check", "ExperimentResult", "describe", "names", "run"]

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
}


def names() -> list[str]:
    """The experiment names, in the order of the docs.

    >>> names()[:3]
    ['noisy-quadratic', 'half-life', 'gradient-flow']"""
    return list(_MODULES)


def _module(name: str) -> ModuleType:
    if name not in _MODULES:
        import difflib

        close = difflib.get_close_matches(str(name), _MODULES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(f"experiment(): name must be one of {', '.join(_MODULES)}; got name={name!r}{hint}")
    return importlib.import_module(f".{_MODULES[name]}", __name__)


def describe() -> dict[str, str]:
    """Experiment name -> the question it answers (one line each).

    >>> describe()["gradient-flow"].startswith("Gradient descent is Euler")
    True"""
    return {n: _module(n).QUESTION for n in _MODULES}


def run(name: str, out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Run experiment ``name``; with ``out``, write ``<out>/<name>.png``, ``.md`` and ``.csv``.

    ``quick`` runs a reduced size (fewer steps, runs or epochs; the claim is
    checked all the same). ``seed`` changes every random draw.

    Example (as ``lrkit experiment gradient-flow --quick --out out``)::

        result = run("gradient-flow", out="out", quick=True)
        print(result.holds, [c.line() for c in result.checks])
    """
    module = _module(name)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"experiment(): seed must be a whole number >= 0; got seed={seed!r}")
    return module.run(out, quick=bool(quick), seed=seed)
