"""What to train next: the protocol of a comparison as a pure policy (no I/O, no processes, no clock).

A :class:`Policy` reads the records of the runs finished so far and answers
with the next :class:`Round` of runs to train (or None: the job is complete).
It recomputes everything from the records each time (a replay), so the same
records always give the same answer: a job killed at any moment and started
again continues exactly where it stopped, and the engines (in-process,
worker processes, Ray) only execute rounds.

1. **lr search** (phase ``"tune"``, validation metric, tuning seeds):
   :class:`lrkit.lab.lrsearch.Search` per schedule, round after round, until
   every schedule's search is over; then each schedule's lr is chosen.
2. **Final seeds** (phase ``"final"``, held-out test metric): ``full`` trains
   every schedule at its chosen lr on every final seed in one round;
   ``adaptive`` races (:class:`lrkit.lab.racing.Race`): a few seeds each, then
   more only where the decision is open.

**Budget** (``budget``, epochs): the lr search may use what is left after
the smallest final phase (every schedule on the first look's seeds); a round
that would pass the budget is not started (the search ends with the points it
has, the race ends with the seeds it has). A job whose smallest form does not
fit is refused before anything trains (:meth:`Policy.minimum`).

The tuning seeds come after the final ones, so no final run takes part in a choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .lrsearch import Search, ladder
from .protocol import Choice, Design
from .racing import Race
from .run import Record, Task
from .stats import Looks, looks

__all__ = ["FINAL_WEIGHT", "FIRST_SEEDS", "SEED_STEP", "Plan", "Policy", "Round"]

FIRST_SEEDS = 3    # seeds every schedule starts the race with
SEED_STEP = 2      # seeds added per round of the race
FINAL_WEIGHT = 0.8  # the share of alpha spent at the last look (the rest is shared by the interim looks)
MAX_LR = 1e6


@dataclass(frozen=True)
class Round:
    """Runs to train together: ``label`` for progress, ``phase`` (``"tune"`` or ``"final"``), the tasks."""

    label: str
    phase: str
    tasks: list[Task]


@dataclass
class Plan:
    """What the records say: each schedule's lr choice, its final runs (seed order), the looks, the epochs
    the rounds cost, and whether the policy is done."""

    choices: dict[str, Choice] = field(default_factory=dict)
    finals: dict[str, list[Task]] = field(default_factory=dict)
    looks: Looks = field(default_factory=lambda: looks(1))
    spent: int = 0
    done: bool = False
    edges: dict[str, bool] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)  # every run of the rounds so far, in order


def _finished(records: Mapping[str, Record], tasks: list[Task]) -> bool:
    return all(t.key in records for t in tasks)


class Policy:
    """The protocol ``design.protocol`` (``"adaptive"`` or ``"full"``) over ``design`` (module doc)."""

    def __init__(self, design: Design, budget: int | None = None) -> None:
        self.design, self.budget = design, budget
        d = design
        n = len(d.seeds)
        self.looks = looks(n) if d.protocol == "full" else looks(n, FIRST_SEEDS, SEED_STEP, FINAL_WEIGHT)
        self.search = Search.within(d.lrs, d.protocol, top=MAX_LR)
        self.race = Race(self.looks)

    # ------------------------------------------------------------ cost
    def full_cost(self) -> tuple[int, int]:
        """(runs, epochs) of the full protocol on this design."""
        d = self.design
        runs = len(d.candidates) * (len(d.lrs) * len(d.tune_seeds) + len(d.seeds))
        return runs, runs * d.epochs

    def minimum(self) -> int:
        """The epochs of the smallest job this policy can run: the first lr-search round and the first look."""
        d = self.design
        first = len(self.search.first()) * len(d.tune_seeds) + self.looks.sizes[0]
        return len(d.candidates) * first * d.epochs

    def _fits(self, spent: int, tasks: list[Task], reserve: int = 0) -> bool:
        return self.budget is None or spent + len(tasks) * self.design.epochs + reserve <= self.budget

    # ---------------------------------------------------------- replay
    def next(self, records: Mapping[str, Record]) -> Round | None:
        """The first round with a run not yet finished, or None when the job is complete."""
        for r in self._replay(records, Plan()):
            if not _finished(records, r.tasks):
                return r
        return None

    def plan(self, records: Mapping[str, Record]) -> Plan:
        """The choices, final runs and cost the records give (complete when ``plan.done``)."""
        plan = Plan(looks=self.looks)
        for r in self._replay(records, plan):
            if not _finished(records, r.tasks):
                return plan
        plan.done = True
        return plan

    def _replay(self, records: Mapping[str, Record], plan: Plan) -> Iterator[Round]:
        d = self.design
        reserve = len(d.candidates) * self.looks.sizes[0] * d.epochs
        points: dict[str, dict[int, float | None]] = {c.name: {} for c in d.candidates}
        notes: dict[str, dict[int, dict]] = {c.name: {} for c in d.candidates}
        for k in range(1, 1000):
            want = {c.name: self.search.next(points[c.name]) for c in d.candidates}
            tasks = [d.task(c, ladder(d.lrs, i), s, "tune") for s in d.tune_seeds for c in d.candidates
                     for i in want[c.name]]  # seed by seed: a pruned lr's later seeds need not start
            if not tasks or (k > 1 and not self._fits(plan.spent, tasks, reserve)):
                break
            plan.tasks += tasks
            yield Round(f"lr search {k}" if d.protocol == "adaptive" else "tuning", "tune", tasks)
            plan.spent += _epochs(records, tasks)
            for c in d.candidates:
                for i in want[c.name]:
                    recs = [records[d.task(c, ladder(d.lrs, i), s, "tune").key] for s in d.tune_seeds]
                    notes[c.name][i] = _point(recs)
                    v = notes[c.name][i]["val"]
                    points[c.name][i] = None if v is None else (v if d.mode == "max" else -v)
        plan.choices = {c.name: self._choice(points[c.name], notes[c.name]) for c in d.candidates}
        plan.edges = {c.name: self.search.at_edge(points[c.name]) for c in d.candidates}
        yield from self._race(records, plan)

    def _choice(self, pts: dict[int, float | None], notes: dict[int, dict]) -> Choice:
        tuning = [{"lr": ladder(self.design.lrs, i), **notes[i]} for i in sorted(pts)]
        best = self.search.choice(pts)
        if best is not None:
            return Choice(ladder(self.design.lrs, best), tuning, "chosen")
        statuses = {t["status"] for t in tuning}
        return Choice(None, tuning, next((s for s in ("pruned", "failed", "diverged") if s in statuses), "missing"))

    def _race(self, records: Mapping[str, Record], plan: Plan) -> Iterator[Round]:
        d = self.design
        lrs = {c.name: lr for c in d.candidates if (lr := plan.choices[c.name].lr) is not None}
        chosen = [c for c in d.candidates if c.name in lrs]
        runs: dict[str, list[Task]] = {c.name: [] for c in chosen}
        plan.finals = runs
        race = self.race
        sign = 1.0 if d.mode == "max" else -1.0
        for k in range(1, len(d.seeds) + 2):
            racing = [c for c in chosen if _clean(records, runs[c.name])]  # a failed or diverged run ends it
            values = [[sign * records[t.key].test for t in runs[c.name]] for c in racing]
            targets = race.targets(values) if len(racing) > 1 or k == 1 else [len(v) for v in values]
            tasks = [d.task(c, lrs[c.name], s, "final") for c, n in zip(racing, targets)
                     for s in d.seeds[len(runs[c.name]):n]]
            if not tasks or (k > 1 and not self._fits(plan.spent, tasks)):
                return
            plan.tasks += tasks
            yield Round("final seeds" if d.protocol == "full" else f"seeds, round {k}", "final", tasks)
            plan.spent += _epochs(records, tasks)
            for t in tasks:
                runs[t.name].append(t)


def _epochs(records: Mapping[str, Record], tasks: list[Task]) -> int:
    return sum(len(records[t.key].history) for t in tasks if t.key in records)


def _clean(records: Mapping[str, Record], tasks: list[Task]) -> bool:
    """Every run finished with a finite test metric."""
    return all(records[t.key].status == "done" and math.isfinite(records[t.key].test) for t in tasks)


def _point(recs: list[Record]) -> dict:
    """One tried lr: ``val`` (the mean last validation metric over the tuning seeds; None unless every run is
    done with a finite one), ``status`` (done, pruned, failed or diverged) and the per-seed values."""
    per_seed = [r.vals[-1] if r.vals and math.isfinite(r.vals[-1]) else None for r in recs]
    statuses = {r.status for r in recs}
    status = next((s for s in ("failed", "pruned") if s in statuses), "done")
    if status == "done" and None in per_seed:
        status = "diverged"
    val = math.fsum(per_seed) / len(per_seed) if status == "done" else None  # type: ignore[arg-type]
    return {"val": val, "status": status, "seeds": per_seed}
