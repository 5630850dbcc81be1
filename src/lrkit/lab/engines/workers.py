"""``engine="local"`` with ``workers=N``: N local worker processes (loky), pinned to one BLAS thread each.

The pool is started once per job and reused for every round; idle workers
exit after :data:`IDLE` seconds, so none is left behind if the job is killed.
Reports travel through files (:mod:`.live`); a dying worker is handled by
:class:`~.retry.Retries`.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from ..run import Record, Task
from .base import Monitor, thread_env
from .live import Live, work
from .retry import Retries

__all__ = ["IDLE", "WorkerEngine"]

IDLE = 30  # seconds before an idle worker process exits
GRACE = 30  # seconds past run_timeout before a run stuck outside Python has its worker stopped


class WorkerEngine:
    """Runs in ``workers`` local processes (loky), each pinned to ``threads`` BLAS threads."""

    name = "local"

    def __init__(self, train_ref: tuple[str, Any], workers: int, *, out: str | None, threads: int = 1,
                 retries: int = 2, timeout: float | None = None) -> None:
        self.train_ref, self.workers, self.threads, self.retries = train_ref, workers, threads, retries
        self.timeout = timeout
        self.tmp = tempfile.mkdtemp(prefix="lrkit-live-") if out is None else None
        folder = self.tmp or os.path.join(str(out), "runs", ".live")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        self.live = Live(folder)
        self.executor: Any = None

    def _pool(self) -> Any:
        if self.executor is None:
            from loky import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(max_workers=self.workers, env=thread_env(self.threads),
                                                timeout=IDLE)
        return self.executor

    def _submit(self, task: Task) -> Any:
        self.live.reset(task)
        return self._pool().submit(work, self.train_ref, task, self.live.folder, os.getpid(), self.timeout)

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None:
        """Train ``tasks`` on the workers; a worker that dies is blamed as :mod:`.retry` says."""
        from loky.process_executor import BrokenProcessPool

        book = Retries(tasks, self.retries)
        pending: dict = {}
        try:
            while book.waiting or pending:
                if not pending:
                    pending = {self._submit(t): t for t in book.take()}
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                self._poll(list(pending.values()), monitor)
                broken = []
                for fut in done:
                    task = pending.pop(fut)
                    try:
                        rec = fut.result()
                    except BrokenProcessPool:
                        broken.append(task)
                        continue
                    self._poll([task], monitor)
                    rec.attempts = book.attempts[task.key]
                    on_record(rec)
                hung = self._hung(list(pending.values()))
                if hung is not None:  # it ignored its own deadline (stuck outside Python): stop its worker
                    self.close_pool()
                    others = [t for t in pending.values() if t is not hung]
                    pending = {}
                    begun = {t.key for t in others if self.live.started(t)}
                    on_record(book.timed_out(hung, others, begun, self.timeout or 0.0))
                    continue
                if broken:  # stop the old pool first: a worker may have taken a run after the break
                    self.close_pool()
                    in_flight = broken
                    for fut, task in pending.items():  # a run that ended just before the break keeps its record
                        rec = fut.result() if fut.done() and fut.exception() is None else None
                        if rec is None:
                            in_flight.append(task)
                        else:
                            rec.attempts = book.attempts[task.key]
                            on_record(rec)
                    pending = {}
                    for rec in book.died(in_flight, {t.key for t in in_flight if self.live.started(t)}):
                        on_record(rec)
        except BaseException:
            self.close(kill=True)
            raise

    def _hung(self, tasks: list[Task]) -> Task | None:
        """A run past its deadline and a grace of :data:`GRACE` seconds (its own alarm did not stop it)."""
        if self.timeout is None:
            return None
        now = time.time()
        for t in tasks:
            began = self.live.started_at(t)
            if began is not None and now - began > self.timeout + GRACE:
                return t
        return None

    def _poll(self, tasks: list[Task], monitor: Monitor) -> None:
        for task in tasks:
            for index, entry in self.live.reports(task):
                if monitor.stop_now(task, index, entry):
                    self.live.stop(task)

    def close_pool(self, *, kill: bool = True, wait: bool = True) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=wait, kill_workers=kill)
            self.executor = None

    def close(self, kill: bool = False) -> None:
        self.close_pool(kill=kill, wait=not kill)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
