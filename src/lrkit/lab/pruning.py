"""``prune="clearly-worse"``: stop every seed of a hopeless lr of a schedule together, during the lr search.

A per-run pruner (ASHA, a median rule) stops some seeds of a schedule and not
others, which breaks the pairing the choice relies on. This rule decides per
**(schedule, lr)**, on its **mean** over the seeds that have reported, against
the **other lrs of the same schedule** (its *pool*) **on the same seeds**, and
stops all of its seeds at once. It only chooses between the lrs of a schedule:
the schedule's best lr is never pruned, so no schedule leaves the comparison
by pruning, and final runs (the test metric) are never pruned.

The rule (fixed before any run; ``val`` oriented so that higher is better,
i.e. negated under ``mode="min"``):

- ``m_c(n)``: the mean ``val`` of (schedule, lr) ``c`` at its ``n``-th report,
  over the seeds ``S`` of ``c`` that have made it; ``B(n)``: the best ``m_d(n)``
  over the lrs ``d`` of the same schedule not pruned that have reports ``1`` and ``n``
  on every seed of ``S`` (``c`` included);
- a **grace period**: no decision before the first report after half the run
  (``n > epochs / 2``), none at the last report (``n = epochs``: nothing is left to save);
- ``c`` is **clearly worse** at report ``n`` when it is behind the best by
  more than the best's whole progress since the first report:
  ``B(n) - m_c(n) > |B(n) - B(1)| > 0``. Equivalently (when the best has
  improved), ``c`` is worse at report ``n`` than the best was after one epoch;
- a mean that is NaN or infinite (a diverged seed) is clearly worse at any
  report before the last, grace or not.

Decisions are made online, as reports arrive: with engines that run
(schedule, lr) one after another, a (schedule, lr) is only compared with those
that have reported by then, so which ones are stopped can depend on the order
the runs happen to run in. A pruned (schedule, lr) is never chosen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

__all__ = ["RULES", "Pruner"]

RULES = ("clearly-worse", "none")


class Pruner:
    """The clearly-worse rule over the reports of one job (see the module doc).

    ``observe(task, index, val)`` records the ``index``-th report (0-based)
    of a tuning run and returns True when its group (its (schedule, lr)) is
    (now) pruned; the reports of final runs are never pruned.

    >>> from lrkit.lab.run import Task
    >>> runs = {lr: Task(lr, "s", "constant()", None, float(lr), 0, 4, {}, None, "tune|s|" + lr, "tune", "tune|s")
    ...         for lr in ("0.1", "1.0")}
    >>> p = Pruner(mode="max", epochs=4)
    >>> for n, (good, bad) in enumerate([(0.5, 0.2), (0.7, 0.25), (0.8, 0.3)]):
    ...     _ = p.observe(runs["0.1"], n, good), p.observe(runs["1.0"], n, bad)
    >>> sorted(p.pruned)
    ['tune|s|1.0']
    """

    def __init__(self, *, mode: str = "max", epochs: int, enabled: bool = True) -> None:
        self.sign = 1.0 if mode == "max" else -1.0
        self.epochs = int(epochs)
        self.enabled = enabled
        self.pruned: set[str] = set()
        self.obs: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        self.pools: dict[str, set[str]] = defaultdict(set)

    def observe(self, task: Any, index: int, val: float | None) -> bool:
        """Record a report of ``task`` (a :class:`~lrkit.lab.run.Task`); return whether its group is pruned."""
        if task.phase != "tune":
            return False
        group = task.group
        self.pools[task.pool].add(group)
        v = self.sign * float(val) if val is not None else math.nan
        self.obs[group][int(index)][int(task.seed)] = v if math.isfinite(v) else math.nan
        if self.enabled and group not in self.pruned and self._clearly_worse(group, task.pool, int(index)):
            self.pruned.add(group)
        return group in self.pruned

    def _mean(self, group: str, index: int, seeds: frozenset) -> float | None:
        at = self.obs[group].get(index, {})
        if not seeds <= at.keys():
            return None
        return math.fsum(at[s] for s in seeds) / len(seeds)

    def _clearly_worse(self, c: str, pool: str, index: int) -> bool:
        n = index + 1
        if n >= self.epochs:
            return False
        seeds = frozenset(self.obs[c][index])
        mine = self._mean(c, index, seeds)
        if mine is None or math.isnan(mine):
            return mine is not None
        if 2 * n <= self.epochs:
            return False
        now, first = [], []
        for d in self.pools[pool]:
            if d in self.pruned and d != c:
                continue
            a, b = self._mean(d, index, seeds), self._mean(d, 0, seeds)
            if a is not None and b is not None and not math.isnan(a) and not math.isnan(b):
                now.append(a)
                first.append(b)
        if not now:
            return False
        best_now, best_first = max(now), max(first)
        margin = abs(best_now - best_first)
        return margin > 0 and best_now - mine > margin
