"""The lab's runs as one batch of models, epoch by epoch: :func:`fit_batched`.

K members (a torch module of one architecture each, with its own initial
weights, seed, base lr, bound schedule and plateau) train as one stacked
model: ``torch.func.vmap`` over the stacked parameters gives every member's
gradient on its own batch, :mod:`~lrkit.lab.batched.optim` applies torch's
update with each member's lr. The rules are those of the one-run loop
(:func:`lrkit.lab.train.train`): batches from :func:`~lrkit.lab.batched.order.epoch_orders`
of the member's seed, the lr of step ``t`` is ``lr * schedule(t) * plateau.scale``,
after each epoch the whole validation split is measured and the plateau fed
its loss. So a member ends where its one-run loop would, up to float rounding.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...checks import fail, one_of
from ...plateau import Plateau
from ...schedules import Schedule
from ..data import Dataset
from ..train import RunResult, steps_per_epoch, tensors
from .optim import make_optimizer
from .order import epoch_orders

__all__ = ["Member", "fit_batched"]


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

    Every epoch: the lrs of its steps (:meth:`_Stack.lrs`), its updates
    (:meth:`_Stack.train_epoch`), the validation split (:meth:`_Stack.validate`),
    each member's record and plateau (:func:`_record`). Then ``on_epoch(epoch, alive)``
    (``alive``: indices of the members still training, their ``result`` updated)
    may return indices to drop; a dropped member stops training and keeps what
    it recorded. The returned list holds, per member, a dict of its final
    parameters (its last ones when dropped), to evaluate with ``torch.func.functional_call``.

    >>> import lrkit as lk
    >>> from lrkit.lab.data import load_dataset
    >>> from lrkit.lab.models import make_model
    >>> members = [Member(lk.constant(), lr, 0, make_model("linear", 64, 10)) for lr in (0.1, 0.01)]
    >>> finals = fit_batched(members, load_dataset("digits"), epochs=1, batch_size=256)
    >>> [m.result.lr[-1] for m in members], sorted(finals[0]), finals[0]["weight"].shape
    ([0.1, 0.01], ['bias', 'weight'], torch.Size([10, 64]))
    """
    one_of("fit_batched", "optimizer", optimizer, ("sgd", "adamw"))
    if not members:
        raise fail("fit_batched", "members", "a list holding at least one Member", list(members))
    stack = _Stack(members, data, epochs, batch_size, optimizer, momentum, weight_decay)
    for m in members:
        m.result = RunResult(str(m.schedule), str(m.schedule), int(m.seed), stack.spe, batched=True,
                             plateau=None if m.plateau is None else repr(m.plateau))
    finals: list[Any] = [None] * len(members)
    start = time.perf_counter()
    for epoch in range(epochs):
        lrs = stack.lrs(epoch)
        train_loss = stack.train_epoch(epoch, lrs)
        _record(members, stack.alive, lrs, train_loss, *stack.validate(),
                wall_time=(time.perf_counter() - start) / len(members))
        drop = set(on_epoch(epoch, list(stack.alive)) if on_epoch is not None else ())
        for j, i in enumerate(stack.alive):
            if i in drop or epoch == epochs - 1:
                finals[i] = stack.weights(j)
                members[i].stopped = i in drop
        stack.drop(drop)
        if not stack.alive:
            break
    return finals


