"""weight_decay_schedule: the formula, the guard at lr = 0, and the decay AdamW really applies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.recipes import Reciprocal, weight_decay_schedule
from lrkit.torch import Scheduler, ops


def test_keep_product_is_reference_over_lr_with_a_floor():
    lr = lk.warmup(10) >> lk.cosine(90)
    wd = weight_decay_schedule(lr, floor=0.01)
    ts = np.arange(0, 120, dtype=np.float64)
    expected = [1.0 / max(lr(t), 0.01) for t in ts]
    np.testing.assert_allclose(wd.values(ts), expected, rtol=1e-15)
    assert wd(0) == 100.0  # lr 0 at the start of the warmup: capped at 1/floor, finite
    assert wd.duration == lr.duration


def test_keep_product_keeps_lr_times_wd_where_lr_is_above_the_floor():
    lr = lk.cosine(1000, end=0.02)
    wd = weight_decay_schedule(lr)
    ts = np.arange(1000, dtype=np.float64)
    np.testing.assert_allclose(lr.values(ts) * wd.values(ts), 1.0, rtol=1e-14)


def test_reference_for_an_absolute_lr_schedule():
    peak = 3e-4
    lr = peak * lk.cosine(100, end=0.1)
    wd = 0.05 * weight_decay_schedule(lr, reference=peak)
    ts = np.arange(100, dtype=np.float64)
    np.testing.assert_allclose(lr.values(ts) * wd.values(ts), peak * 0.05, rtol=1e-13)
    assert wd(0) == pytest.approx(0.05)


def test_keep_wd_is_constant():
    assert weight_decay_schedule(lk.cosine(10), keep="wd") == lk.constant()


def test_reciprocal_evaluates_the_same_in_torch():
    s = weight_decay_schedule(lk.linear(50, 1.0, 0.0), floor=0.1)
    t = torch.arange(60, dtype=torch.float64)
    np.testing.assert_array_equal(s.evaluate(t, ops).numpy(), s.values(t.numpy()))


def _adamw_with_zero_grads(keep: str, steps: int, base_lr=0.01, base_wd=0.5):
    """AdamW with zero gradients: only the decoupled decay moves the weights."""
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = torch.optim.AdamW([p], lr=base_lr, weight_decay=base_wd)
    lr = lk.cosine(steps, end=0.05)
    sched = Scheduler(opt, {"lr": lr, "weight_decay": weight_decay_schedule(lr, keep=keep)})
    for _ in range(steps):
        p.grad = torch.zeros_like(p)
        opt.step()
        sched.step()
    return p.detach().numpy(), lr


@pytest.mark.parametrize("keep", ["product", "wd"])
def test_adamw_applies_the_scheduled_decay(keep):
    steps, base_lr, base_wd = 200, 0.01, 0.5
    got, lr = _adamw_with_zero_grads(keep, steps, base_lr, base_wd)
    # independent truth: p <- p * (1 - lr_t wd_t) each step
    factor = 1.0
    for t in range(steps):
        lr_t = base_lr * lr(t)
        wd_t = base_wd / lr(t) if keep == "product" else base_wd
        factor *= 1 - lr_t * wd_t
    np.testing.assert_allclose(got, np.array([1.0, -2.0]) * factor, rtol=1e-12)
    if keep == "product":
        assert factor == pytest.approx((1 - base_lr * base_wd) ** steps, rel=1e-12)
    else:  # decays with the lr: half the total decay of a cosine, far less shrinking
        assert factor > (1 - base_lr * base_wd) ** (0.6 * steps)


def test_resume_carries_the_weight_decay_schedule():
    lr = lk.cosine(30, end=0.1)
    plan = {"lr": lr, "weight_decay": weight_decay_schedule(lr)}

    def make():
        return torch.optim.AdamW(torch.nn.Linear(2, 1).parameters(), lr=0.1, weight_decay=0.2)

    opt = make()
    sched = Scheduler(opt, plan)
    for _ in range(7):
        opt.step()
        sched.step()
    opt2 = make()
    sched2 = Scheduler(opt2, plan)
    sched2.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["weight_decay"] == opt.param_groups[0]["weight_decay"]
    assert "reciprocal(cosine(30, end=0.1))" in str(sched.state_dict()["schedules"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.1), "weight_decay_schedule(): lr must be a schedule"),
    (dict(lr=lk.cosine(10), keep="lr"), "keep must be 'product' (lr * wd constant) or 'wd'"),
    (dict(lr=lk.cosine(10), floor=0), "floor must be > 0; got floor=0"),
    (dict(lr=lk.cosine(10), floor=2), "floor must be <= 1; got floor=2"),
    (dict(lr=lk.cosine(10), reference=-1.0), "reference must be > 0; got reference=-1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        weight_decay_schedule(**kwargs)


def test_reciprocal_checks_its_fields():
    with pytest.raises(lk.SpecError, match="reciprocal\\(\\): floor must be > 0; got floor=0"):
        Reciprocal(lk.cosine(10), floor=0.0)
    with pytest.raises(lk.SpecError, match="reciprocal\\(\\): inner must be a schedule"):
        Reciprocal(3.0)
    assert math.isfinite(Reciprocal(lk.linear(5))(5))
