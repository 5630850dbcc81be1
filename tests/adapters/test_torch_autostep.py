"""auto_step=True: the count follows real optimizer updates (an optimizer step post-hook)."""

from __future__ import annotations

import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler


def model_and_adam(lr=1e-2):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


def test_gradient_accumulation_counts_optimizer_updates_only():
    s = lk.warmup(5) >> lk.cosine(20)
    model, opt = model_and_adam()
    sched = Scheduler(opt, s, auto_step=True)
    accumulate = 4
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    for i in range(48):  # 48 micro-batches -> 12 optimizer updates
        loss = torch.nn.functional.mse_loss(model(x[i % 16 * 4:][:4]), y[i % 16 * 4:][:4]) / accumulate
        loss.backward()
        if (i + 1) % accumulate == 0:
            opt.step()
            opt.zero_grad()
            assert sched.last_epoch == (i + 1) // accumulate
            assert opt.param_groups[0]["lr"] == 1e-2 * s(sched.last_epoch)
    assert sched.last_epoch == 12


def test_grad_scaler_skipped_steps_are_not_counted():
    """A real inf gradient under torch.amp.GradScaler("cpu"): scaler.step() skips optimizer.step()."""
    s = lk.linear(10)
    model, opt = model_and_adam(lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4)
    sched = Scheduler(opt, s, auto_step=True)
    x = torch.ones(2, 4)
    finite = [True, True, False, True, False, False, True]
    for ok in finite:
        opt.zero_grad()
        inputs = x if ok else x * torch.tensor(float("inf"))
        loss = model(inputs).sum()
        scaler.scale(loss).backward()
        before = [p.detach().clone() for p in model.parameters()]
        scaler.step(opt)
        scaler.update()
        changed = any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
        assert changed == ok  # the update really was skipped on inf gradients
    assert sched.last_epoch == sum(finite) == 4
    assert opt.param_groups[0]["lr"] == 0.5 * s(4)


def test_step_does_not_advance_and_feeds_the_plateau():
    s = lk.linear(100)
    model, opt = model_and_adam(lr=1.0)
    sched = Scheduler(opt, s, auto_step=True, plateau=lk.Plateau(factor=0.5, patience=0))
    for _ in range(3):
        opt.step()
    sched.step()
    assert sched.last_epoch == 3
    sched.step(1.0)
    sched.step(2.0)  # bad epoch: the scale halves, the step stays
    assert sched.last_epoch == 3
    assert opt.param_groups[0]["lr"] == s(3) * 0.5
    opt.step()
    assert opt.param_groups[0]["lr"] == s(4) * 0.5
    assert "auto_step=True" in repr(sched)


def test_close_removes_the_hook():
    model, opt = model_and_adam()
    sched = Scheduler(opt, lk.linear(10), auto_step=True)
    opt.step()
    sched.close()
    opt.step()
    assert sched.last_epoch == 1
    sched.step()  # now counted by hand
    assert sched.last_epoch == 2


def test_resume_with_auto_step():
    s = lk.noisy(lk.cosine(50), std=0.2)
    model, opt = model_and_adam()
    sched = Scheduler(opt, s, auto_step=True)
    for _ in range(20):
        opt.step()
    state = sched.state_dict()
    model2, opt2 = model_and_adam()
    sched2 = Scheduler(opt2, s, auto_step=True)
    sched2.load_state_dict(state)
    for _ in range(5):
        opt.step()
        opt2.step()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 1e-2 * s(sched.last_epoch)


@pytest.mark.parametrize("auto_step", [False, True])
def test_two_schedulers_on_one_optimizer_drive_different_params(auto_step):
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    a = Scheduler(opt, lk.linear(10), auto_step=auto_step)
    b = Scheduler(opt, lk.linear(10, 1.0, 0.5), param="momentum", auto_step=auto_step)
    for _ in range(4):
        opt.step()
        if not auto_step:
            a.step()
            b.step()
    assert opt.param_groups[0]["lr"] == 0.1 * lk.linear(10)(4)
    assert opt.param_groups[0]["momentum"] == 0.9 * lk.linear(10, 1.0, 0.5)(4)
