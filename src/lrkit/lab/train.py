"""The training loop of the lab: one model under one schedule, or K models at once.

:func:`train` is the reference loop: a real ``torch.optim`` optimizer driven
by :class:`lrkit.torch.Scheduler` (and a :class:`lrkit.Plateau`, if given).
:func:`fit_batched` trains K models as one batch (``torch.func.vmap`` over
stacked parameters, SGD or AdamW written out with one lr per model); each
model has its own initial weights, seed (batch order), base lr, schedule and
plateau, so one call can hold every (schedule, lr, seed) of a comparison.
:func:`train_batched` is its one-seed form (K schedules from one model).
Batched results equal :func:`train`'s up to float rounding.

Both share the rules that make runs comparable and repeatable:

- the run is ``epochs * steps_per_epoch`` optimizer updates, with
  ``steps_per_epoch = ceil(n_train / batch_size)`` (the last batch is smaller);
  schedule durations such as ``"3ep"``, ``"10%"``, ``"rest"`` are bound to it;
- the data order of every epoch is a permutation drawn from
  ``numpy.random.default_rng(seed)``: the same seed gives the same batches;
- ``torch.manual_seed(seed)`` is set before training (for models that draw
  random numbers); the initial weights are the caller's (``make_model(..., seed=seed)``);
- the update of step ``t`` uses ``lr * schedule(t) * plateau.scale``; after each
  epoch the validation loss and accuracy are measured on the whole
  validation split, and the plateau (if any) is fed that validation loss, so
  its new scale applies from the first update of the next epoch.

Neither function changes torch's thread count; for models this small,
``torch.set_num_threads(1)`` is the fast choice on a shared machine.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..checks import fail, integer, number, one_of
from ..plateau import Plateau
from ..schedules import Schedule
from ..spec import parse
from .data import Dataset

__all__ = ["Member", "RunResult", "evaluate", "fit_batched", "steps_per_epoch", "threads", "train", "train_batched"]


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


def orders(seed: int, n: int, epochs: int) -> Iterator[np.ndarray]:
    """The sample order of each epoch: permutations from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        yield rng.permutation(n)


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


def _tensors(data: Dataset):
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
        seed: seeds ``torch.manual_seed`` and the data order.
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
    import torch.nn.functional as F

    from ..torch import Scheduler

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
    x, y, xv, yv = _tensors(data)
    torch.manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for order in orders(seed, len(y), epochs):
        perm = torch.from_numpy(order)
        total = torch.zeros((), dtype=torch.float64)
        for b in range(spe):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            run.lr.append(float(opt.param_groups[0]["lr"]))
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach().double() * len(idx)
        run.train_loss.append(total.item() / len(y))
        val_loss, val_acc = evaluate(model, xv, yv)
        run.val_loss.append(val_loss)
        run.val_acc.append(val_acc)
        if plateau is not None:
            sched.observe(val_loss)
        run.wall_time = time.perf_counter() - start
        if callback is not None:
            callback(run)
    return run


# ------------------------------------------------------------------ batched
@dataclass
class Member:
    """One model of a batch: its bound schedule, base lr, seed, plateau and initial weights.

    ``init`` is a torch module of the batch's architecture holding this
    member's initial weights (it is not changed). ``result`` is filled as the
    batch trains; ``stopped`` is set when the ``on_epoch`` hook drops it.
    """

    schedule: Schedule
    lr: float
    seed: int
    init: Any
    plateau: Plateau | None = None
    result: RunResult = field(default_factory=lambda: RunResult("", "", 0, 0))
    stopped: bool = False


