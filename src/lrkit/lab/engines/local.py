"""``engine="local"`` without workers: runs train in this process, one after another or as one batch."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..run import Record, Run, Task, execute, outcome
from .base import Direct, Monitor, limited

__all__ = ["BATCH", "LocalEngine"]

BATCH = 256  # runs per batch of a training function with a ``batch`` attribute (the built-in one)


class LocalEngine:
    """Runs in this process; ``train.batch`` (when present and ``batch``) trains many runs at once."""

    name = "local"

    def __init__(self, train: Callable, *, batch: bool = True, threads: int | None = 1,
                 timeout: float | None = None) -> None:
        self.train = train
        self.batch = getattr(train, "batch", None) if batch else None
        self.threads, self.timeout = threads, timeout

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None:
        channel = Direct(monitor)
        if self.batch is None:
            for task in tasks:
                with limited(self.threads):
                    on_record(execute(self.train, task, channel, self.timeout))
            return
        for lo in range(0, len(tasks), BATCH):
            chunk = []
            for t in tasks[lo:lo + BATCH]:
                if channel.stopped(t):
                    on_record(execute(self.train, t, channel))  # a pruned record, nothing trains
                else:
                    chunk.append(t)
            if chunk:
                self._batch(chunk, channel, on_record)

    def _batch(self, chunk: list[Task], channel: Direct, on_record: Callable[[Record], None]) -> None:
        assert self.batch is not None
        runs = [Run(t, channel) for t in chunk]
        started = time.perf_counter()
        try:
            values = list(self.batch(runs))
        except Exception as e:  # noqa: BLE001 - the whole batch failed: every run of it failed
            values = [e] * len(runs)
        share = (time.perf_counter() - started) / len(runs)
        for run, value in zip(runs, values):
            err = value if isinstance(value, BaseException) else None
            rec = outcome(run, None if err else value, started, err)
            rec.wall_time = share
            on_record(rec)

    def close(self) -> None:
        pass
