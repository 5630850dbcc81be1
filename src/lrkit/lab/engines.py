"""Where the runs of a comparison train: in this process, in local worker processes, or on Ray.

Every engine takes the same :class:`~lrkit.lab.run.Task` list and hands back
one :class:`~lrkit.lab.run.Record` per run as it ends (``on_record``, which
writes it to ``OUT/runs/`` at once). The reports of running runs reach the
driver's :class:`Monitor` (progress bar and pruning) through a channel:

- ``local``, no ``workers``: runs train in this process, one after another;
  a training function with a ``batch`` attribute (the built-in one) trains
  many runs at once (one ``torch.func.vmap`` batch of models);
- ``local`` with ``workers=N``: N worker processes (loky: started once per job,
  reused for every run; BLAS/OpenMP pinned to one thread per worker); reports
  travel through small files in ``OUT/runs/.live/`` (no server);
- ``ray``: see :mod:`lrkit.lab.ray_engine`.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from .pruning import Pruner
from .run import Record, Run, Task, execute, fingerprint, outcome

__all__ = ["LocalEngine", "Monitor", "WorkerEngine", "thread_env"]

BATCH = 256  # runs per vmap batch of the built-in training
IDLE = 30  # seconds before an idle local worker process exits


def thread_env(threads: int = 1) -> dict[str, str]:
    """Environment that pins BLAS / OpenMP thread pools of a worker to ``threads`` threads."""
    n = str(threads)
    return {k: n for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


class Monitor:
    """The driver's view of running runs: the progress bar and the pruner."""

    def __init__(self, pruner: Pruner, progress: bool = True) -> None:
        self.pruner = pruner
        self.show = progress
        self.bar: Any = None
        self.stops: set[str] = set()  # the (schedule, lr) groups whose stop was sent to the workers

    def start(self, label: str, total: int) -> None:
        self.close()
        if self.show and total > 0:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is in the lab extra; without it, no bar
                return
            self.bar = tqdm(total=total, desc=label, unit="epoch", file=sys.stderr, mininterval=0.25,
                            dynamic_ncols=True, leave=True)

    def observe(self, task: Task, index: int, entry: dict) -> bool:
        """One report of a run; returns whether its (schedule, lr) is pruned."""
        if self.bar is not None:
            self.bar.update(1)
        return self.pruner.observe(task.group, task.seed, index, entry.get("val"))

    def stop_now(self, task: Task, index: int, entry: dict) -> bool:
        """:meth:`observe` a report from a worker; True the first time its group is pruned: send the stop once."""
        if self.observe(task, index, entry) and task.group not in self.stops:
            self.stops.add(task.group)
            return True
        return False

    def finished(self, record: Record) -> None:
        """A run ended: count its epochs that will never be reported."""
        if self.bar is not None:
            self.bar.update(max(0, record.task.epochs - len(record.history)))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Direct:
    """The channel of runs that train in the driver's process."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def report(self, task: Task, index: int, entry: dict) -> bool:
        return self.monitor.observe(task, index, entry)

    def stopped(self, task: Task) -> bool:
        return task.group in self.monitor.pruner.pruned


class LocalEngine:
    """Runs in this process; ``train.batch`` (when present and ``batch``) trains many at once."""

    name = "local"

    def __init__(self, train: Callable, *, batch: bool = True) -> None:
        self.train = train
        self.batch = getattr(train, "batch", None) if batch else None

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None:
        channel = _Direct(monitor)
        if self.batch is None:
            for task in tasks:
                on_record(execute(self.train, task, channel))
            return
        for lo in range(0, len(tasks), BATCH):
            chunk = []
            for t in tasks[lo:lo + BATCH]:
                if channel.stopped(t):
                    on_record(execute(self.train, t, channel))  # a pruned record, nothing trains
                else:
                    chunk.append(t)
            if not chunk:
                continue
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


# --------------------------------------------------------- worker processes
class _Orphaned(BaseException):
    """The job's process is gone: stop this run (a BaseException, so that ``train`` cannot swallow it)."""


