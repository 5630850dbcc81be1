"""From the finished runs to one row per schedule and the verdict (numbers only; the words are in ``words``).

For each schedule: its chosen lr and tuning curve, the test metric of each of
its final seeds, their mean (and, when a racing protocol gave schedules
different seeds, the mean adjusted for the seeds, which ranks them), and the
decision of :func:`lrkit.lab.stats.top_group` (with the protocol's looks): in
or out of the **top group**, the step-down's adjusted p-value, and the paired
difference to the **best** schedule (the highest adjusted mean among the top
group; the lowest under ``mode="min"``)
with an interval that agrees with the decision. Differences and intervals are
in the metric's own units, ``this - best``: below 0 means worse under
``mode="max"``, above 0 under ``mode="min"``; a row is out of the top group
exactly when its interval lies entirely on the worse side of 0.

The verdict (``alpha = 0.05``, the familywise error rate):

- a **winner** only when every other compared schedule is out of the top group;
  a schedule that was pruned or whose final runs diverged counts as beaten,
  one that failed (an exception) blocks a winner: nothing is known about it;
- otherwise **no significant winner**, and the **top group**;
- pruned, failed and diverged schedules are never in the top group (they are
  reported as such, outside the statistics).

**Under-trained** (a flag, fixed before any run): the mean validation curve of
a schedule's final runs (oriented so that higher is better) gained more than 5% of
its whole range over the last quarter of the run (``k = max(1, round(epochs / 4))``
reports), and the schedule does not anneal at the end (its multiplier at the
last step is more than half its largest): a schedule that cools down (``cosine``,
``wsd``, ``linear`` to 0) improves at the end by design, which says nothing of
its length. **lr at the edge**: the chosen lr is the smallest or largest tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .policy import Plan
from .protocol import Design
from .run import Record, Task
from .stats import ALPHA, Looks, adjusted_means, top_group

__all__ = ["ALPHA", "Entry", "Verdict", "decide", "ranked", "summarise", "under_trained"]

UNDER_TRAINED_GAIN = 0.05


@dataclass
class Entry:
    """One schedule of the comparison (``to_dict`` gives the fixed names of ``results.json``)."""

    name: str
    lr: float | None
    tuning: list[dict]
    seeds: list[int]
    test: list[float | None]
    status: str = "compared"        # compared, pruned, failed, diverged, missing
    mean: float | None = None
    adjusted: float | None = None   # the mean adjusted for the seeds it ran on (stats.adjusted_means)
    sd: float | None = None
    diff_mean: float | None = None
    diff_ci95: list[float] | None = None
    p_adjusted: float | None = None
    partner: str | None = None      # the schedule giving the strongest evidence against this one
    in_top_group: bool = False
    under_trained: bool = False
    lr_at_edge: bool = False
    curve: list[float | None] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    fingerprints: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        """The seed-adjusted mean test metric (the mean when every schedule ran on the same seeds; NaN when the
        schedule was not compared): what ranks the schedules."""
        return math.nan if self.mean is None else self.mean if self.adjusted is None else self.adjusted

    @property
    def values(self) -> list[float]:
        """The per-seed test metrics that exist (all of them for a compared schedule)."""
        return [v for v in self.test if v is not None]

    @property
    def pruned(self) -> bool:
        return self.status == "pruned"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "tuning": self.tuning, "seeds": self.seeds, "test": self.test,
                "mean": self.mean, "mean_adjusted": self.adjusted, "sd": self.sd, "diff_mean": self.diff_mean,
                "diff_ci95": self.diff_ci95,
                "p_adjusted": self.p_adjusted, "partner": self.partner, "in_top_group": self.in_top_group,
                "pruned": self.pruned, "failed": self.failed, "under_trained": self.under_trained,
                "status": self.status, "lr_at_edge": self.lr_at_edge, "val_curve": self.curve,
                "errors": self.errors, "fingerprints": self.fingerprints}


@dataclass
class Verdict:
    """``winner`` (a name or None), ``top_group``, and what the words need."""

    winner: str | None
    top_group: list[str]
    best: str | None
    metric: str
    mode: str
    n_seeds: int
    alpha: float = ALPHA
    blocked_by: list[str] = field(default_factory=list)  # failed schedules that block a winner
    procedure: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner, "top_group": self.top_group, "metric": self.metric, "alpha": self.alpha,
                "best": self.best, "mode": self.mode, "seeds": self.n_seeds, "procedure": self.procedure}


PROCEDURE = ("closed step-down over one-sided paired t-tests of every pair (Holm over the schedules, "
             "Bonferroni over each schedule's K-1 rivals)")


def under_trained(curve: list[float], mode: str = "max") -> bool:
    """The under-training rule (module doc) on a mean validation curve.

    >>> under_trained([0.5, 0.7, 0.8, 0.9]), under_trained([0.5, 0.8, 0.9, 0.9])
    (True, False)
    """
    c = [v if mode == "max" else -v for v in curve]
    if len(c) < 2 or not all(math.isfinite(v) for v in c):
        return False
    k = max(1, round(len(c) / 4))
    span = max(c) - min(c)
    return span > 0 and c[-1] - c[-1 - k] > UNDER_TRAINED_GAIN * span


def decide(entries: list[Entry], *, mode: str, metric: str, looks: Looks | None = None,
           alpha: float = ALPHA) -> Verdict:
    """Fill the decision of every compared entry and return the verdict (module doc).

    >>> a = Entry("a", 0.1, [], [0, 1, 2, 3], [0.90, 0.91, 0.92, 0.90], mean=0.9075)
    >>> b = Entry("b", 0.1, [], [0, 1, 2, 3], [0.70, 0.71, 0.70, 0.72], mean=0.7075)
    >>> v = decide([a, b], mode="max", metric="test accuracy")
    >>> v.winner, v.top_group, b.in_top_group, b.diff_ci95[1] < 0
    ('a', ['a'], False, True)
    """
    sign = 1.0 if mode == "max" else -1.0
    compared = [e for e in entries if e.status == "compared"]
    n_seeds = max((len(e.values) for e in compared), default=0)
    blocked = [e.name for e in entries if e.status == "failed"]
    if not compared:
        return Verdict(None, [], None, metric, mode, 0, alpha, blocked, PROCEDURE)
    group = top_group([[sign * v for v in e.values] for e in compared], looks, alpha)
    for e, m in zip(compared, adjusted_means([e.values for e in compared])):
        e.adjusted = m
    kept = [compared[i] for i in group.kept]
    best = max(kept, key=lambda e: sign * e.score)  # the first of equal means (max keeps the first)
    for e, row in zip(compared, group.rows):
        e.in_top_group = not row.out
        e.p_adjusted = row.p_adjusted
        e.partner = None if row.partner is None else compared[row.partner].name
        if e is not best:
            n = min(len(e.values), len(best.values))
            e.diff_mean = math.fsum(a - b for a, b in zip(e.values[:n], best.values[:n])) / n if n else None
            if row.interval is not None:
                lo, hi = row.interval  # oriented (higher is better): back to the metric's units
                e.diff_ci95 = [lo, hi] if sign > 0 else [-hi, -lo]
    winner = best.name if len(compared) > 1 and len(kept) == 1 and not blocked else None
    top = [e.name for e in ranked(kept, mode)]
    return Verdict(winner, top, best.name, metric, mode, n_seeds, alpha, blocked, PROCEDURE)


def ranked(entries: list[Entry], mode: str) -> list[Entry]:
    """The entries with a mean test metric, best (seed-adjusted) first (ties keep their order), then the others."""
    sign = 1.0 if mode == "max" else -1.0
    done = sorted((e for e in entries if e.mean is not None), key=lambda e: -sign * e.score)
    return done + [e for e in entries if e.mean is None]


def _fingerprints(recs: list[Record]) -> dict:
    out: dict[str, Any] = {}
    for r in recs:
        for k, v in r.fingerprints.items():
            out.setdefault(k, {})[str(r.task.seed)] = v
    return out


def _curve(recs: list[Record]) -> list[float | None]:
    n = min((len(r.vals) for r in recs), default=0)
    out = []
    for i in range(n):
        vs = [r.vals[i] for r in recs]
        out.append(math.fsum(vs) / len(vs) if all(math.isfinite(v) for v in vs) else None)
    return out


def _errors(recs: list[Record], phase: str) -> list[dict]:
    return [{"phase": phase, "lr": r.task.lr, "seed": r.task.seed, "message": r.error}
            for r in recs if r.status == "failed"]


def anneals(schedule: str, epochs: int, spe: int | None) -> bool:
    """The schedule's multiplier at the last step of the run is at most half its largest (it cools down).

    >>> anneals("cosine('100%')", 10, 20), anneals("constant()", 10, 20), anneals("wsd('100%', '5%', '20%')", 10, 20)
    (True, False, True)
    """
    import numpy as np

    from .run import seeded

    steps = spe or 100  # a nominal 100 steps per epoch when the run's is unknown: '%' and 'rest' need no more
    values = seeded(schedule, 0).bind(total_steps=epochs * steps, steps_per_epoch=steps).values(
        np.arange(epochs * steps, dtype=np.float64))
    return bool(values[-1] <= 0.5 * values.max())


def _final(e: Entry, tasks: list[Task], records: dict[str, Record], mode: str, cools: bool) -> None:
    recs = [records[t.key] for t in tasks if t.key in records]
    e.seeds = [t.seed for t in tasks]
    e.errors += _errors(recs, "final")
    e.test = [r.test if r.status == "done" and math.isfinite(r.test) else None for r in recs]
    e.fingerprints = _fingerprints(recs)
    statuses = {r.status for r in recs}
    if "failed" in statuses or len(recs) < len(tasks):
        e.status = "failed"
    elif "pruned" in statuses:
        e.status = "pruned"
    elif not recs:
        e.status = "missing"
    elif any(v is None for v in e.test):
        e.status = "diverged"
    if e.status != "compared":
        return
    vs = e.values
    mean = e.mean = math.fsum(vs) / len(vs)
    e.sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vs) / (len(vs) - 1)) if len(vs) > 1 else None
    e.curve = _curve(recs)
    e.under_trained = not cools and None not in e.curve and under_trained([v for v in e.curve if v is not None], mode)


def summarise(design: Design, plan: Plan, records: dict[str, Record], metric: str) -> tuple[list[Entry], Verdict]:
    """One :class:`Entry` per schedule (in the order given) and the :class:`Verdict`."""
    entries = []
    for c in design.candidates:
        ch = plan.choices[c.name]
        tune = [r for r in records.values() if r.task.phase == "tune" and r.task.name == c.name]
        e = Entry(c.name, ch.lr, ch.tuning, [], [], errors=_errors(tune, "tune"),
                  lr_at_edge=plan.edges.get(c.name, False))
        if ch.lr is None:
            e.status = ch.status
        else:
            spe = design.steps_per_epoch or next((r.bound_steps for r in records.values() if r.bound_steps),
                                                 None)
            _final(e, plan.finals.get(c.name, []), records, design.mode, anneals(c.schedule, design.epochs, spe))
        entries.append(e)
    return entries, decide(entries, mode=design.mode, metric=metric, looks=plan.looks)
