"""The files through which worker processes talk to the driver (no server): ``OUT/runs/.live/``.

- ``KEY.started``: written when a worker begins a run (a worker that dies now was training it);
- ``KEY.jsonl``: one JSON line per report of the run (``{"index": i, "epoch": ..., "val": ...}``);
- ``stop-GROUP``: the driver pruned the run's (schedule, lr): its next report raises ``Pruned``.

A worker whose parent (the job) is gone stops its run at its next report
(:class:`Orphaned`, which ``train`` cannot swallow).
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..run import Record, Task, execute, fingerprint

__all__ = ["FileChannel", "Live", "Orphaned", "work"]


class Orphaned(BaseException):
    """The job's process is gone: stop this run (a BaseException, so that ``train`` cannot swallow it)."""


class FileChannel:
    """A worker's channel: reports as JSON lines in ``live/KEY.jsonl``; a stop is a file ``live/stop-GROUP``."""

    def __init__(self, live: str, parent: int) -> None:
        self.live, self.parent = live, parent

    def report(self, task: Task, index: int, entry: dict) -> bool:
        if os.getppid() != self.parent:  # the job was killed: do not train on for nobody
            raise Orphaned()
        with open(os.path.join(self.live, f"{task.key}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"index": index, **entry}) + "\n")
        return self.stopped(task)

    def stopped(self, task: Task) -> bool:
        return os.path.exists(os.path.join(self.live, f"stop-{fingerprint(task.group)}"))


def work(train_ref: tuple[str, Any], task: Task, live: str, parent: int, timeout: float | None = None) -> Record | None:
    """In a worker: resolve the training function, run the task (None when the job's process is gone)."""
    open(os.path.join(live, f"{task.key}.started"), "w").close()
    kind, value = train_ref
    if kind == "spec":
        from ..loader import load_train  # a file is imported once per worker process (the loader keeps it)

        train = load_train(value)
    else:
        train = value
    try:
        return execute(train, task, FileChannel(live, parent), timeout)
    except Orphaned:
        return None


class Live:
    """The driver's side of the folder: clear a run's files, read new reports, say who started, send stops."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.offsets: dict[str, int] = {}

    def reset(self, task: Task) -> None:
        """Before a run is submitted (again): forget its earlier files."""
        self.offsets[task.key] = 0
        for suffix in (".jsonl", ".started"):
            path = os.path.join(self.folder, task.key + suffix)
            if os.path.exists(path):
                os.remove(path)

    def started(self, task: Task) -> bool:
        return os.path.exists(os.path.join(self.folder, f"{task.key}.started"))

    def started_at(self, task: Task) -> float | None:
        """When the run began (its ``.started`` file's time), None if it has not."""
        try:
            return os.path.getmtime(os.path.join(self.folder, f"{task.key}.started"))
        except OSError:
            return None

    def reports(self, task: Task) -> list[tuple[int, dict]]:
        """The whole new report lines of ``task`` since the last call (a line being written waits)."""
        path = os.path.join(self.folder, f"{task.key}.jsonl")
        try:
            with open(path, "rb") as f:
                f.seek(self.offsets.get(task.key, 0))
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offsets[task.key] = self.offsets.get(task.key, 0) + end
        out = []
        for line in data[:end].splitlines():
            entry = json.loads(line)
            out.append((entry.pop("index"), entry))
        return out

    def stop(self, task: Task) -> None:
        open(os.path.join(self.folder, f"stop-{fingerprint(task.group)}"), "w").close()
