"""The protocol of a comparison: which runs to train, and how the lr of each schedule is chosen.

1. **Tuning** (phase ``"tune"``): every schedule at every lr of the grid, on
   the tuning seeds, for the full number of epochs (so every schedule has the
   shape it will have in the final runs).
2. **Choice**: for each schedule, the lr whose tuning runs have the best mean
   **validation** metric at their last report (higher is better unless
   ``mode="min"``). Only lrs whose tuning runs all finished count (pruned,
   failed and diverged ones do not); equal means go to the smaller lr. The
   test split is never read for a choice.
3. **Final** (phase ``"final"``): each schedule at its chosen lr on the final
   seeds ``seed_offset .. seed_offset + seeds - 1``, scored on the held-out
   **test** metric that ``train`` returns. The tuning seeds are the next ones
   (``seed_offset + seeds ..``), so no final run took part in a choice.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..checks import fail, number
from ..errors import SpecError
from ..plateau import Plateau
from ..schedules import Schedule
from ..spec import parse
from .run import Record, Task
from .store import run_key

__all__ = ["PLATEAU_FIELDS", "Candidate", "Choice", "Protocol", "candidate", "lr_grid"]

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


def train_id(train: Any) -> dict:
    """What identifies a training function in a run's key: its name and the hash of its source. For a
    ``functools.partial`` its function's, plus the bound arguments; for a callable object its class's,
    plus the object's attributes (a different argument or attribute is a different run)."""
    target, extra = train, ""
    if isinstance(train, functools.partial):
        target, extra = train.func, repr((train.args, sorted(train.keywords.items())))
    elif not inspect.isroutine(train) and not inspect.isclass(train):
        target, extra = type(train), repr(sorted(vars(train).items())) if hasattr(train, "__dict__") else ""
    name = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    try:
        source = inspect.getsource(target) + extra
    except (OSError, TypeError):
        source = name + extra
    import hashlib

    return {"train": name, "code": hashlib.sha256(source.encode()).hexdigest()[:16]}


@dataclass(frozen=True)
class Choice:
    """The lr chosen for one schedule, and the tuning curve it was chosen from."""

    lr: float | None
    tuning: list[dict]
    status: str  # "chosen", or why there is no lr: "pruned", "failed", "diverged"


@dataclass
class Protocol:
    """The runs of a comparison and the rule that chooses each schedule's lr (module doc)."""

    candidates: list[Candidate]
    lrs: list[float]
    seeds: list[int]
    tune_seeds: list[int]
    epochs: int
    mode: str = "max"
    config: dict = field(default_factory=dict)
    steps_per_epoch: int | None = None
    code: dict = field(default_factory=dict)

    def task(self, c: Candidate, lr: float, seed: int, phase: str) -> Task:
        identity = {**self.code, "schedule": c.schedule, "plateau": c.plateau, "lr": lr, "seed": seed,
                    "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch, "config": self.config}
        group = f"{phase}|{c.schedule}|{c.plateau}|{lr!r}"
        return Task(run_key(identity), c.name, c.schedule, c.plateau, lr, seed, self.epochs, dict(self.config),
                    self.steps_per_epoch, group, phase)

    def tuning_tasks(self) -> list[Task]:
        """Every (schedule, lr, tuning seed), seed by seed."""
        return self._unique(self.task(c, lr, s, "tune") for s in self.tune_seeds
                            for c in self.candidates for lr in self.lrs)

    def final_tasks(self, choices: dict[str, Choice]) -> list[Task]:
        """Every (schedule, chosen lr, final seed), seed by seed."""
        chosen = [(c, lr) for c in self.candidates if (lr := choices[c.name].lr) is not None]
        return self._unique(self.task(c, lr, s, "final") for s in self.seeds for c, lr in chosen)

    @staticmethod
    def _unique(tasks) -> list[Task]:
        seen: dict[str, Task] = {}
        for t in tasks:
            seen.setdefault(t.key, t)  # the same schedule under two names is one run
        return list(seen.values())

    def choose(self, records: dict[str, Record]) -> dict[str, Choice]:
        """The lr of each schedule, from the validation metric of its tuning runs (module doc)."""
        sign = 1.0 if self.mode == "max" else -1.0
        out = {}
        for c in self.candidates:
            tuning: list[dict] = []
            best: tuple[float, float] | None = None
            for lr in self.lrs:
                recs = [records.get(self.task(c, lr, s, "tune").key) for s in self.tune_seeds]
                status, val, per_seed = _tuning_point(recs)
                tuning.append({"lr": lr, "val": val, "status": status, "seeds": per_seed})
                if val is not None and (best is None or sign * (val - best[1]) > 1e-12 * max(1.0, abs(val))):
                    best = (lr, val)  # a later (larger) lr must be better beyond float rounding
            if best is not None:
                out[c.name] = Choice(best[0], tuning, "chosen")
            else:
                statuses = {t["status"] for t in tuning}
                why = next(s for s in ("pruned", "failed", "diverged", "missing") if s in statuses)
                out[c.name] = Choice(None, tuning, why)
        return out


def _tuning_point(recs: Sequence[Record | None]) -> tuple[str, float | None, list]:
    """Status, mean last validation metric and per-seed values of one (schedule, lr)."""
    per_seed = [r.vals[-1] if r is not None and r.vals else None for r in recs]
    per_seed = [None if v is None or not math.isfinite(v) else v for v in per_seed]
    statuses = [None if r is None else r.status for r in recs]
    for s in ("failed", "pruned"):
        if s in statuses:
            return s, None, per_seed
    if None in statuses:
        return "missing", None, per_seed
    values = [v for v in per_seed if v is not None]
    if len(values) < len(per_seed):
        return "diverged", None, per_seed
    return "done", math.fsum(values) / len(values), per_seed
