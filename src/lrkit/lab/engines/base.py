"""What every engine shares: the :class:`Engine` interface, the driver's :class:`Monitor`, thread pinning."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..pruning import Pruner
from ..run import Record, Task

__all__ = ["Channel", "Engine", "Monitor", "limited", "thread_env"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


def thread_env(threads: int = 1) -> dict[str, str]:
    """Environment that pins the BLAS / OpenMP thread pools of a worker process to ``threads`` threads.

    >>> thread_env(2)["OMP_NUM_THREADS"]
    '2'
    """
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


@contextlib.contextmanager
def limited(threads: int | None) -> Iterator[None]:
    """Inside the block, torch (when the process has imported it) and the BLAS / OpenMP pools run on ``threads``
    threads (None: as they are); the caller's settings come back after. A small model on a shared CPU runs
    many times faster on one thread than on the default of one per core."""
    if threads is None:
        yield
        return
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pools: Any = contextlib.nullcontext()
    else:
        pools = threadpool_limits(limits=threads)
    try:
        if torch is not None:
            torch.set_num_threads(threads)
        with pools:
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)


class Engine(Protocol):
    """Executes a round of runs; ``on_record`` receives each run's record as it ends."""

    name: str

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None: ...

    def close(self) -> None: ...


class Channel(Protocol):
    """How a run's reports reach the driver: ``report`` returns True when the run's group is pruned."""

    def report(self, task: Task, index: int, entry: dict) -> bool: ...

    def stopped(self, task: Task) -> bool: ...


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
        return self.pruner.observe(task, index, entry.get("val"))

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


class Direct:
    """The channel of runs that train in the driver's process."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def report(self, task: Task, index: int, entry: dict) -> bool:
        return self.monitor.observe(task, index, entry)

    def stopped(self, task: Task) -> bool:
        return task.group in self.monitor.pruner.pruned
