"""The training loop of the lab: one model under one schedule, or K copies at once.

:func:`train` is the reference loop: a real ``torch.optim`` optimizer driven
by :class:`lrkit.torch.Scheduler` (and a :class:`lrkit.Plateau`, if given).
:func:`train_batched` trains K copies of one model, one schedule each, as a
single batch of models (``torch.func.vmap`` over stacked parameters, SGD or
AdamW written out with a per-model lr vector); it gives the same numbers as
:func:`train` up to float rounding, faster when K is large (1.6x wall, 2x CPU
time for K=14 small MLPs; slower for K=1).

Both share the rules that make runs comparable and repeatable:

- the run is ``epochs * steps_per_epoch`` optimizer updates, with
  ``steps_per_epoch = ceil(n_train / batch_size)`` (the last batch is smaller);
  schedule durations such as ``"3ep"``, ``"10%"``, ``"rest"`` are bound to it;
- the data order of every epoch is a permutation drawn from
  ``numpy.random.default_rng(seed)``: the same seed gives the same batches;
- ``torch.manual_seed(seed)`` is set before training (for models that draw
  random numbers); the model's initial weights are the caller's (use
  ``make_model(..., seed=seed)``);
- the update of step ``t`` uses ``lr * schedule(t) * plateau.scale``; after each
  epoch the validation loss and accuracy are measured on the whole
  validation split, and the plateau (if any) is fed that validation loss, so
  its new scale applies from the first update of the next epoch.

Neither function changes torch's thread count; for models this small,
``torch.set_num_threads(1)`` is the fast choice on a shared machine (the
compare job does that).
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import SpecError
from ..plateau import Plateau
from ..schedules.base import Schedule
from ..spec import parse
from .data import Dataset

__all__ = ["RunResult", "evaluate", "steps_per_epoch", "train", "train_batched"]


@dataclass
class RunResult:
    """What one training run recorded.

    ``lr[t]`` is the learning rate the update of step ``t`` used (first param
    group); ``train_loss[e]`` the mean training loss over the samples of epoch
    ``e``; ``val_loss[e]`` / ``val_acc[e]`` the validation loss and accuracy
    after epoch ``e``. ``spec`` is the schedule's text as given (``"cosine('rest')"``),
    ``schedule`` the text bound to the run (``"cosine(230)"``), ``plateau`` the
    plateau's repr or None, ``label`` the run's name in reports. ``wall_time`` is seconds of training (for a batched run,
    its equal share of the batch's time). A diverged run keeps its place:
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
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
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


def _orders(seed: int, n: int, epochs: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        yield rng.permutation(n)


def _whole(fn: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise SpecError(f"{fn}(): {name} must be a whole number > 0; got {name}={v!r}")
    return int(v)


def _positive(fn: str, name: str, v: Any, *, zero: bool = False) -> float:
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or (v < 0 if zero else v <= 0):
        raise SpecError(f"{fn}(): {name} must be a number {'>= 0' if zero else '> 0'}; got {name}={v!r}")
    return float(v)


def _bound(fn: str, schedule: Any, total: int, spe: int) -> tuple[str, Schedule]:
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if not isinstance(schedule, Schedule):
        raise SpecError(f"{fn}(): schedule must be a schedule or its text; got schedule={schedule!r}")
    return str(schedule), schedule.bind(total_steps=total, steps_per_epoch=spe)


def _check_common(fn: str, data, epochs, batch_size, momentum, weight_decay, seed) -> None:
    if not isinstance(data, Dataset):
        raise SpecError(f"{fn}(): data must be a lrkit.lab.data.Dataset; got data={data!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise SpecError(f"{fn}(): seed must be a whole number >= 0; got seed={seed!r}")
    _whole(fn, "epochs", epochs)
    _whole(fn, "batch_size", batch_size)
    _positive(fn, "momentum", momentum, zero=True)
    _positive(fn, "weight_decay", weight_decay, zero=True)


def _tensors(data: Dataset):
    import torch

    return tuple(torch.from_numpy(a) for a in (data.x_train, data.y_train, data.x_val, data.y_val))


def _make_optimizer(optimizer, params, lr, momentum, weight_decay):
    import torch

    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise SpecError(f"train(): optimizer must be 'sgd', 'adamw' or a torch.optim.Optimizer; got optimizer={optimizer!r}")


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
        callback: called with the partial :class:`RunResult` after every epoch.
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

    _check_common("train", data, epochs, batch_size, momentum, weight_decay, seed)
    if plateau is not None and not isinstance(plateau, Plateau):
        raise SpecError(f"train(): plateau must be an lk.Plateau or None; got plateau={plateau!r}")
    spe = steps_per_epoch(data, batch_size)
    text, bound = _bound("train", schedule, epochs * spe, spe)
    if isinstance(optimizer, torch.optim.Optimizer):
        if lr is not None:
            raise SpecError(f"train(): lr must be None when optimizer is an optimizer instance; got lr={lr!r}")
        opt = optimizer
    else:
        opt = _make_optimizer(optimizer, model.parameters(), _positive("train", "lr", lr), momentum, weight_decay)
    sched = Scheduler(opt, bound, plateau=plateau)
    if label is None:
        label = text if plateau is None else f"{text} with {plateau!r}"
    run = RunResult(label, str(bound), int(seed), spe, plateau=None if plateau is None else repr(plateau),
                    spec=text)
    x, y, xv, yv = _tensors(data)
    torch.manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for order in _orders(seed, len(y), epochs):
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
def train_batched(model, data: Dataset, schedules: Sequence[Schedule | str], *, epochs: int,
                  batch_size: int, lr: float, optimizer: str = "sgd", seed: int = 0,
                  momentum: float = 0.9, weight_decay: float = 0.0,
                  callback: Callable[[RunResult], Any] | None = None,
                  labels: Sequence[str] | None = None) -> list[RunResult]:
    """Train one copy of ``model`` per schedule, all at once; ``model`` itself is not changed.

    Every copy starts from ``model``'s weights and sees the same batches (same
    ``seed``), exactly as K calls of :func:`train` would; the K models are
    stacked and run through ``torch.func.vmap``, and the optimizer
    (``"sgd"`` with ``momentum``, or ``"adamw"``) is torch's update rule
    written out with one lr per model. Results equal :func:`train`'s up to
    float rounding. No plateau, no custom optimizer, no buffers (batch norm):
    use :func:`train` for those. ``callback`` is called once per run per epoch.

    >>> from lrkit.lab.data import load_dataset
    >>> from lrkit.lab.models import make_model
    >>> runs = train_batched(make_model("linear", 64, 10), load_dataset("digits"),
    ...                      ["constant()", "linear('100%')"], epochs=1, batch_size=256, lr=0.1)
    >>> [round(r.lr[-1], 6) for r in runs], [r.total_steps for r in runs]
    ([0.1, 0.016667], [6, 6])
    """
    import torch
    from torch.func import functional_call, grad_and_value, vmap

    _check_common("train_batched", data, epochs, batch_size, momentum, weight_decay, seed)
    lr = _positive("train_batched", "lr", lr)
    if optimizer not in ("sgd", "adamw"):
        raise SpecError(f"train_batched(): optimizer must be 'sgd' or 'adamw'; got optimizer={optimizer!r}")
    if not schedules:
        raise SpecError("train_batched(): schedules must hold at least one schedule; got schedules=[]")
    if any(True for _ in model.buffers()):
        raise SpecError("train_batched(): model must have no buffers (batch norm); use train() for it")
    spe = steps_per_epoch(data, batch_size)
    total_steps = epochs * spe
    texts, bound = zip(*(_bound("train_batched", s, total_steps, spe) for s in schedules))
    labels = list(texts) if labels is None else list(labels)
    k = len(bound)
    lrs64 = np.stack([s.values(np.arange(total_steps, dtype=np.float64)) for s in bound]) * lr
    lrs = torch.from_numpy(lrs64.astype(np.float32))
    planned = [row.tolist() for row in lrs64]
    runs = [RunResult(lab, str(s), int(seed), spe, batched=True, spec=text)
            for lab, s, text in zip(labels, bound, texts)]

    net = copy.deepcopy(model)
    params = {n: p.detach().unsqueeze(0).repeat(k, *([1] * p.dim())).contiguous()
              for n, p in net.named_parameters()}

    def loss_fn(p, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(net, p, (xb,)), yb)

    grad_fn = vmap(grad_and_value(loss_fn), in_dims=(0, None, None))
    logits_fn = vmap(lambda p, xb: functional_call(net, p, (xb,)), in_dims=(0, None))
    stepper = (_sgd if optimizer == "sgd" else _adamw)(params, momentum=momentum, weight_decay=weight_decay)
    x, y, xv, yv = _tensors(data)
    torch.manual_seed(seed)
    start = time.perf_counter()
    t = 0
    for order in _orders(seed, len(y), epochs):
        perm = torch.from_numpy(order)
        total = torch.zeros(k, dtype=torch.float64)
        for b in range(spe):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            grads, losses = grad_fn(params, x[idx], y[idx])
            with torch.no_grad():
                stepper(params, grads, lrs[:, t])
            total += losses.detach().double() * len(idx)
            t += 1
        with torch.no_grad():
            out = logits_fn(params, xv)
            val_loss = torch.nn.functional.cross_entropy(
                out.transpose(1, 2), yv.expand(k, -1), reduction="none").mean(dim=1)
            val_acc = (out.argmax(dim=2) == yv).double().mean(dim=1)
        elapsed = (time.perf_counter() - start) / k
        for i, r in enumerate(runs):
            r.lr = planned[i][:t]
            r.train_loss.append(total[i].item() / len(y))
            r.val_loss.append(val_loss[i].item())
            r.val_acc.append(val_acc[i].item())
            r.wall_time = elapsed
            if callback is not None:
                callback(r)
    return runs


# ------------------------------------------- torch's update rules, K models
def _per_model(v, p):
    return v.view((-1,) + (1,) * (p.dim() - 1))


def _sgd(params: dict, *, momentum: float, weight_decay: float):
    """``torch.optim.SGD`` (dampening 0, no Nesterov) with one lr per model."""
    bufs: dict = {}

    def step(params, grads, lr):
        for n, p in params.items():
            g = grads[n]
            if weight_decay:
                g = g.add(p, alpha=weight_decay)
            if momentum:
                if n in bufs:
                    g = bufs[n].mul_(momentum).add_(g)
                else:
                    g = bufs[n] = g.clone()
            p.sub_(_per_model(lr, p) * g)

    return step


def _adamw(params: dict, *, momentum: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
    """``torch.optim.AdamW`` (no amsgrad) with one lr per model; ``momentum`` is unused."""
    import torch

    m = {n: torch.zeros_like(p) for n, p in params.items()}
    v = {n: torch.zeros_like(p) for n, p in params.items()}
    count = [0]

    def step(params, grads, lr):
        count[0] += 1
        bc1 = 1 - betas[0] ** count[0]
        bc2_sqrt = (1 - betas[1] ** count[0]) ** 0.5
        for n, p in params.items():
            g, lr_p = grads[n], _per_model(lr, p)
            p.mul_(1 - lr_p * weight_decay)
            m[n].lerp_(g, 1 - betas[0])
            v[n].mul_(betas[1]).addcmul_(g, g, value=1 - betas[1])
            denom = (v[n].sqrt() / bc2_sqrt).add_(eps)
            p.sub_((lr_p / bc1) * m[n] / denom)

    return step
