"""Who to blame when a worker process dies, and what to run next (a pure state machine: no processes).

When a worker dies (a segfault, an out-of-memory kill), the pool breaks and
every run in flight fails with it. Runs that had not started are simply
queued again; runs that had started are **suspects**: each is run again
*alone*, so that a death is then its own. Only its own deaths count against a
run: it is failed when it has died alone ``retries + 1`` times.
``attempts`` is how many times a run was started. When the pool breaks
``retries + 1`` times in a row before any run has started (a worker that dies
while it unpickles the training function, say), every run left is failed with
that reason instead of being queued forever.

>>> from lrkit.lab.run import Task
>>> t = [Task(str(i), "s", "constant()", None, 0.1, i, 1, {}) for i in range(2)]
>>> book = Retries(t, retries=1)
>>> [x.key for x in book.take()]
['0', '1']
>>> book.died([t[0], t[1]], started={"0"})        # run 0 had started: a suspect; run 1 goes back to the queue
[]
>>> [x.key for x in book.take()], [x.key for x in book.take()]   # the suspect alone, then the queue
(['0'], ['1'])
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ..run import Record, Task

__all__ = ["Retries"]


@dataclass
class Retries:
    """The retry bookkeeping of one round of runs on a pool of workers (module doc)."""

    tasks: list[Task]
    retries: int = 2
    queue: list[Task] = field(default_factory=list)
    suspects: list[Task] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    deaths: dict[str, int] = field(default_factory=dict)
    alone: bool = False   # the runs in flight are one run: a death is its own
    blind: int = 0        # pools in a row that broke before any run started

    def __post_init__(self) -> None:
        self.queue = list(self.tasks)
        self.attempts = {t.key: 0 for t in self.tasks}
        self.deaths = {t.key: 0 for t in self.tasks}

    @property
    def waiting(self) -> bool:
        """Runs remain to be submitted."""
        return bool(self.queue or self.suspects)

    def take(self) -> list[Task]:
        """The next runs to submit together (a suspect alone, else the whole queue); counts an attempt each."""
        batch, self.queue = ([self.suspects.pop(0)], self.queue) if self.suspects else (self.queue, [])
        self.alone = len(batch) == 1
        for t in batch:
            self.attempts[t.key] += 1
        return batch

    def died(self, in_flight: list[Task], started: Collection[str]) -> list[Record]:
        """The pool broke while ``in_flight`` ran (``started``: the keys of those that had begun training).

        Returns the records of the runs that are now failed (none, usually); the others are queued again.
        """
        self.blind = 0 if any(t.key in started for t in in_flight) else self.blind + 1
        if self.blind > self.retries:
            why = f"the worker processes died {self.blind} times in a row before any run started"
            for t in in_flight:
                self.attempts[t.key] -= 1  # submitted, never started
            left = [*in_flight, *self.queue, *self.suspects]
            self.queue, self.suspects = [], []
            return [self._failed(t, why) for t in left]
        failed = []
        for t in in_flight:
            if t.key not in started:
                self.attempts[t.key] -= 1
                self.queue.append(t)
                continue
            self.deaths[t.key] += self.alone
            if self.deaths[t.key] <= self.retries:
                self.suspects.append(t)  # run it again alone: then a death is its own
            else:
                failed.append(self._failed(t, "the worker process died"))
        return failed

    def timed_out(self, task: Task, others: list[Task], started: Collection[str], seconds: float) -> Record:
        """``task`` ran past its deadline and its worker was stopped: it fails (no retry, it would hang again);
        the runs in flight beside it (``started``: those that had begun) are queued again."""
        for t in others:
            self.attempts[t.key] -= t.key not in started
            self.queue.append(t)
        return self._failed(task, f"RunTimeout: the run passed run_timeout={seconds:g} s and its worker was stopped")

    def _failed(self, t: Task, why: str) -> Record:
        rec = Record(t, "failed", error=why)
        rec.attempts = self.attempts[t.key]
        return rec
