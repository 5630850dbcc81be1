"""Phased training: hyperparameters switch at the boundaries, driven by the step count alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.recipes import Phase, Window, phased
from lrkit.torch import Scheduler

BASE_LR, BASE_MOM, BASE_WD = 0.2, 0.9, 1e-3


def _phases():
    return [
        Phase(12, name="explore", lr=lk.cyclic(0.5, 1.0, up=3), momentum=1.0),
        Phase(20, name="anneal", lr=lk.cosine(20, end=0.05), momentum=0.95, weight_decay=2.0),
        Phase(8, name="settle", lr=0.01, momentum=0.0, weight_decay=0.0),
    ]


def _expected(t: int) -> tuple[float, float, float]:
    """The hand-written plan: (lr, momentum, weight_decay) at step t."""
    if t < 12:
        k = t % 6
        tri = k / 3 if k <= 3 else (6 - k) / 3
        return BASE_LR * (0.5 + 0.5 * tri), BASE_MOM, BASE_WD
    if t < 32:
        u = t - 12
        cos = 0.05 + 0.95 * (1 + math.cos(math.pi * u / 20)) / 2
        return BASE_LR * cos, BASE_MOM * 0.95, BASE_WD * 2.0
    return BASE_LR * 0.01, 0.0, 0.0


def _sgd():
    model = torch.nn.Linear(3, 1)
    return model, torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=BASE_MOM, weight_decay=BASE_WD)


def test_values_follow_the_phases_in_a_real_optimizer():
    model, opt = _sgd()
    sched = Scheduler(opt, phased(_phases()))
    x = torch.randn(16, 3)
    for t in range(50):
        g = opt.param_groups[0]
        want = _expected(t)
        assert (g["lr"], g["momentum"], g["weight_decay"]) == pytest.approx(want, rel=1e-12), t
        model(x).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        sched.step()


def test_endless_schedules_are_cut_and_later_phases_start_at_their_own_zero():
    plan = phased([Phase(5, lr=lk.step(2, gamma=0.5)), Phase(5, lr=lk.linear(5, 1.0, 0.0))])
    got = [plan["lr"](t) for t in range(11)]
    assert got == pytest.approx([1, 1, 0.5, 0.5, 0.25, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0], rel=1e-14, abs=1e-15)
    assert plan["lr"].duration == 10


def test_a_param_left_out_is_the_base():
    plan = phased([Phase(3, momentum=0.5), Phase(3, lr=0.1)])
    assert plan["lr"].values(np.arange(6)).tolist() == [1, 1, 1, 0.1, 0.1, 0.1]
    assert plan["momentum"].values(np.arange(6)).tolist() == [0.5, 0.5, 0.5, 1, 1, 1]


def test_absolute_needs_every_param_in_every_phase():
    with pytest.raises(lk.SpecError, match="phases\\[1\\] Phase\\(3, lr=0.1\\) does not set 'momentum'"):
        phased([Phase(3, lr=0.5, momentum=0.9), Phase(3, lr=0.1)], absolute=True)
    plan = phased([Phase(3, lr=0.5, momentum=0.9), Phase(3, lr=0.1, momentum=0.0)], absolute=True)
    _, opt = _sgd()
    sched = Scheduler(opt, plan, absolute=True)
    for _ in range(3):
        opt.step()
        sched.step()
    assert (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]) == (0.1, 0.0)


def test_run_relative_lengths_bind_per_phase():
    plan = phased([Phase("10%", lr=lk.warmup("rest")), Phase("2ep", lr=0.5), Phase("rest", lr=lk.cosine("rest"))])
    bound = plan["lr"].bind(total_steps=100, steps_per_epoch=15)
    assert str(bound) == "window(warmup(10), 10) >> constant(0.5, steps=30) >> cosine(60)"
    _, opt = _sgd()
    sched = Scheduler(opt, plan, total_steps=100, steps_per_epoch=15)
    for _ in range(40):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(BASE_LR)  # cosine(60) starts at the base


def test_resume_mid_phase_is_exact():
    plan = phased(_phases())
    _, opt = _sgd()
    sched = Scheduler(opt, plan)
    for _ in range(17):
        opt.step()
        sched.step()
    state = sched.state_dict()
    _, opt2 = _sgd()
    sched2 = Scheduler(opt2, phased(_phases()))
    sched2.load_state_dict(state)
    for _ in range(20):
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
        assert opt2.param_groups[0]["momentum"] == opt.param_groups[0]["momentum"]
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()


def test_layerwise_groups_keep_their_ratios_through_phases():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.01},
                           {"params": model[1].parameters(), "lr": 0.1}], lr=0.1, momentum=0.9)
    sched = Scheduler(opt, phased(_phases()))
    for _ in range(25):
        opt.step()
        sched.step()
        a, b = (g["lr"] for g in opt.param_groups)
        assert a / b == pytest.approx(0.1, rel=1e-12)


def test_window_holds_its_value_past_the_end():
    w = Window(lk.linear(10), 4)
    assert [w(t) for t in (0, 4, 100)] == [1.0, 0.6, 0.6]
    assert w.duration == 4


def test_phase_repr_and_equality():
    p = Phase(100, name="warm", lr=lk.warmup(100), momentum=0.9)
    assert repr(p) == "Phase(100, name='warm', lr=warmup(100), momentum=0.9)"
    assert p == Phase(100, name="warm", lr=lk.warmup(100), momentum=0.9)
    assert hash(p) == hash(Phase(100, name="warm", lr=lk.warmup(100), momentum=0.9))
    with pytest.raises(AttributeError):
        p.steps = 3


@pytest.mark.parametrize("make, message", [
    (lambda: Phase(0, lr=0.1), "Phase(): steps must be > 0; got steps=0"),
    (lambda: Phase(10, lr=-0.1), "Phase(): lr must be >= 0; got lr=-0.1"),
    (lambda: Phase(10, nesterov=True), "Phase(): nesterov must be a number or a schedule"),
    (lambda: Phase(10, lr="cosine(10)"), "Phase(): lr must be a number or a schedule"),
    (lambda: phased([]), "phased(): phases must be a non-empty list of Phase(...)"),
    (lambda: phased(Phase(3, lr=1.0)), "phased(): phases must be a list of Phase(...)"),
    (lambda: phased([Phase(3, lr=1.0), {"lr": 1.0}]), "phased(): phases[1] must be a Phase(...)"),
    (lambda: phased([Phase(3)]), "phased(): no phase sets any hyperparameter"),
    (lambda: phased([Phase(3, lr=1.0)], absolute=1), "phased(): absolute must be True or False"),
    (lambda: Window(lk.cosine(10), -1), "window(): steps must be > 0; got steps=-1"),
])
def test_bad_arguments(make, message):
    with pytest.raises(lk.SpecError) as e:
        make()
    assert message in str(e.value)
