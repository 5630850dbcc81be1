"""Snapshot ensembles (Huang et al. 2017): one training run, several models.

Train under a restart schedule, ``restarts(cosine(T), cycles=K)``: each cycle
anneals the lr to a minimum, then a restart sends the model off again. Keep a
copy of the model at the end of every cycle (where the lr is lowest) and
predict with the average of their softmax outputs:

    p(y | x) = 1/K sum_k softmax(f_k(x))

The snapshots sit in different minima, so they err differently, and the
average is better calibrated (lower validation loss) than any one of them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from collections.abc import Sequence as Seq

from ..checks import fail, fmt
from ..errors import MissingDependencyError, SpecError
from ..schedules import Schedule, restarts

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingDependencyError("torch", "torch") from exc

__all__ = ["SnapshotEnsemble", "Snapshots", "cycle_ends"]


def cycle_ends(schedule: Schedule, total_steps: float | None = None) -> list[int]:
    """After how many optimizer updates each restart cycle of ``schedule`` ends.

    ``schedule`` is ``restarts(inner, period_mult, ...)``, possibly after a
    finite prefix (``warmup(100) >> restarts(...)``). Cycle ``k`` of a
    restart schedule with cycle length ``d`` ends at
    ``d (m**(k+1) - 1) / (m - 1)`` (``d (k+1)`` when ``m = 1``) after its
    start; the snapshot is due once that many updates (rounded up) are taken.
    Endless restarts need ``total_steps`` (cycles ending later are left out).

    >>> import lrkit as lk
    >>> cycle_ends(lk.restarts(lk.cosine(100), cycles=3))
    [100, 200, 300]
    >>> cycle_ends(lk.warmup(10) >> lk.restarts(lk.cosine(10), period_mult=2), total_steps=80)
    [20, 40, 80]
    """
    if not isinstance(schedule, Schedule):
        raise fail("cycle_ends", "schedule", "a restarts(...) schedule", schedule)
    if not schedule.is_bound:
        if total_steps is None:
            raise schedule._unbound_error()
        schedule = schedule.bind(total_steps=total_steps)
    offset, tail = schedule.segments()[-1]
    if not isinstance(tail, restarts):
        raise fail("cycle_ends", "schedule", "restarts(...), alone or as the last phase of >>", schedule)
    if tail.cycles is None and total_steps is None:
        raise SpecError(f"cycle_ends(): {schedule} restarts without end; pass total_steps=... "
                        "(or give restarts(..., cycles=K))")
    until = None if total_steps is None else total_steps - offset + 1e-9
    return [int(math.ceil(offset + end - 1e-9)) for end in tail.cycle_ends(until=until)]


class SnapshotEnsemble(nn.Module):
    """The average of the softmax outputs of ``models``: ``forward(x)`` returns
    probabilities ``1/K sum_k softmax(model_k(x), dim=-1)``.

    >>> import torch
    >>> a, b = torch.nn.Linear(2, 3), torch.nn.Linear(2, 3)
    >>> ens = SnapshotEnsemble([a, b])
    >>> x = torch.randn(4, 2)
    >>> torch.allclose(ens(x), (a(x).softmax(-1) + b(x).softmax(-1)) / 2)
    True
    """

    def __init__(self, models: Iterable[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(models)
        if len(self.members) == 0:
            raise SpecError("SnapshotEnsemble(): models must hold at least one model; got none")

    def forward(self, x):
        probs = [m(x).softmax(dim=-1) for m in self.members]
        return torch.stack(probs).mean(dim=0)

    def log_proba(self, x):
        """``log`` of :meth:`forward`, for ``torch.nn.functional.nll_loss``."""
        return self.forward(x).clamp_min(torch.finfo(torch.float32).tiny).log()


class Snapshots:
    """Keep a copy of ``model`` at the end of every restart cycle.

    Call :meth:`step` once after every optimizer update; when the update
    count reaches a cycle end (``cycle_ends(schedule)``, or the explicit
    counts ``at``), a copy of the model in eval mode is kept (on the CPU by
    default). :meth:`ensemble` averages the last ``n`` of them.

    >>> import torch, lrkit as lk
    >>> from lrkit.torch import Scheduler
    >>> model = torch.nn.Linear(4, 3)
    >>> schedule = lk.restarts(lk.cosine(5), cycles=3)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> sched, snaps = Scheduler(opt, schedule), Snapshots(model, schedule)
    >>> for _ in range(15):
    ...     model(torch.randn(8, 4)).sum().backward(); opt.step(); opt.zero_grad()
    ...     sched.step(); _ = snaps.step()
    >>> snaps.taken, len(snaps.ensemble().members)
    ([5, 10, 15], 3)
    """

    def __init__(self, model: nn.Module, schedule: Schedule | None = None, *, at: Seq[int] | None = None,
                 total_steps: float | None = None, device: str | torch.device | None = "cpu") -> None:
        if not isinstance(model, nn.Module):
            raise fail("Snapshots", "model", "a torch.nn.Module", model)
        if (schedule is None) == (at is None):
            raise SpecError("Snapshots(): give exactly one of schedule (a restarts(...) schedule) or at "
                            f"(update counts); got schedule={schedule!r}, at={at!r}")
        if at is None and schedule is not None:
            at = cycle_ends(schedule, total_steps)
        at = list(at or ())
        if any(isinstance(a, bool) or not isinstance(a, int) or a <= 0 for a in at):
            raise fail("Snapshots", "at", "a list of whole numbers > 0", at)
        self.model = model
        self.at = sorted(set(at))
        self.device = device
        self.count = 0
        self.taken: list[int] = []
        self.models: list[nn.Module] = []

    def step(self) -> bool:
        """Count one optimizer update; keep a snapshot if a cycle just ended. Returns whether it did."""
        self.count += 1
        if self.count in self.at:
            self.save()
            return True
        return False

    def save(self) -> nn.Module:
        """Keep a copy of the model now (eval mode); returns it."""
        snap = copy.deepcopy(self.model)
        if self.device is not None:
            snap = snap.to(self.device)
        snap.eval()
        for p in snap.parameters():
            p.requires_grad_(False)
        self.models.append(snap)
        self.taken.append(self.count)
        return snap

    def ensemble(self, last: int | None = None) -> SnapshotEnsemble:
        """The :class:`SnapshotEnsemble` of the last ``last`` snapshots (all by default)."""
        if not self.models:
            raise SpecError(f"Snapshots.ensemble(): no snapshot yet (cycles end after updates "
                            f"{', '.join(fmt(a) for a in self.at[:5])}...; {self.count} taken so far)")
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last <= 0):
            raise fail("Snapshots.ensemble", "last", "a whole number > 0 or None", last)
        return SnapshotEnsemble(self.models[-last:] if last else self.models)