def fit_batched(members: Sequence[Member], data: Dataset, *, epochs: int, batch_size: int,
                optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 0.0,
                on_epoch: Callable[[int, list[int]], Sequence[int]] | None = None) -> list[Any]:
    """Train every member at once; fill ``member.result``; return each member's final parameters.

    After every epoch ``on_epoch(epoch, alive)`` (``alive``: indices of the
    members still training, their ``result`` updated) may return indices to
    drop; a dropped member stops training and keeps what it recorded. The
    returned list holds, per member, a dict of its final parameters (its last
    ones when dropped), to evaluate with ``torch.func.functional_call``.
    """
    import torch
    from torch.func import functional_call, grad_and_value, vmap

    one_of("fit_batched", "optimizer", optimizer, ("sgd", "adamw"))
    if not members:
        raise fail("fit_batched", "members", "a list holding at least one Member", list(members))
    net = copy.deepcopy(members[0].init)
    if any(True for _ in net.buffers()):
        raise fail("fit_batched", "model", "a model without buffers (batch norm); use train() for it", net)
    spe = steps_per_epoch(data, batch_size)
    total = epochs * spe
    k = len(members)
    plan = np.stack([m.lr * m.schedule.values(np.arange(total, dtype=np.float64)) for m in members])
    params = {n: torch.stack([dict(m.init.named_parameters())[n].detach() for m in members]).contiguous()
              for n, _ in net.named_parameters()}
    for m in members:
        m.result = RunResult(str(m.schedule), str(m.schedule), int(m.seed), spe, batched=True,
                             plateau=None if m.plateau is None else repr(m.plateau))

    def loss_fn(p, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(net, p, (xb,)), yb)

    logits_fn = vmap(lambda p, xb: functional_call(net, p, (xb,)), in_dims=(0, None))
    stepper = (_SGD if optimizer == "sgd" else _AdamW)(params, momentum=momentum, weight_decay=weight_decay)
    x, y, xv, yv = _tensors(data)
    seeds = sorted({int(m.seed) for m in members})
    shared = len(seeds) == 1
    grad_fn = vmap(grad_and_value(loss_fn), in_dims=(0, None, None) if shared else (0, 0, 0))
    streams = {s: orders(s, len(y), epochs) for s in seeds}
    alive = list(range(k))
    finals: list[Any] = [None] * k
    torch.manual_seed(seeds[0])
    start = time.perf_counter()
    for epoch in range(epochs):
        perms = torch.stack([torch.from_numpy(next(streams[s])) for s in seeds])
        # the epoch's sample order: one row (shared seed) or one row per member
        order = perms[0] if shared else perms[[seeds.index(int(members[i].seed)) for i in alive]]
        scale = np.array([_scale(members[i].plateau) for i in alive])
        lrs = plan[alive, epoch * spe:(epoch + 1) * spe] * scale[:, None]
        lrs32 = torch.from_numpy(np.ascontiguousarray(lrs.T, dtype=np.float32))  # row b: every member's lr of batch b
        sums = torch.zeros(len(alive), dtype=torch.float64)
        for b in range(spe):
            idx = order[..., b * batch_size:(b + 1) * batch_size]
            grads, losses = grad_fn(params, x[idx], y[idx])
            with torch.no_grad():
                stepper.step(params, grads, lrs32[b])
            sums += losses.detach().double() * idx.shape[-1]
        with torch.no_grad():
            out = logits_fn(params, xv)
            val_loss = torch.nn.functional.cross_entropy(
                out.transpose(1, 2), yv.expand(len(alive), -1), reduction="none").mean(dim=1)
            val_acc = (out.argmax(dim=2) == yv).double().mean(dim=1)
        elapsed = (time.perf_counter() - start) / k
        for j, i in enumerate(alive):
            r, m = members[i].result, members[i]
            r.lr.extend(lrs[j].tolist())
            r.train_loss.append(sums[j].item() / len(y))
            r.val_loss.append(val_loss[j].item())
            r.val_acc.append(val_acc[j].item())
            r.wall_time = elapsed
            if m.plateau is not None:
                m.plateau.update(r.val_loss[-1])
        drop = set(on_epoch(epoch, list(alive)) if on_epoch is not None else ())
        if drop or epoch == epochs - 1:
            for j, i in enumerate(alive):
                if i in drop or epoch == epochs - 1:
                    finals[i] = {n: p[j].clone() for n, p in params.items()}
                    members[i].stopped = i in drop
            keep = [j for j, i in enumerate(alive) if i not in drop]
            alive = [alive[j] for j in keep]
            if not alive:
                break
            if drop:
                sel = torch.tensor(keep)
                params = {n: p.index_select(0, sel).contiguous() for n, p in params.items()}
                stepper.keep(sel)
    return finals


