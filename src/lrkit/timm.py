"""timm adapter: :class:`Scheduler` fills the slot of a timm scheduler in timm's own training loop.

timm's ``train.py`` builds ``lr_scheduler`` with ``create_scheduler_v2`` and then
only calls ``lr_scheduler.step_update(num_updates=..., metric=...)`` after every
optimizer update and ``lr_scheduler.step(epoch + 1, metric)`` after every
epoch (and ``step(start_epoch)`` / ``step_update(start_epoch * updates_per_epoch)``
when it resumes). Put this scheduler in that slot; timm itself is not needed.

>>> import torch, lrkit as lk, lrkit.timm
>>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
>>> lr_scheduler = lrkit.timm.Scheduler(opt, "warmup('1ep') >> cosine('rest')", steps_per_epoch=4, total_steps=12)
>>> lrs = []
>>> for epoch in range(3):
...     for update in range(4):
...         opt.step()
...         lr_scheduler.step_update(num_updates=epoch * 4 + update + 1)
...         lrs.append(round(opt.param_groups[0]["lr"], 4))
...     lr_scheduler.step(epoch + 1, 0.5)   # no plateau: the metric is not used
>>> lrs
[0.025, 0.05, 0.075, 0.1, 0.0962, 0.0854, 0.0691, 0.05, 0.0309, 0.0146, 0.0038, 0.0]
"""

from __future__ import annotations

from typing import Any

from .checks import fail, flag, integer
from .errors import SpecError
from .plateau import Plateau, as_metric
from .torch import Scheduler as TorchScheduler

__all__ = ["Scheduler"]


class Scheduler:
    """An lrkit schedule in the slot of a timm scheduler: ``step_update`` per update, ``step`` per epoch.

    The lr of every param group is ``base * schedule(t) * scale`` (``base``: the
    group's lr when the scheduler was built, ``scale``: the plateau's, 1.0
    without one), where ``t`` is

    * ``t_in_epochs=False`` (default): the update count timm passes to
      ``step_update(num_updates)``; ``step(epoch, metric)`` only feeds the plateau.
    * ``t_in_epochs=True``: the epoch timm passes to ``step(epoch)``; the
      schedule's durations count epochs (``"5ep"`` is 5), ``step_update`` changes
      nothing.

    As in timm, ``step(epoch, metric)`` sets the values for the coming epoch
    (timm calls it with ``epoch + 1`` after epoch ``epoch``) and the metric
    passed to ``step`` feeds the plateau, with torch's ``ReduceLROnPlateau``
    decisions on each group's lr (``eps`` included), averaged over ranks under
    ``torch.distributed``. The metric timm passes to ``step_update`` (the running
    train loss) is ignored, as timm's own plateau scheduler ignores it;
    ``step(epoch)`` without a metric leaves the plateau alone (timm's resume call),
    and without a plateau the metric is not used (timm's loop always passes one).

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        schedule: a ``Schedule``, its text form, or a dict from param name to
            schedule (as in :class:`lrkit.torch.Scheduler`).
        plateau: an ``lk.Plateau`` fed by ``step(epoch, metric)``.
        steps_per_epoch: updates per epoch (timm's ``updates_per_epoch``), binds
            ``"5ep"`` when ``t`` counts updates; leave it None with ``t_in_epochs=True``.
        total_steps: the run's length in units of ``t`` (updates, or epochs with
            ``t_in_epochs=True``), binds ``"10%"`` and ``"rest"``.
        t_in_epochs: whether the schedule's ``t`` counts epochs (else updates).

    ``state_dict()`` / ``load_state_dict()`` hold the last ``t``, the bases, the
    schedules' text, the plateau state and ``t_in_epochs``; a resumed run
    continues bit for bit. ``scheduler`` is the :class:`lrkit.torch.Scheduler`
    doing the work, through its public methods (``observe``, ``set_step``).
    """

    def __init__(self, optimizer: Any, schedule: Any, *, plateau: Plateau | None = None,
                 steps_per_epoch: float | None = None, total_steps: float | None = None,
                 t_in_epochs: bool = False) -> None:
        self.t_in_epochs = flag("Scheduler", "t_in_epochs", t_in_epochs)
        if t_in_epochs and steps_per_epoch is not None:
            raise fail("Scheduler", "steps_per_epoch", "None with t_in_epochs=True (t counts epochs, so '2ep' "
                       "is t = 2; total_steps is then the number of epochs)", steps_per_epoch)
        self.scheduler = TorchScheduler(optimizer, schedule, plateau=plateau, total_steps=total_steps,
                                        steps_per_epoch=1 if t_in_epochs else steps_per_epoch)
        self.optimizer = optimizer

    @property
    def schedule(self) -> Any:
        """The bound schedule (or dict of them), as in :class:`lrkit.torch.Scheduler`."""
        return self.scheduler.schedule

    @property
    def plateau(self) -> Plateau | None:
        return self.scheduler.plateau

    def step(self, epoch: int, metric: Any = None) -> None:
        """After an epoch (timm passes ``epoch + 1``): feed ``metric`` to the plateau, then set the values.

        With ``t_in_epochs=True`` the values become those of ``t = epoch``; else
        ``t`` stays the last ``num_updates`` and only the plateau scale can change.
        """
        epoch = integer("Scheduler.step", "epoch", epoch, ge=0)
        sched = self.scheduler
        if metric is not None and sched.plateau is not None:
            sched.observe(as_metric(metric, "Scheduler.step"))
        sched.set_step(epoch if self.t_in_epochs else sched.last_epoch)

    def step_update(self, num_updates: int, metric: Any = None) -> None:
        """After an optimizer update: with ``t`` counting updates, the values become those of ``t = num_updates``.

        ``metric`` is accepted and ignored (timm passes the running train loss here).
        """
        num_updates = integer("Scheduler.step_update", "num_updates", num_updates, ge=0)
        if not self.t_in_epochs:
            self.scheduler.set_step(num_updates)

    def state_dict(self) -> dict:
        """:meth:`lrkit.torch.Scheduler.state_dict` plus ``t_in_epochs`` (python values only)."""
        return {**self.scheduler.state_dict(), "t_in_epochs": self.t_in_epochs}

    def load_state_dict(self, state_dict: dict, *, new_schedule: bool = False) -> None:
        """Resume from :meth:`state_dict`; see :meth:`lrkit.torch.Scheduler.load_state_dict`."""
        if not isinstance(state_dict, dict) or "t_in_epochs" not in state_dict:
            raise fail("Scheduler.load_state_dict", "state_dict",
                       "a dict from lrkit.timm.Scheduler.state_dict() (with the key t_in_epochs)", state_dict)
        saved = flag("Scheduler.load_state_dict", "t_in_epochs", state_dict["t_in_epochs"])
        if saved != self.t_in_epochs:
            raise SpecError(f"Scheduler.load_state_dict(): the state was saved with t_in_epochs={saved}, "
                            f"but this scheduler has t_in_epochs={self.t_in_epochs}: its step counts "
                            f"{'epochs' if saved else 'updates'}")
        rest = {k: v for k, v in state_dict.items() if k != "t_in_epochs"}
        self.scheduler.load_state_dict(rest, new_schedule=new_schedule)

    def __repr__(self) -> str:
        inner = repr(self.scheduler).removeprefix("Scheduler(")
        return f"lrkit.timm.Scheduler({inner[:-1]}, t_in_epochs={self.t_in_epochs})"