class _Stack:
    """The members still training as one model: stacked parameters (held by the optimizer), lr plan, batch orders."""

    def __init__(self, members: Sequence[Member], data: Dataset, epochs: int, batch_size: int, optimizer: str,
                 momentum: float, weight_decay: float) -> None:
        import torch
        from torch.func import functional_call, grad_and_value, vmap

        net = copy.deepcopy(members[0].init)
        if any(True for _ in net.buffers()):
            raise fail("fit_batched", "model", "a model without buffers (batch norm); use train() for it", net)
        self.members, self.alive = members, list(range(len(members)))
        self.batch_size, self.spe = batch_size, steps_per_epoch(data, batch_size)
        ts = np.arange(epochs * self.spe, dtype=np.float64)
        self.plan = np.stack([m.lr * m.schedule.values(ts) for m in members])  # base lr x schedule, every step
        self.names = [n for n, _ in net.named_parameters()]
        inits = [dict(m.init.named_parameters()) for m in members]
        params = [torch.stack([p[n].detach() for p in inits]).contiguous() for n in self.names]
        self.opt = make_optimizer(optimizer, params, momentum=momentum, weight_decay=weight_decay)
        self.x, self.y, self.xv, self.yv = tensors(data)
        self.orders = {s: epoch_orders(s, len(self.y), epochs) for s in sorted({int(m.seed) for m in members})}
        self.shared = len(self.orders) == 1  # one batch order for all: index the data once per step

        def loss(p, xb, yb):
            return torch.nn.functional.cross_entropy(functional_call(net, p, (xb,)), yb)

        self.grads = vmap(grad_and_value(loss), in_dims=(0, None, None) if self.shared else (0, 0, 0))
        self.logits = vmap(lambda p, xb: functional_call(net, p, (xb,)), in_dims=(0, None))

    def params(self) -> dict[str, Any]:
        return dict(zip(self.names, self.opt.params))

    def weights(self, j: int) -> dict[str, Any]:
        """A copy of the parameters of the ``j``-th member still training."""
        return {n: p[j].clone() for n, p in self.params().items()}

    def lrs(self, epoch: int) -> np.ndarray:
        """``(alive, steps_per_epoch)``: each member's lr of every step of ``epoch`` (its plateau's scale now)."""
        plateaus = [self.members[i].plateau for i in self.alive]
        scale = np.array([1.0 if p is None else p.scale for p in plateaus])
        return self.plan[self.alive, epoch * self.spe:(epoch + 1) * self.spe] * scale[:, None]

    def order(self, epoch: int):
        """The sample order of ``epoch``: one row for all (one seed), else one row per member."""
        import torch

        if self.shared:
            return torch.from_numpy(next(iter(self.orders.values()))[epoch])
        return torch.from_numpy(np.stack([self.orders[int(self.members[i].seed)][epoch] for i in self.alive]))

    def train_epoch(self, epoch: int, lrs: np.ndarray) -> np.ndarray:
        """Every step of ``epoch`` (step ``b`` at lrs ``lrs[:, b]``); each member's mean training loss."""
        import torch

        order, size = self.order(epoch), self.batch_size
        sums = torch.zeros(len(self.alive), dtype=torch.float64)
        for b in range(self.spe):
            idx = order[..., b * size:(b + 1) * size]
            grads, losses = self.grads(self.params(), self.x[idx], self.y[idx])
            self.opt.step([grads[n] for n in self.names], lrs[:, b])
            sums += losses.detach().double() * idx.shape[-1]
        return (sums / len(self.y)).numpy()

    def validate(self) -> tuple[list[float], list[float]]:
        """Each member's mean loss and accuracy on the whole validation split."""
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            out = self.logits(self.params(), self.xv)
            loss = F.cross_entropy(out.transpose(1, 2), self.yv.expand(len(self.alive), -1), reduction="none")
            acc = (out.argmax(dim=2) == self.yv).double().mean(dim=1)
        return loss.mean(dim=1).tolist(), acc.tolist()

    def drop(self, dropped: set[int]) -> None:
        """Stop training the members of ``dropped`` (indices into ``members``)."""
        if not dropped:
            return
        rows = [j for j, i in enumerate(self.alive) if i not in dropped]
        self.alive = [self.alive[j] for j in rows]
        if rows:
            self.opt.keep(rows)


def _record(members: Sequence[Member], alive: list[int], lrs: np.ndarray, train_loss: np.ndarray,
            val_loss: list[float], val_acc: list[float], *, wall_time: float) -> None:
    """Append the epoch to each training member's result; feed its plateau the validation loss."""
    for j, i in enumerate(alive):
        m = members[i]
        r = m.result
        r.lr.extend(lrs[j].tolist())
        r.train_loss.append(float(train_loss[j]))
        r.val_loss.append(val_loss[j])
        r.val_acc.append(val_acc[j])
        r.wall_time = wall_time
        if m.plateau is not None:
            m.plateau.update(val_loss[j])