def train_batched(model, data: Dataset, schedules: Sequence[Schedule | str], *, epochs: int,
                  batch_size: int, lr: float, optimizer: str = "sgd", seed: int = 0,
                  momentum: float = 0.9, weight_decay: float = 0.0,
                  callback: Callable[[RunResult], Any] | None = None,
                  labels: Sequence[str] | None = None) -> list[RunResult]:
    """Train one copy of ``model`` per schedule, all at once; ``model`` itself is not changed.

    Every copy starts from ``model``'s weights and sees the same batches (same
    ``seed``), exactly as K calls of :func:`train` would (see :func:`fit_batched`).
    No plateau, no custom optimizer, no buffers (batch norm): use :func:`train`
    for those. ``callback`` is called once per run per epoch.

    >>> from lrkit.lab.data import load_dataset
    >>> from lrkit.lab.models import make_model
    >>> runs = train_batched(make_model("linear", 64, 10), load_dataset("digits"),
    ...                      ["constant()", "linear('100%')"], epochs=1, batch_size=256, lr=0.1)
    >>> [round(r.lr[-1], 6) for r in runs], [r.total_steps for r in runs]
    ([0.1, 0.016667], [6, 6])
    """
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


def _scale(plateau: Plateau | None) -> float:
    return 1.0 if plateau is None else plateau.scale


# ------------------------------------------- torch's update rules, K models
def _per_model(v, p):
    return v.view((-1,) + (1,) * (p.dim() - 1))


class _SGD:
    """``torch.optim.SGD`` (dampening 0, no Nesterov) with one lr per model."""

    def __init__(self, params: dict, *, momentum: float, weight_decay: float) -> None:
        self.momentum, self.weight_decay = momentum, weight_decay
        self.bufs: dict[str, Any] = {}

    def step(self, params, grads, lr) -> None:
        for n, p in params.items():
            g = grads[n]
            if self.weight_decay:
                g = g.add(p, alpha=self.weight_decay)
            if self.momentum:
                if n in self.bufs:
                    g = self.bufs[n].mul_(self.momentum).add_(g)
                else:
                    g = self.bufs[n] = g.clone()
            p.sub_(_per_model(lr, p) * g)

    def keep(self, sel) -> None:
        self.bufs = {n: b.index_select(0, sel).contiguous() for n, b in self.bufs.items()}


class _AdamW:
    """``torch.optim.AdamW`` (no amsgrad) with one lr per model; ``momentum`` is unused."""

    def __init__(self, params: dict, *, momentum: float, weight_decay: float,
                 betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        import torch

        self.weight_decay, self.betas, self.eps, self.count = weight_decay, betas, eps, 0
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}

    def step(self, params, grads, lr) -> None:
        self.count += 1
        b1, b2 = self.betas
        bc1 = 1 - b1 ** self.count
        bc2_sqrt = (1 - b2 ** self.count) ** 0.5
        for n, p in params.items():
            g, lr_p = grads[n], _per_model(lr, p)
            p.mul_(1 - lr_p * self.weight_decay)
            self.m[n].lerp_(g, 1 - b1)
            self.v[n].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.v[n].sqrt() / bc2_sqrt).add_(self.eps)
            p.sub_((lr_p / bc1) * self.m[n] / denom)

    def keep(self, sel) -> None:
        self.m = {n: t.index_select(0, sel).contiguous() for n, t in self.m.items()}
        self.v = {n: t.index_select(0, sel).contiguous() for n, t in self.v.items()}
