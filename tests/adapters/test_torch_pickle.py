"""lrkit.torch.Scheduler pickles like torch's own schedulers, auto_step hook included.

``torch.save(sched)`` / ``torch.load(weights_only=False)`` for the object (with
its optimizer), ``torch.save(sched.state_dict())`` / ``torch.load(weights_only=True)``
for the state.
"""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler

S = lk.noisy(lk.warmup(5) >> lk.cosine(40, end=0.1), std=0.1, seed=3)


def build(**kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam([{"params": [model.weight], "lr": 0.01}, {"params": [model.bias], "lr": 0.003}])
    return model, opt, Scheduler(opt, S, **kw)


def train(model, opt, n: int) -> None:
    for _ in range(n):
        model(torch.ones(2, 3)).sum().backward()
        opt.step()
        opt.zero_grad()


def round_trip(obj, how: str):
    if how == "pickle":
        return pickle.loads(pickle.dumps(obj))
    if how == "deepcopy":
        return copy.deepcopy(obj)
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


@pytest.mark.parametrize("how", ["pickle", "torch.save", "deepcopy"])
def test_auto_step_scheduler_round_trips_and_its_hook_is_registered_again(how):
    model, opt, sched = build(auto_step=True, plateau=lk.Plateau(factor=0.5, patience=0))
    train(model, opt, 7)
    sched.step(1.0)
    sched.step(2.0)  # a reduction: the scales are part of what must survive
    back = round_trip(sched, how)
    assert back is not sched and back.optimizer is not opt
    assert (back.last_epoch, back.scales, back.plateau.state_dict()) == (7, [0.5, 0.5], sched.plateau.state_dict())
    assert repr(back) == repr(sched) and "auto_step=True" in repr(back)
    # the loaded optimizer's steps are counted by the loaded scheduler, and only by it
    params = [p for g in back.optimizer.param_groups for p in g["params"]]
    for p in params:
        p.grad = torch.ones_like(p)
    for _ in range(3):
        back.optimizer.step()
    assert back.last_epoch == 10 and sched.last_epoch == 7
    assert [g["lr"] for g in back.optimizer.param_groups] == [b * S(10) * 0.5 for b in (0.01, 0.003)]
    # and the original keeps counting its own optimizer
    train(model, opt, 2)
    assert sched.last_epoch == 9


def test_closed_scheduler_loads_without_a_hook():
    *_, sched = build(auto_step=True)
    sched.close()
    back = round_trip(sched, "torch.save")
    back.optimizer.step()
    assert back.last_epoch == 0 and "auto_step" not in repr(back)


def test_pickled_like_torch_own_scheduler():
    """torch's OneCycleLR pickles with its optimizer; so does lrkit's, and it resumes the same lrs."""
    model, opt, sched = build()
    ref = torch.optim.lr_scheduler.OneCycleLR(torch.optim.SGD(model.parameters(), lr=0.1), max_lr=0.1,
                                              total_steps=50)
    round_trip(ref, "torch.save")  # the reference pickles: no error
    for _ in range(12):
        sched.step()
    back = round_trip(sched, "torch.save")
    for _ in range(20):
        sched.step()
        back.step()
        assert [g["lr"] for g in back.optimizer.param_groups] == [g["lr"] for g in opt.param_groups]


def test_state_dict_loads_with_weights_only_and_resumes_auto_step():
    model, opt, sched = build(auto_step=True, plateau=lk.Plateau(factor=0.5, patience=1))
    train(model, opt, 9)
    for m in (1.0, 2.0, 3.0):
        sched.step(m)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    model2, opt2, sched2 = build(auto_step=True, plateau=lk.Plateau(factor=0.5, patience=1))
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    assert sched2.scales == sched.scales == [0.5, 0.5]
    model2.load_state_dict(model.state_dict())
    train(model, opt, 4)
    train(model2, opt2, 4)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    assert sched2.last_epoch == sched.last_epoch == 13
