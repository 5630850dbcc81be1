"""One sweep and one training run of a problem at a given seed.

The seed sets the model's initial weights and the order of the batches; the
sweep and every training run of a (problem, seed) start from the same weights
and walk the same batch order, so their results are paired.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from torch.nn import functional as F

from . import data as datasets
from . import models
from .problems import BATCH, BUDGET, SWEEP, Problem


@dataclass(frozen=True)
class Tensors:
    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    task: str
    out: int

    def loss(self, output, target):
        return F.cross_entropy(output, target) if self.task == "classify" else F.mse_loss(output, target)


@cache
def tensors(data: str) -> Tensors:
    xt, yt, xv, yv, task = datasets.DATASETS[data]()
    out = int(max(yt.max(), yv.max()) + 1) if task == "classify" else 1
    return Tensors(torch.from_numpy(xt), torch.from_numpy(yt), torch.from_numpy(xv), torch.from_numpy(yv), task, out)


def batches(t: Tensors, seed: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` batches of BATCH rows: a fresh permutation each epoch (seeded), the last partial batch dropped."""
    g = torch.Generator().manual_seed(10_000 + seed)
    n = len(t.y)
    out = []
    while len(out) < count:
        order = torch.randperm(n, generator=g)
        for i in range(0, n - BATCH + 1, BATCH):
            idx = order[i:i + BATCH]
            out.append((t.x[idx], t.y[idx]))
            if len(out) == count:
                break
    return out


def model(p: Problem, seed: int) -> torch.nn.Module:
    t = tensors(p.data)
    return models.make(p.model, t.x.shape[1], t.out, seed)


def optimizer(p: Problem, params, lr: float) -> torch.optim.Optimizer:
    if p.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.AdamW(params, lr=lr)


def metric(p: Problem, net: torch.nn.Module) -> float:
    """Held-out accuracy (classification) or R^2 (regression); higher is better."""
    t = tensors(p.data)
    net.eval()
    with torch.no_grad():
        out = net(t.x_val)
    net.train()
    if t.task == "classify":
        return float((out.argmax(1) == t.y_val).double().mean())
    mse = float(F.mse_loss(out, t.y_val))
    if not math.isfinite(mse):
        return -math.inf
    return 1.0 - mse / float(t.y_val.var(unbiased=False))


def initial_metric(p: Problem, seed: int) -> float:
    return metric(p, model(p, seed))


def sweep(p: Problem, seed: int, *, steps: int | None = None) -> tuple[list[float], list[float]]:
    """The raw range-test curve (lrs, losses) of lrkit's ``find_lr`` with the default sweep and no divergence
    stop (``diverge=1e300``); it ends early only on a NaN/inf loss. Any stop rule applied to a prefix of it
    gives exactly the sweep that would have stopped there: each loss depends only on the steps before it."""
    from lrkit.finder.torch import find_lr

    t = tensors(p.data)
    net = model(p, seed)
    n = steps or SWEEP["steps"]
    r = find_lr(net, optimizer(p, net.parameters(), 1e-3), t.loss, batches(t, seed, n),
                start=SWEEP["start"], end=SWEEP["end"], steps=n, diverge=1e300)
    return r.lrs.tolist(), r.losses.tolist()


def train(p: Problem, seed: int, lr_at: Callable[[int], float], *, budget: int = BUDGET) -> dict:
    """Train for ``budget`` steps with lr ``lr_at(step)``; the held-out metric at the end, or the initial
    metric when a loss became NaN/inf (``diverged``)."""
    t = tensors(p.data)
    net = model(p, seed)
    opt = optimizer(p, net.parameters(), lr_at(0))
    for step, (x, y) in enumerate(batches(t, seed, budget)):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        loss = t.loss(net(x), y)
        if not torch.isfinite(loss):
            return {"metric": initial_metric(p, seed), "diverged": True, "steps": step}
        loss.backward()
        opt.step()
    m = metric(p, net)
    if not np.isfinite(m):
        return {"metric": initial_metric(p, seed), "diverged": True, "steps": budget}
    return {"metric": m, "diverged": False, "steps": budget}
