"""From the finished runs to one row per schedule and the verdict (numbers only; the words are in ``words``).

For each schedule: its chosen lr and tuning curve, the test metric of every
final seed, their mean, and against the **best** schedule (the highest mean
test metric; the lowest under ``mode="min"``) the paired per-seed
differences, their 95% confidence interval and the two-sided paired t-test,
with p-values Holm-adjusted over the comparisons made (:mod:`lrkit.lab.stats`).

The verdict (``alpha = 0.05``):

- a **winner** only when the best is significantly better (adjusted
  ``p < alpha``) than every other schedule; a schedule that was pruned or whose
  final runs diverged counts as beaten, one that failed (an exception) blocks a
  winner: nothing is known about it;
- otherwise **no significant winner**, and the **top group**: the best and
  every compared schedule not significantly worse than it;
- pruned, failed and diverged schedules are never in the top group.

**Under-trained** (a flag, fixed before any run): the mean validation curve of
a schedule's final runs (oriented so higher is better) gained more than 5% of
its whole range (best minus worst epoch) over the last quarter of the run
(``k = max(1, round(epochs / 4))`` reports): it was still improving when it stopped.

**lr at the edge**: the chosen lr is the smallest or the largest of the grid
(the best lr may lie outside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .protocol import Choice, Protocol
from .run import Record
from .stats import holm, paired

__all__ = ["ALPHA", "Entry", "Verdict", "decide", "ranked", "summarise", "under_trained"]

ALPHA = 0.05
TIE = 1e-12  # relative: means this close are equal (float rounding must not break a tie)
UNDER_TRAINED_GAIN = 0.05


@dataclass
class Entry:
    """One schedule of the comparison (``to_dict`` gives the fixed names of ``results.json``)."""

    name: str
    lr: float | None
    tuning: list[dict]
    seeds: list[int]
    test: list[float | None]
    status: str = "compared"        # compared, pruned, failed, diverged
    mean: float | None = None
    sd: float | None = None
    diff_mean: float | None = None
    diff_ci95: list[float] | None = None
    p: float | None = None
    p_adjusted: float | None = None
    test_kind: str | None = None    # "t", "sign", "tie" or None (no test)
    in_top_group: bool = False
    under_trained: bool = False
    lr_at_edge: bool = False
    curve: list[float | None] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    fingerprints: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        """The mean test metric (NaN when the schedule was not compared)."""
        return math.nan if self.mean is None else self.mean

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
                "mean": self.mean, "sd": self.sd, "diff_mean": self.diff_mean, "diff_ci95": self.diff_ci95,
                "p": self.p, "p_adjusted": self.p_adjusted, "test_kind": self.test_kind,
                "in_top_group": self.in_top_group, "pruned": self.pruned, "failed": self.failed,
                "under_trained": self.under_trained, "status": self.status, "lr_at_edge": self.lr_at_edge,
                "val_curve": self.curve, "errors": self.errors, "fingerprints": self.fingerprints}


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

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner, "top_group": self.top_group, "metric": self.metric, "alpha": self.alpha,
                "best": self.best, "mode": self.mode, "seeds": self.n_seeds}


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


def decide(entries: list[Entry], *, mode: str, metric: str, alpha: float = ALPHA) -> Verdict:
    """Fill the statistics of every compared entry and return the verdict (module doc)."""
    sign = 1.0 if mode == "max" else -1.0
    compared = [e for e in entries if e.status == "compared"]
    n_seeds = max((len(e.seeds) for e in compared), default=0)
    if not compared:
        return Verdict(None, [], None, metric, mode, 0, alpha)
    high = max(sign * e.score for e in compared)
    best = next(e for e in compared if sign * e.score >= high - TIE * max(1.0, abs(high)))  # first of equal means
    others = [e for e in compared if e is not best]
    for e in others:
        r = paired(e.values, best.values)
        e.diff_mean, e.p, e.test_kind = r.mean, r.p, r.test
        e.diff_ci95 = None if r.ci95 is None else [r.ci95[0], r.ci95[1]]
    for e, adj in zip(others, holm([e.p for e in others])):
        e.p_adjusted = adj
    best.in_top_group = True
    for e in others:
        e.in_top_group = e.p_adjusted is None or e.p_adjusted >= alpha or sign * (e.diff_mean or 0.0) >= 0
    blocked = [e.name for e in entries if e.status == "failed"]
    winner = None  # a lone compared schedule (the rest pruned or diverged) was never tested: no winner
    if others and not blocked and not any(e.in_top_group for e in others):
        winner = best.name
    top = [best.name] + [e.name for e in others if e.in_top_group]
    return Verdict(winner, top, best.name, metric, mode, n_seeds, alpha, blocked)


def ranked(entries: list[Entry], mode: str) -> list[Entry]:
    """The entries with a mean test metric, best first (ties keep their order), then the others as given."""
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


def summarise(protocol: Protocol, records: dict[str, Record], choices: dict[str, Choice],
              metric: str) -> tuple[list[Entry], Verdict]:
    """One :class:`Entry` per schedule (in the order given) and the :class:`Verdict`."""
    entries = []
    for c in protocol.candidates:
        ch = choices[c.name]
        tune = [records[t.key] for lr in protocol.lrs for s in protocol.tune_seeds
                if (t := protocol.task(c, lr, s, "tune")).key in records]
        e = Entry(c.name, ch.lr, ch.tuning, list(protocol.seeds), [None] * len(protocol.seeds),
                  errors=_errors(tune, "tune"))
        if ch.lr is None:
            e.status = ch.status
            entries.append(e)
            continue
        e.lr_at_edge = len(protocol.lrs) > 1 and ch.lr in (protocol.lrs[0], protocol.lrs[-1])
        recs = [records.get(protocol.task(c, ch.lr, s, "final").key) for s in protocol.seeds]
        done = [r for r in recs if r is not None]
        e.errors += _errors(done, "final")
        e.test = [None if r is None or r.status != "done" or not math.isfinite(r.test) else r.test for r in recs]
        e.fingerprints = _fingerprints(done)
        statuses = {None if r is None else r.status for r in recs}
        if "failed" in statuses or None in statuses:
            e.status = "failed"
        elif "pruned" in statuses:
            e.status = "pruned"
        elif any(v is None for v in e.test):
            e.status = "diverged"
        if e.status == "compared":
            vs = e.values
            mean = e.mean = math.fsum(vs) / len(vs)
            e.sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vs) / (len(vs) - 1)) if len(vs) > 1 else None
            e.curve = _curve(done)
            e.under_trained = under_trained([v for v in e.curve if v is not None], protocol.mode) \
                if None not in e.curve else False
        entries.append(e)
    return entries, decide(entries, mode=protocol.mode, metric=metric)
