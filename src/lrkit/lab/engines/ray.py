"""``engine="ray"``: the runs of a comparison as Ray tasks, on a cluster or a local Ray.

- **Where**: ``address`` (or the ``RAY_ADDRESS`` environment variable) names
  a running cluster; with neither, ``ray.init()`` starts a local Ray (or joins
  the one already started on this machine). A Ray this job started is shut
  down when it ends; one it joined is left running.
- **Usage statistics** are off: ``RAY_USAGE_STATS_ENABLED=0`` is set while
  ``ray.init`` runs (and the Ray processes it starts inherit it), unless the
  caller set the variable; the caller's environment is restored right after.
- **One Ray task per run** (not a new actor per trial, which costs far more
  per run), with per-run ``resources``
  (``{"cpu": 1, "gpu": 1}``; other names are Ray custom resources). BLAS and
  OpenMP in the workers are pinned to the run's CPUs, and in the driver to
  one thread while it waits.
- **Retries**: a run whose worker process or node dies is run again by Ray,
  up to ``retries`` times; an exception raised by ``train`` is not retried
  (it would raise again): the run is recorded as failed.
- **Live progress and pruning**: runs report to one small coordinator actor
  (no CPU reserved), which the driver polls.
- The training function is shipped by value when it comes from a file
  (``--train path/file.py:func``), so the file need not exist on the cluster;
  ``module:func`` must be importable on the workers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import MissingDependencyError
from ..run import Record, Task, execute
from .base import Monitor, thread_env

__all__ = ["RayEngine"]


@contextlib.contextmanager
def _usage_stats_off() -> Iterator[None]:
    key = "RAY_USAGE_STATS_ENABLED"
    before = os.environ.get(key)
    if before is None:
        os.environ[key] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)


@contextlib.contextmanager
def _driver_threads() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


class _Coordinator:
    """The actor every run reports to: it queues reports and answers "stop?"."""

    def __init__(self) -> None:
        self.queue: list = []
        self.stopped: set = set()

    def report(self, key: str, group: str, index: int, entry: dict) -> bool:
        self.queue.append((key, index, entry))
        return group in self.stopped

    def is_stopped(self, group: str) -> bool:
        return group in self.stopped

    def drain(self) -> list:
        out, self.queue = self.queue, []
        return out

    def stop(self, groups: list) -> None:
        self.stopped.update(groups)


class _Channel:
    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def report(self, task: Task, index: int, entry: dict) -> bool:
        import ray

        return ray.get(self.actor.report.remote(task.key, task.group, index, entry))

    def stopped(self, task: Task) -> bool:
        import ray

        return ray.get(self.actor.is_stopped.remote(task.group))


def _work(train: Callable, task: Task, actor: Any, timeout: float | None = None) -> Record:
    return execute(train, task, _Channel(actor), timeout)


def _ray_options(resources: dict | None, retries: int) -> dict:
    res = dict(resources or {"cpu": 1})
    cpus = res.pop("cpu", 1)
    opts: dict[str, Any] = {"num_cpus": cpus, "max_retries": retries,
                            "runtime_env": {"env_vars": thread_env(max(1, int(cpus)))}}
    if "gpu" in res:
        opts["num_gpus"] = res.pop("gpu")
    if "memory" in res:
        opts["memory"] = res.pop("memory")
    if res:
        opts["resources"] = res
    return opts


class RayEngine:
    """Runs as Ray tasks (module doc)."""

    name = "ray"

    def __init__(self, train: Callable, *, address: str | None = None, resources: dict | None = None,
                 retries: int = 2, timeout: float | None = None) -> None:
        self.timeout = timeout
        try:
            import ray
        except ImportError:
            raise MissingDependencyError("ray", "ray") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            import logging

            with _usage_stats_off():
                ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
            self.started = True
        module = getattr(train, "__module__", "") or ""
        if module.startswith("lrkit_user_"):  # loaded from a file: ship it by value
            import sys

            ray.cloudpickle.register_pickle_by_value(sys.modules[module])
        self.train = train
        self.remote = ray.remote(_work).options(**_ray_options(resources, retries))
        self.actor: Any = ray.remote(_Coordinator).options(num_cpus=0).remote()

    def run(self, tasks: list[Task], monitor: Monitor, on_record: Callable[[Record], None]) -> None:
        ray = self.ray
        by_key = {t.key: t for t in tasks}
        train_ref = ray.put(self.train)
        refs = {self.remote.remote(train_ref, t, self.actor, self.timeout): t for t in tasks}
        with _driver_threads():
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.25)
                self._poll(by_key, monitor)
                for ref in ready:
                    task = refs.pop(ref)
                    try:
                        rec = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        rec = Record(task, "failed", error=f"{type(e).__name__}: {str(e).splitlines()[0]}")
                    on_record(rec)
            self._poll(by_key, monitor)

    def _poll(self, by_key: dict, monitor: Monitor) -> None:
        new = []
        for key, index, entry in self.ray.get(self.actor.drain.remote()):
            task = by_key.get(key)
            if task is not None and monitor.stop_now(task, index, entry):
                new.append(task.group)
        if new:
            self.actor.stop.remote(new)

    def close(self, kill: bool = False) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(self.actor)
        if self.started:
            self.ray.shutdown()
            self.started = False