class _FileChannel:
    """Reports as JSON lines in ``live/KEY.jsonl``; a stop is a file ``live/stop-GROUP``."""

    def __init__(self, live: str, parent: int) -> None:
        self.live, self.parent = live, parent

    def report(self, task: Task, index: int, entry: dict) -> bool:
        if os.getppid() != self.parent:  # the job was killed: do not train on for nobody
            raise _Orphaned()
        with open(os.path.join(self.live, f"{task.key}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"index": index, **entry}) + "\n")
        return self.stopped(task)

    def stopped(self, task: Task) -> bool:
        return os.path.exists(os.path.join(self.live, f"stop-{fingerprint(task.group)}"))


def _work(train_ref: tuple[str, Any], task: Task, live: str, parent: int) -> Record | None:
    """In a worker: resolve the training function, run the task (None when the job's process is gone)."""
    open(os.path.join(live, f"{task.key}.started"), "w").close()  # a worker that dies now was training this
    kind, value = train_ref
    if kind == "spec":
        from .loader import load_train  # a file is imported once per worker process (the loader keeps it)

        train = load_train(value)
    else:
        train = value
    try:
        return execute(train, task, _FileChannel(live, parent))
    except _Orphaned:
        return None


class WorkerEngine:
    """Runs in ``workers`` local processes (loky), each pinned to ``threads`` BLAS threads."""

    name = "local"

    def __init__(self, train_ref: tuple[str, Any], workers: int, *, out: str | None, threads: int = 1,
                 retries: int = 2) -> None:
        self.train_ref, self.workers, self.threads, self.retries = train_ref, workers, threads, retries
        self.tmp = tempfile.mkdtemp(prefix="lrkit-live-") if out is None else None
        self.live = self.tmp or os.path.join(str(out), "runs", ".live")
        shutil.rmtree(self.live, ignore_errors=True)
        os.makedirs(self.live)
        self.executor = None

    def _pool(self):
        if self.executor is None:
            from loky import ProcessPoolExecutor

            # idle workers exit after IDLE seconds: none is left behind if this process is killed
            self.executor = ProcessPoolExecutor(max_workers=self.workers, env=thread_env(self.threads), timeout=IDLE)
        return self.executor

    def _submit(self, task: Task):
        for suffix in (".jsonl", ".started"):
            path = os.path.join(self.live, task.key + suffix)
            if os.path.exists(path):
                os.remove(path)
        return self._pool().submit(_work, self.train_ref, task, self.live, os.getpid())

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None:
        """Train ``tasks`` on the workers; a worker that dies is blamed on the run it was training.

        When a worker process dies (a segfault, an out-of-memory kill), loky fails every run in
        flight. Runs that had not started are simply queued again; runs that had started are
        suspects: each is run again *alone*, so a death is then its own. Only its own deaths count
        against a run: it is failed when it has died alone ``retries + 1`` times. ``attempts`` on a
        record is how many times the run was started. When the pool breaks ``retries + 1`` times in
        a row before any run has started (a worker that dies while it unpickles the training
        function, say), every run left is failed with that reason instead of being queued forever.
        """
        from loky.process_executor import BrokenProcessPool

        offsets = {t.key: 0 for t in tasks}
        attempts = {t.key: 0 for t in tasks}
        deaths = {t.key: 0 for t in tasks}  # deaths while alone: the run's own
        queue: list[Task] = list(tasks)
        suspects: list[Task] = []
        pending: dict = {}
        alone = False  # the runs in flight are one run: a dying worker is its own
        blind = 0      # pools in a row that broke before any run started
        try:
            while queue or suspects or pending:
                if not pending:
                    batch, queue = ([suspects.pop(0)], queue) if suspects else (queue, [])
                    alone = len(batch) == 1
                    for t in batch:
                        attempts[t.key] += 1
                        offsets[t.key] = 0
                        pending[self._submit(t)] = t
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                self._poll(pending.values(), offsets, monitor)
                for fut in done:
                    task = pending.pop(fut)
                    try:
                        rec = fut.result()
                    except BrokenProcessPool as e:  # a worker died: a new pool, and the run again
                        if self.executor is not None:  # the first of this pool's runs to report it
                            # first stop the old pool's other workers: one may have taken a run off
                            # the queue after the break, and would train it beside its next attempt
                            self.close_pool()
                            blind = 0 if any(map(self._started, [task, *pending.values()])) else blind + 1
                            if blind > self.retries:
                                why = (f"the worker processes died {blind} times in a row before any run "
                                       f"started: {e}")
                                for t in [task, *pending.values()]:  # submitted, never started
                                    attempts[t.key] -= 1
                                for t in [task, *pending.values(), *queue, *suspects]:
                                    rec = Record(t, "failed", error=why)
                                    rec.attempts = attempts[t.key]
                                    on_record(rec)
                                return
                        started = self._started(task)
                        if not started:
                            attempts[task.key] -= 1
                            queue.append(task)
                            continue
                        deaths[task.key] += alone
                        if deaths[task.key] <= self.retries:
                            suspects.append(task)  # run it again alone: then a death is its own
                            continue
                        rec = Record(task, "failed", error=f"the worker process died: {e}")
                    self._poll([task], offsets, monitor)
                    rec.attempts = attempts[task.key]
                    on_record(rec)
        except BaseException:
            self.close(kill=True)
            raise

    def _started(self, task: Task) -> bool:
        return os.path.exists(os.path.join(self.live, f"{task.key}.started"))

    def _poll(self, tasks, offsets: dict, monitor: Monitor) -> None:
        for task in list(tasks):
            path = os.path.join(self.live, f"{task.key}.jsonl")
            try:
                with open(path, "rb") as f:
                    f.seek(offsets[task.key])
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # whole lines only: a line being written waits for the next poll
            offsets[task.key] += end
            for line in data[:end].splitlines():
                entry = json.loads(line)
                index = entry.pop("index")
                if monitor.stop_now(task, index, entry):
                    open(os.path.join(self.live, f"stop-{fingerprint(task.group)}"), "w").close()

    def close_pool(self, *, kill: bool = True, wait: bool = True) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=wait, kill_workers=kill)
            self.executor = None

    def close(self, kill: bool = False) -> None:
        self.close_pool(kill=kill, wait=not kill)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

