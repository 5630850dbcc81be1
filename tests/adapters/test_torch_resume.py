"""Resume through torch.save / torch.load gives the uninterrupted lr sequence, bit for bit."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler

STEPS = 1200
BASES = (0.1, 0.37, 3e-4)

CASES = {
    "plain": (lk.warmup(50) >> lk.cosine(1000, end=0.01), False),
    "noisy": (lk.noisy(lk.warmup(30) >> lk.linear(1100), std=0.3, seed=11), False),
    "plateau": (lk.restarts(lk.cosine(200, end=0.1), period_mult=1.3), True),
    "noisy+plateau": (lk.noisy(lk.one_cycle(1100), std=0.1, kind="uniform"), True),
}


def metric(t: int) -> float:
    """A validation curve that improves, then stalls: the plateau reduces a few times."""
    return 1.0 / (1 + t / 100) if t < 500 else 0.2 + 0.01 * math.sin(t)


def build(schedule, with_plateau: bool):
    params = [torch.nn.Parameter(torch.ones(3)) for _ in BASES]
    opt = torch.optim.SGD([{"params": [p], "lr": b} for p, b in zip(params, BASES)], lr=1.0, momentum=0.9)
    plateau = lk.Plateau(factor=0.5, patience=2) if with_plateau else None
    return opt, Scheduler(opt, schedule, plateau=plateau)


def advance(opt, sched, t0: int, t1: int, lrs: list) -> None:
    for g in opt.param_groups:
        g["params"][0].grad = torch.full((3,), 0.01)
    for t in range(t0, t1):
        opt.step()
        sched.step(metric(t)) if sched.plateau is not None and t % 25 == 24 else sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])


def save_and_reload(opt, sched, schedule, with_plateau: bool):
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    opt2, sched2 = build(schedule, with_plateau)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    return opt2, sched2


@pytest.mark.parametrize("case", list(CASES))
def test_resume_from_random_steps_matches_an_uninterrupted_run(case):
    schedule, with_plateau = CASES[case]
    opt, sched = build(schedule, with_plateau)
    full: list = []
    advance(opt, sched, 0, STEPS, full)
    if with_plateau:
        assert sched.plateau.reductions >= 2  # the plateau really acted
    rng = np.random.default_rng(list(CASES).index(case))
    breaks = sorted({0, 1, 511, 512, 513, 1023, STEPS - 1, *rng.integers(0, STEPS, 8).tolist()})
    for k in breaks:
        opt, sched = build(schedule, with_plateau)
        lrs: list = []
        advance(opt, sched, 0, k, lrs)
        opt, sched = save_and_reload(opt, sched, schedule, with_plateau)
        assert sched.last_epoch == k
        advance(opt, sched, k, STEPS, lrs)
        assert lrs == full, f"resumed at step {k}"


def test_resume_twice_and_load_order_does_not_matter():
    schedule, _ = CASES["noisy"]
    opt, sched = build(schedule, False)
    full: list = []
    advance(opt, sched, 0, 300, full)
    opt, sched = build(schedule, False)
    lrs: list = []
    for a, b in ((0, 100), (100, 200), (200, 300)):
        advance(opt, sched, a, b, lrs)
        state_o, state_s = opt.state_dict(), sched.state_dict()
        opt, sched = build(schedule, False)
        sched.load_state_dict(state_s)  # scheduler first, optimizer second
        opt.load_state_dict(state_o)
    assert lrs == full


def test_a_different_schedule_is_an_error_naming_both():
    opt, sched = build(lk.warmup(50) >> lk.cosine(1000), False)
    sched.step()
    state = sched.state_dict()
    _, other = build(lk.warmup(50) >> lk.cosine(2000), False)
    with pytest.raises(lk.SpecError) as info:
        other.load_state_dict(state)
    assert str(info.value) == (
        "Scheduler.load_state_dict(): the state was saved with schedule 'warmup(50) >> cosine(1000)' for "
        "param_groups[0], but this scheduler runs 'warmup(50) >> cosine(2000)'; to continue with this "
        "scheduler's schedule from the saved step 1, call load_state_dict(state, new_schedule=True)")


def test_new_schedule_continues_from_the_saved_step():
    """Extend a run: 1000 cosine steps become 2000, from step 600 on."""
    old, new = lk.cosine(1000, end=0.1), lk.cosine(2000, end=0.1)
    opt, sched = build(old, True)
    lrs: list = []
    advance(opt, sched, 0, 600, lrs)
    scale = sched.plateau.scale
    assert scale < 1
    state = sched.state_dict()
    opt2, sched2 = build(new, True)
    sched2.load_state_dict(state, new_schedule=True)
    assert sched2.last_epoch == 600 and sched2.plateau.scale == scale
    assert [g["lr"] for g in opt2.param_groups] == [b * new(600) * scale for b in BASES]
    assert sched2.state_dict()["schedules"][0] == {"lr": str(new)}


def test_branch_a_cooldown_with_new_schedule():
    main_run = lk.constant(1.0)
    cooldown = lk.constant(1.0, steps=400) >> lk.linear(100, end=0.0)
    opt, sched = build(main_run, False)
    advance(opt, sched, 0, 400, [])
    _, branch = build(cooldown, False)
    branch.load_state_dict(sched.state_dict(), new_schedule=True)
    for _ in range(100):
        branch.step()
    assert branch.get_last_lr() == [0.0, 0.0, 0.0]


def test_state_is_plain_python_with_the_schedule_text():
    _, sched = build(lk.warmup(5) >> lk.cosine(10), True)
    sched.step(1.0)
    assert sched.state_dict() == {
        "step": 1,
        "bases": [{"lr": b} for b in BASES],
        "schedules": [{"lr": "warmup(5) >> cosine(10)"}] * 3,
        "absolute": False,
        "plateau": {"scale": 1.0, "best": 1.0, "num_bad_epochs": 0, "cooldown_counter": 0,
                    "updates": 1, "reductions": 0},
        "scales": [1.0, 1.0, 1.0],
    }


def test_bad_states():
    _, sched = build(lk.cosine(10), False)
    state = sched.state_dict()
    with pytest.raises(lk.SpecError, match=r"state_dict must be a dict from Scheduler.state_dict\(\)"):
        sched.load_state_dict({"last_epoch": 3})
    with pytest.raises(lk.SpecError, match=r"saved for 2 param groups but the optimizer has 3"):
        sched.load_state_dict({**state, "bases": state["bases"][:2]})
    with pytest.raises(lk.SpecError, match=r"step must be a whole number >= 0; got step=-1"):
        sched.load_state_dict({**state, "step": -1})
    _, with_plateau = build(lk.cosine(10), True)
    with pytest.raises(lk.SpecError, match=r"the state holds a plateau \(scale 1\) but this scheduler has none"):
        sched.load_state_dict(with_plateau.state_dict())
    with pytest.raises(lk.SpecError, match=r"saved with absolute=True, but this scheduler has absolute=False"):
        sched.load_state_dict({**state, "absolute": True})


def test_scheduler_built_after_loading_the_optimizer_uses_the_saved_bases():
    """The optimizer's lr at that point is already scheduled; the saved bases win."""
    schedule = lk.warmup(10) >> lk.cosine(90, end=0.1)
    opt, sched = build(schedule, False)
    full: list = []
    advance(opt, sched, 0, 100, full)
    opt, sched = build(schedule, False)
    lrs: list = []
    advance(opt, sched, 0, 40, lrs)
    state_o, state_s = opt.state_dict(), sched.state_dict()
    params = [torch.nn.Parameter(torch.ones(3)) for _ in BASES]
    opt = torch.optim.SGD([{"params": [p], "lr": b} for p, b in zip(params, BASES)], lr=1.0, momentum=0.9)
    opt.load_state_dict(state_o)
    sched = Scheduler(opt, schedule)
    sched.load_state_dict(state_s)
    advance(opt, sched, 40, 100, lrs)
    assert lrs == full
