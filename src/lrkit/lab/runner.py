"""Runs a comparison's rounds on one engine: the policy says what to train, the store keeps what finished.

After the first round (the first evidence) the guards of :mod:`lrkit.lab.guards` run on its runs, and the
cost of the rest of the job is estimated from the time that round took. Every finished run is written to
``OUT/runs/`` at once, so a job killed at any moment resumes where it stopped.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from . import guards
from .engines import Monitor
from .policy import Plan, Policy, Round
from .run import Record
from .store import Store

__all__ = ["Runner", "shape"]


class Runner:
    """The rounds of one job on one engine (module doc); ``warnings`` collects what the user must read."""

    def __init__(self, policy: Policy, store: Store, engine: Any, monitor: Monitor, *, resume: bool,
                 progress: bool, confirmed: bool) -> None:
        self.policy, self.store, self.engine, self.monitor = policy, store, engine, monitor
        self.progress, self.confirmed = progress, confirmed
        loaded = store.load() if resume else {}
        self.earlier = {k: r for k, r in loaded.items() if r.status in ("done", "pruned")}  # failed: run again
        self.records: dict[str, Record] = dict(self.earlier)
        self.warnings: list[str] = []
        self.fed: set[str] = set()
        self.counts = {"runs_trained": 0, "runs_resumed": 0, "epochs_trained": 0}
        self.rounds = 0
        self._stale(loaded)

    def say(self, text: str) -> None:
        if self.progress:
            print(text, file=sys.stderr)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        print(f"warning: {text.replace('`', '')}", file=sys.stderr)

    def _stale(self, loaded: dict[str, Record]) -> None:
        design = self.policy.design
        code = design.task(design.candidates[0], design.lrs[0], design.seeds[0], "tune").code
        train = design.code.get("train")
        stale = [r for r in loaded.values() if r.task.code and r.task.code != code
                 and r.task.name in {c.name for c in design.candidates} and r.task.epochs == design.epochs]
        if stale:
            self.warn(f"{len(stale)} finished runs in OUT/runs were trained by other code (the files of "
                      f"`{train}` or what they import changed, or its declared version): they are not reused, and "
                      "stay on disk (fresh=True, --fresh, deletes them)")

    def run(self) -> Plan:
        while (r := self.policy.next(self.records)) is not None:
            self.round(r)
        plan = self.policy.plan(self.records)
        self.counts["runs_resumed"] = sum(1 for t in plan.tasks if t.key in self.earlier)
        return plan

    def round(self, r: Round) -> None:
        self._feed()
        todo = [t for t in r.tasks if t.key not in self.records]
        self.say(f"{r.label}: {len(r.tasks)} runs ({shape(r)}), {len(r.tasks) - len(todo)} finished earlier, "
                 f"{len(todo)} to train")
        started = time.perf_counter()
        self.monitor.start(r.label, len(todo) * self.policy.design.epochs)
        self.engine.run(todo, self.monitor, self._finished)
        self.monitor.close()
        self.rounds += 1
        if self.rounds == 1:
            self._first([self.records[t.key] for t in r.tasks], len(todo), time.perf_counter() - started)

    def _first(self, recs: list[Record], trained: int, seconds: float) -> None:
        """The guards on the first round's runs, and the estimate of what is left."""
        design = self.policy.design
        for check in (lambda: guards.direction(recs, design.mode, self.confirmed), lambda: guards.ignored(recs)):
            text = check()
            if text:
                self.warn(text)
        spe = design.steps_per_epoch or next((r.bound_steps for r in recs if r.bound_steps), None)
        if design.steps_per_epoch is None and spe is not None:
            for text in guards.fit({c.name: c.schedule for c in design.candidates}, design.epochs * spe, spe):
                self.warn(text)
        if trained and seconds > 0:
            plan = self.policy.plan(self.records)
            left = max(0, self.policy.full_cost()[1] - plan.spent)
            per = seconds / max(1, sum(len(r.history) for r in recs))
            self.say(f"{trained} runs took {seconds:.0f} s: the rest of the job trains at most {left} epochs, "
                     f"about {_duration(left * per)} at this pace (the adaptive protocol usually stops well before)")

    def _feed(self) -> None:
        """Show the pruner the reports of this job's runs it has not seen (runs of earlier jobs), in order."""
        for t in self.policy.plan(self.records).tasks:
            if t.key in self.fed or t.key not in self.records:
                continue
            rec = self.records[t.key]
            for i, h in enumerate(rec.history):
                self.monitor.pruner.observe(rec.task, i, h.get("val"))
            if rec.status == "pruned":
                self.monitor.pruner.pruned.add(rec.task.group)
            self.fed.add(t.key)

    def _finished(self, record: Record) -> None:
        self.records[record.task.key] = record
        self.fed.add(record.task.key)
        self.store.save(record)
        self.counts["runs_trained"] += 1
        self.counts["epochs_trained"] += len(record.history)
        self.monitor.finished(record)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def shape(r: Round) -> str:
    """``15 schedules x 3 lrs x 1 seed`` (or, when the schedules differ, the total of each)."""
    per: dict[str, set] = {}
    for t in r.tasks:
        per.setdefault(t.name, set()).add(t.lr if r.phase == "tune" else t.seed)
    seeds = sorted({t.seed for t in r.tasks})
    counts = {len(v) for v in per.values()}
    unit = "lr" if r.phase == "tune" else "seed"
    if len(counts) == 1:
        n = counts.pop()
        each = f"x {n} {unit}{'s' if n > 1 else ''}"
    else:
        each = f"{sum(len(v) for v in per.values())} {unit}s in all"
    if r.phase == "tune":
        return f"{len(per)} schedules {each} x {len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    return f"{len(per)} schedules {each}, seeds {seeds[0]}..{seeds[-1]}"
