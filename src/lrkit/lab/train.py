"""The training loop of the lab: one model under one schedule (:func:`train`), or K schedules at once.

:func:`train` is the reference loop: a real ``torch.optim`` optimizer driven
by :class:`lrkit.torch.Scheduler` (and a :class:`lrkit.Plateau`, if given).
:func:`train_batched` trains one copy of a model per schedule as one batch
(:func:`lrkit.lab.batched.fit_batched`: ``torch.func.vmap`` over stacked
parameters, torch's SGD or AdamW with one lr per model); its results equal
:func:`train`'s up to float rounding.

Both follow the rules that make runs comparable and repeatable:

- the run is ``epochs * steps_per_epoch`` optimizer updates, with
  ``steps_per_epoch = ceil(n_train / batch_size)`` (the last batch is smaller);
  schedule durations such as ``"3ep"``, ``"10%"``, ``"rest"`` are bound to it;
- the data order of every epoch is a permutation drawn from
  ``numpy.random.default_rng(seed)`` (:func:`lrkit.lab.batched.epoch_orders`):
  the same seed gives the same batches;
- the initial weights are the caller's (``make_model(..., seed=seed)``);
  :func:`train` seeds torch's generator with ``seed`` while it trains (for
  models that draw random numbers) and gives the caller's state back after;
- the update of step ``t`` uses ``lr * schedule(t) * plateau.scale``; after each
  epoch the validation loss and accuracy are measured on the whole
  validation split, and the plateau (if any) is fed that validation loss, so
  its new scale applies from the first update of the next epoch.

Neither function changes torch's thread count; for models this small,
``torch.set_num_threads(1)`` is the fast choice on a shared machine (:func:`threads`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..checks import fail, integer, number, one_of
from ..plateau import Plateau
from ..schedules import Schedule
from ..spec import parse
from .data import Dataset

__all__ = ["RunResult", "evaluate", "steps_per_epoch", "tensors", "threads", "train", "train_batched"]


@contextlib.contextmanager
def threads(n: int = 1) -> Iterator[None]:
    """torch on ``n`` threads inside the block (tiny models: 1 is the fast choice on a shared
    CPU), the caller's setting restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class RunResult:
    """What one training run recorded.

    ``lr[t]`` is the learning rate the update of step ``t`` used (first param
    group); ``train_loss[e]`` the mean training loss over the samples of epoch
    ``e``; ``val_loss[e]`` / ``val_acc[e]`` the validation loss and accuracy
    after epoch ``e``. ``spec`` is the schedule's text as given (``"cosine('rest')"``),
    ``schedule`` the text bound to the run (``"cosine(230)"``), ``plateau`` the
    plateau's repr or None, ``label`` the run's name in reports. ``wall_time`` is seconds of
    training (for a batched run, its equal share of the batch's time). A diverged run keeps its place:
    its non-finite losses are ``nan``.

    >>> r = RunResult("constant()", "constant()", 0, 2, [0.1] * 4, [1.0, 0.5],
    ...               [0.9, 0.6], [0.5, 0.75])
    >>> r.epochs, r.total_steps, r.final_acc, r.best_acc, r.steps_to(0.7)
    (2, 4, 0.75, 0.75, 4)
    """

    label: str
    schedule: str
    seed: int
    steps_per_epoch: int
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    wall_time: float = 0.0
    plateau: str | None = None
    batched: bool = False
    spec: str = ""

    @property
    def epochs(self) -> int:
        """Epochs recorded so far."""
        return len(self.val_acc)

    @property
    def total_steps(self) -> int:
        """Optimizer updates taken so far."""
        return len(self.lr)

    @property
    def final_acc(self) -> float:
        """Validation accuracy after the last epoch."""
        return self.val_acc[-1]

    @property
    def best_acc(self) -> float:
        """Highest validation accuracy after any epoch."""
        return max(self.val_acc)

    @property
    def diverged(self) -> bool:
        """True if a training loss was NaN or infinite."""
        return not all(math.isfinite(v) for v in self.train_loss)

    def steps_to(self, target: float) -> int | None:
        """Steps until the first epoch end with ``val_acc >= target`` (None if never)."""
        for e, acc in enumerate(self.val_acc):
            if acc >= target:
                return (e + 1) * self.steps_per_epoch
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (non-finite numbers stay ``nan``/``inf`` floats)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict` (``None`` in a list reads as ``nan``)."""
        d = dict(d)
        for key in ("lr", "train_loss", "val_loss", "val_acc"):
            d[key] = [math.nan if v is None else float(v) for v in d.get(key, [])]
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


# ------------------------------------------------------------------ helpers
def steps_per_epoch(data: Dataset, batch_size: int) -> int:
    """``ceil(n_train / batch_size)``: the updates of one epoch.

    >>> from lrkit.lab.data import load_dataset
    >>> steps_per_epoch(load_dataset("digits"), 64)
    23
    """
    return -(-len(data.x_train) // batch_size)


def evaluate(model, x, y) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on tensors ``x``, ``y`` (no grad).

    ``loss = mean_i CE(model(x)_i, y_i)``, ``acc = mean_i [argmax model(x)_i == y_i]``.

    >>> import torch
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.eye(2)); _ = model.bias.zero_()
    >>> loss, acc = evaluate(model, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    >>> acc
    0.5"""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x)
        loss = F.cross_entropy(out, y).item()
        acc = (out.argmax(dim=1) == y).double().mean().item()
    model.train(was_training)
    return loss, acc


def _bound(fn: str, schedule: Any, total: int, spe: int) -> tuple[str, Schedule]:
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if not isinstance(schedule, Schedule):
        raise fail(fn, "schedule", "a schedule or its text", schedule)
    return str(schedule), schedule.bind(total_steps=total, steps_per_epoch=spe)


def _check_common(fn: str, data, epochs, batch_size, momentum, weight_decay) -> None:
    if not isinstance(data, Dataset):
        raise fail(fn, "data", "a lrkit.lab.data.Dataset", data)
    integer(fn, "epochs", epochs, ge=1)
    integer(fn, "batch_size", batch_size, ge=1)
    number(fn, "momentum", momentum, ge=0)
    number(fn, "weight_decay", weight_decay, ge=0)


def tensors(data: Dataset) -> tuple:
    """``(x_train, y_train, x_val, y_val)`` of ``data`` as torch tensors (sharing the arrays' memory).

    >>> from lrkit.lab.data import load_dataset
    >>> [tuple(t.shape) for t in tensors(load_dataset("digits"))]
    [(1437, 64), (1437,), (360, 64), (360,)]
    """
    import torch

    return tuple(torch.from_numpy(a) for a in (data.x_train, data.y_train, data.x_val, data.y_val))


def _make_optimizer(optimizer, params, lr, momentum, weight_decay):
    import torch

    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise fail("train", "optimizer", "'sgd', 'adamw' or a torch.optim.Optimizer", optimizer)


# --------------------------------------------------------------- sequential
def train(model, data: Dataset, schedule: Schedule | str, *, epochs: int, batch_size: int,
          lr: float | None, optimizer: Any = "sgd", seed: int = 0, plateau: Plateau | None = None,
          momentum: float = 0.9, weight_decay: float = 0.0,
          callback: Callable[[RunResult], Any] | None = None, label: str | None = None) -> RunResult:
    """Train ``model`` (in place) on ``data`` under ``schedule``; return what it recorded.

    The lr of step ``t`` is ``lr * schedule(t) * plateau.scale`` (see the
    module doc for batches, seeding and when the plateau is fed).

    Args:
        model: a torch module mapping ``(n, n_features)`` to class logits.
        data: a :class:`~lrkit.lab.data.Dataset`.
        schedule: a schedule or its text; ``"3ep"``, ``"10%"``, ``"rest"`` are bound to the run.
        epochs, batch_size: the run length (``epochs * ceil(n_train / batch_size)`` steps).
        lr: the base lr; None when ``optimizer`` is an optimizer instance (its own lrs are the bases).
        optimizer: ``"sgd"`` (with ``momentum``), ``"adamw"``, or a ``torch.optim.Optimizer``
            already built over ``model.parameters()``.
        seed: seeds the data order, and torch's generator while training (restored after).
        plateau: an ``lk.Plateau`` fed the validation loss after every epoch (it keeps
            its state: give each run a fresh one).
        momentum, weight_decay: passed to the named optimizer.
        callback: called with the partial :class:`RunResult` after every epoch; it may raise to stop.
        label: the run's name in reports (default: the schedule text, plus the plateau).

    >>> import lrkit as lk
    >>> from lrkit.lab.data import load_dataset
    >>> from lrkit.lab.models import make_model
    >>> data = load_dataset("digits")
    >>> r = train(make_model("linear", 64, 10, seed=0), data, "cosine('100%')",
    ...           epochs=2, batch_size=256, lr=0.1, seed=0)
    >>> r.total_steps, r.lr[0], r.lr[-1] < 0.01, r.final_acc > 0.8
    (12, 0.1, True, True)
    """
    import torch

    from ..torch import Scheduler
    from .batched import epoch_orders

    _check_common("train", data, epochs, batch_size, momentum, weight_decay)
    integer("train", "seed", seed, ge=0)
    if plateau is not None and not isinstance(plateau, Plateau):
        raise fail("train", "plateau", "an lk.Plateau or None", plateau)
    spe = steps_per_epoch(data, batch_size)
    text, bound = _bound("train", schedule, epochs * spe, spe)
    if isinstance(optimizer, torch.optim.Optimizer):
        if lr is not None:
            raise fail("train", "lr", "None when optimizer is an optimizer instance", lr)
        opt = optimizer
    else:
        if lr is None:
            raise fail("train", "lr", "a number > 0", lr)
        opt = _make_optimizer(optimizer, model.parameters(), number("train", "lr", lr, gt=0), momentum, weight_decay)
    sched = Scheduler(opt, bound, plateau=plateau)
    if label is None:
        label = text if plateau is None else f"{text} with {plateau!r}"
    run = RunResult(label, str(bound), int(seed), spe, plateau=None if plateau is None else repr(plateau),
                    spec=text)
    x, y, xv, yv = tensors(data)
    start = time.perf_counter()
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for order in epoch_orders(seed, len(y), epochs):
            run.train_loss.append(_epoch(model, opt, sched, x, y, torch.from_numpy(order), batch_size, run.lr))
            val_loss, val_acc = evaluate(model, xv, yv)
            run.val_loss.append(val_loss)
            run.val_acc.append(val_acc)
            if plateau is not None:
                sched.observe(val_loss)
            run.wall_time = time.perf_counter() - start
            if callback is not None:
                callback(run)
    return run


def _epoch(model, opt, sched, x, y, order, batch_size: int, lrs: list[float]) -> float:
    """One epoch of :func:`train` in the sample order ``order``: each update's lr appended to ``lrs``;
    returns the mean training loss over the epoch's samples."""
    import torch
    import torch.nn.functional as F

    total = torch.zeros((), dtype=torch.float64)
    for lo in range(0, len(order), batch_size):
        idx = order[lo:lo + batch_size]
        lrs.append(float(opt.param_groups[0]["lr"]))
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.detach().double() * len(idx)
    return total.item() / len(y)


# ------------------------------------------------------------------ batched
def train_batched(model, data: Dataset, schedules: Sequence[Schedule | str], *, epochs: int,
                  batch_size: int, lr: float, optimizer: str = "sgd", seed: int = 0,
                  momentum: float = 0.9, weight_decay: float = 0.0,
                  callback: Callable[[RunResult], Any] | None = None,
                  labels: Sequence[str] | None = None) -> list[RunResult]:
    """Train one copy of ``model`` per schedule, all at once; ``model`` itself is not changed.

    Every copy starts from ``model``'s weights and sees the same batches (same
    ``seed``), exactly as K calls of :func:`train` would (see :func:`lrkit.lab.batched.fit_batched`).
    No plateau, no custom optimizer, no buffers (batch norm): use :func:`train`
    for those. ``callback`` is called once per run per epoch.

    >>> from lrkit.lab.data import load_dataset
    >>> from lrkit.lab.models import make_model
    >>> runs = train_batched(make_model("linear", 64, 10), load_dataset("digits"),
    ...                      ["constant()", "linear('100%')"], epochs=1, batch_size=256, lr=0.1)
    >>> [round(r.lr[-1], 6) for r in runs], [r.total_steps for r in runs]
    ([0.1, 0.016667], [6, 6])
    """
    from .batched import Member, fit_batched

    _check_common("train_batched", data, epochs, batch_size, momentum, weight_decay)
    integer("train_batched", "seed", seed, ge=0)
    lr = float(number("train_batched", "lr", lr, gt=0))
    one_of("train_batched", "optimizer", optimizer, ("sgd", "adamw"))
    if not schedules:
        raise fail("train_batched", "schedules", "a list holding at least one schedule", [])
    if any(True for _ in model.buffers()):
        raise fail("train_batched", "model", "a model without buffers (batch norm); use train() for it", model)
    spe = steps_per_epoch(data, batch_size)
    texts, bound = zip(*(_bound("train_batched", s, epochs * spe, spe) for s in schedules))
    labels = list(texts) if labels is None else list(labels)
    members = [Member(s, lr, seed, model) for s in bound]

    def report(epoch: int, alive: list[int]) -> list[int]:
        if callback is not None:
            for i in alive:
                callback(members[i].result)
        return []

    fit_batched(members, data, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                momentum=momentum, weight_decay=weight_decay, on_epoch=report)
    runs = []
    for m, label, text in zip(members, labels, texts):
        m.result.label, m.result.spec = label, text
        runs.append(m.result)
    return runs
