"""The design of a comparison: its schedules (candidates), the lr grid, the seeds, and each run's identity.

Which runs are trained, and in what order, is the policy's business
(:mod:`lrkit.lab.policy`); how an lr is chosen is :mod:`lrkit.lab.lrsearch`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..checks import fail, number
from ..errors import SpecError
from ..plateau import Plateau
from ..schedules import Schedule
from ..spec import parse
from .run import Task
from .store import run_key

__all__ = ["PLATEAU_FIELDS", "PROTOCOLS", "Candidate", "Choice", "Design", "candidate", "lr_grid"]

PLATEAU_FIELDS = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_scale", "eps")
GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
MAX_LR = 1e6


@dataclass(frozen=True)
class Candidate:
    """A schedule in the comparison: its name, its text as given, canonical text and plateau settings."""

    name: str
    text: str
    schedule: str
    plateau: dict | None = None


def candidate(spec: Any, where: str = "compare") -> Candidate:
    """A :class:`Candidate` from a schedule text, a schedule, or a ``(schedule, lk.Plateau)`` pair.

    >>> candidate("cosine('100%', end=0.0)")
    Candidate(name="cosine('100%', end=0.0)", text="cosine('100%', end=0.0)", schedule="cosine('100%')", plateau=None)
    """
    plateau = None
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Plateau):
        spec, plateau = spec
    if isinstance(spec, str):
        try:
            s = parse(spec)
        except SpecError as e:
            raise SpecError(f"{where}(): schedule {spec!r}: {e}") from None
        name = " ".join(spec.split())
    elif isinstance(spec, Schedule):
        s, name = spec, str(spec)
    else:
        raise fail(where, "schedules", "schedule texts, schedules or (schedule, lk.Plateau) pairs", spec)
    kw, text = None, name
    if plateau is not None:
        kw = {f: getattr(plateau, f) for f in PLATEAU_FIELDS}
        name = f"{name} with {plateau!r}"
    return Candidate(name, text, str(s), kw)


def lr_grid(lr: Any = None, lrs: Any = None, where: str = "compare") -> list[float]:
    """The lrs to tune over: ``lrs`` as given (sorted), or ``lr * (1/4, 1/2, 1, 2, 4)``.

    Every lr must be > 0 and at most 1e6 (larger ones overflow float32 weights
    in the first update; no optimizer's lr is that large).

    >>> lr_grid(0.1)
    [0.025, 0.05, 0.1, 0.2, 0.4]
    """
    if lrs is not None:
        if isinstance(lrs, (str, bytes)) or not hasattr(lrs, "__iter__"):
            raise fail(where, "lrs", "a list of numbers > 0", lrs)
        grid = sorted({float(number(where, "lrs", v, gt=0, le=MAX_LR)) for v in lrs})
        if not grid:
            raise fail(where, "lrs", "a list of at least one number > 0", lrs)
        return grid
    if lr is None:
        raise fail(where, "lr", "given (or lrs) for your own train function: the centre of the lr grid", lr)
    lr = float(number(where, "lr", lr, gt=0, le=MAX_LR / 4))
    return [float(f"{lr * f:.12g}") for f in GRID]


@dataclass(frozen=True)
class Choice:
    """The lr chosen for one schedule, and the tuning curve it was chosen from."""

    lr: float | None
    tuning: list[dict]
    status: str  # "chosen", or why there is no lr: "pruned", "failed", "diverged", "missing"


PROTOCOLS = ("adaptive", "full")


@dataclass
class Design:
    """The fixed settings of a comparison: what may be trained, and how each run is identified.

    ``lrs`` is the grid (the ladder of :mod:`lrkit.lab.lrsearch`), ``seeds`` the final seeds (at most
    that many per schedule under the adaptive protocol), ``tune_seeds`` the seeds of every tuning run.
    """

    candidates: list[Candidate]
    lrs: list[float]
    seeds: list[int]
    tune_seeds: list[int]
    epochs: int
    mode: str = "max"
    config: dict = field(default_factory=dict)
    steps_per_epoch: int | None = None
    code: dict = field(default_factory=dict)
    protocol: str = "adaptive"

    def task(self, c: Candidate, lr: float, seed: int, phase: str) -> Task:
        """The run of schedule ``c`` at ``lr`` on ``seed`` in ``phase`` (``"tune"`` or ``"final"``); its key
        hashes everything that decides its result, so the same run in another job is found again."""
        identity = {**self.code, "schedule": c.schedule, "plateau": c.plateau, "lr": lr, "seed": seed,
                    "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch, "config": self.config}
        pool = f"{phase}|{c.schedule}|{c.plateau}"
        return Task(run_key(identity), c.name, c.schedule, c.plateau, lr, seed, self.epochs, dict(self.config),
                    self.steps_per_epoch, f"{pool}|{lr!r}", phase, pool, run_key(self.code))

    def candidate(self, name: str) -> Candidate:
        return next(c for c in self.candidates if c.name == name)
