"""Where the runs of a comparison train: in this process, in local worker processes, or on Ray.

Every engine executes one round of :class:`~lrkit.lab.run.Task` at a time
(:meth:`Engine.run`) and hands back one :class:`~lrkit.lab.run.Record` per run
as it ends (``on_record``, which writes it to ``OUT/runs/`` at once); what to
train next is the policy's decision (:mod:`lrkit.lab.policy`), never the engine's.
The reports of running runs reach the driver's :class:`Monitor` (progress bar
and pruning) through a channel.

- :class:`LocalEngine` (``engine="local"``, no ``workers``): runs train in this
  process; a training function with a ``batch`` attribute (the built-in one)
  trains many runs at once;
- :class:`WorkerEngine` (``workers=N``): N local worker processes (loky), reports
  through small files (:mod:`.live`), retries of runs whose worker died (:mod:`.retry`);
- ``RayEngine`` (``engine="ray"``): Ray tasks (:mod:`.ray`), imported only when used.
"""

from __future__ import annotations

from .base import Engine, Monitor, thread_env
from .local import LocalEngine
from .workers import WorkerEngine

__all__ = ["Engine", "LocalEngine", "Monitor", "WorkerEngine", "thread_env"]
