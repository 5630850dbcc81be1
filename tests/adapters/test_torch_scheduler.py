"""lrkit.torch.Scheduler with real torch optimizers: values, params, groups, binding, errors."""

from __future__ import annotations

import warnings

import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler

SCHEDULES = [
    lk.warmup(20) >> lk.cosine(80, end=0.01),
    lk.one_cycle(100, peak=2.0, three_phase=True),
    lk.noisy(lk.linear(100), std=0.2, seed=3),
    lk.restarts(lk.cosine(30, end=0.1), period_mult=1.5, decay=0.7),
    lk.cyclic(0.1, 1.0, 7, mode="triangular2") * lk.exponential(half_life=40),
    lk.wsd(100, 10, 30, shape="1-sqrt") + 0.05,
]


def sgd(lrs, kind="float", **extra) -> torch.optim.Optimizer:
    groups = []
    for lr in lrs:
        value = torch.tensor(lr, dtype=kind) if isinstance(kind, torch.dtype) else lr
        groups.append({"params": [torch.nn.Parameter(torch.ones(2))], "lr": value, **extra})
    return torch.optim.SGD(groups, lr=0.1)


def train_step(opt) -> None:
    for g in opt.param_groups:
        for p in g["params"]:
            p.grad = torch.ones_like(p)
    opt.step()


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_every_group_gets_base_times_schedule_exactly(schedule):
    bases = [0.1 * (i + 1) ** 1.5 for i in range(10)]
    opt = sgd(bases)
    sched = Scheduler(opt, schedule)
    for t in range(130):
        assert [g["lr"] for g in opt.param_groups] == [b * schedule(t) for b in bases], t
        assert sched.last_epoch == t
        train_step(opt)
        sched.step()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensor_lr_is_filled_in_place(dtype):
    s = lk.warmup(5) >> lk.cosine(20)
    opt = sgd([0.3, 0.03], kind=dtype)
    tensors = [g["lr"] for g in opt.param_groups]
    sched = Scheduler(opt, s)
    for t in range(30):
        for g, lr, base in zip(opt.param_groups, tensors, (0.3, 0.03)):
            assert g["lr"] is lr and g["lr"].dtype == dtype
            base = torch.tensor(base, dtype=dtype).item()  # the base is the tensor's own value
            assert g["lr"].item() == torch.tensor(base * s(t), dtype=dtype).item()
        train_step(opt)
        sched.step()
    assert isinstance(sched.get_last_lr()[0], torch.Tensor)
    assert sched.get_last_lr()[0] is not tensors[0]  # a copy, as torch returns it


def test_construction_only_sets_the_step0_value():
    opt = sgd([0.5, 0.25], momentum=0.9)
    before = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    step_fn = opt.step
    Scheduler(opt, lk.warmup(10, start=0.1))
    after = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    for b, a in zip(before, after):
        assert a == {**b, "lr": b["lr"] * 0.1}  # no "initial_lr" or other hidden keys
    assert opt.step == step_fn and not hasattr(opt.step, "_wrapped_by_lr_sched")
    assert opt.state_dict()["state"] == {}


def test_is_an_lr_scheduler_with_torch_attributes():
    opt = sgd([0.2, 0.4])
    sched = Scheduler(opt, "warmup(4) >> cosine(4)")
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert sched.base_lrs == [0.2, 0.4]
    for _ in range(3):
        train_step(opt)
        sched.step()
    expected = [0.2 * 0.75, 0.4 * 0.75]
    assert sched.get_last_lr() == expected == sched.get_lr()
    assert sched.group_values() == [{"lr": 0.2 * 0.75}, {"lr": 0.4 * 0.75}]
    assert sched.group_values(8) == [{"lr": 0.0}, {"lr": 0.0}]
    assert repr(sched) == ("Scheduler(optimizer=SGD (2 groups), "
                           "schedule={lr: warmup(4) >> cosine(4)}, step=3)")


def test_absolute_values_ignore_the_base():
    s = 3e-4 * lk.cosine(50)
    opt = sgd([1.0, 123.0])
    sched = Scheduler(opt, s, absolute=True)
    for t in range(60):
        assert [g["lr"] for g in opt.param_groups] == [s(t), s(t)]
        train_step(opt)
        sched.step()


def test_stepping_far_past_the_end_holds_the_final_value():
    s = lk.noisy(lk.warmup(10) >> lk.cosine(90, end=0.1), std=0.1)
    opt = sgd([0.5])
    sched = Scheduler(opt, s)
    state = sched.state_dict()
    state["step"] = 10**12
    sched.load_state_dict(state)
    for _ in range(2000):
        sched.step()
        assert opt.param_groups[0]["lr"] == 0.5 * s(100)


def test_normal_use_emits_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = torch.optim.AdamW(torch.nn.Linear(3, 1).parameters(), lr=1e-3)
        sched = Scheduler(opt, lk.warmup(3) >> lk.cosine(5), plateau=lk.Plateau(patience=0))
        sched.step()  # before any optimizer.step(): torch warns here, lrkit does not
        for i in range(10):
            opt.step()
            sched.step()
            sched.step(1.0 / (i + 1))
        sched.load_state_dict(sched.state_dict())


# -------------------------------------------------------------- parameters
def test_momentum_weight_decay_and_a_custom_key():
    opt = sgd([0.1, 0.2], momentum=0.9, weight_decay=0, my_knob=2.0)
    plan = {"momentum": lk.linear(10, 1.0, 0.5), "weight_decay": 1e-2 * lk.cosine(10),
            "my_knob": lk.step(3, gamma=0.5)}
    sched = Scheduler(opt, plan)
    for t in range(12):
        for g in opt.param_groups:
            assert g["lr"] in (0.1, 0.2)
            assert g["momentum"] == 0.9 * plan["momentum"](t)
            assert g["weight_decay"] == 0.0  # base 0: a multiplier keeps it 0
            assert g["my_knob"] == 2.0 * plan["my_knob"](t)
        train_step(opt)
        sched.step()


def test_weight_decay_absolute():
    opt = sgd([0.1], weight_decay=0)
    s = 0.05 * lk.linear(10)
    Scheduler(opt, s, param="weight_decay", absolute=True)
    assert opt.param_groups[0]["weight_decay"] == 0.05


def test_beta1_with_float_betas_replaces_only_the_first():
    opt = torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=1e-3, betas=(0.9, 0.99))
    s = lk.linear(10, 1.0, 0.8)
    sched = Scheduler(opt, s, param="beta1")
    for t in range(12):
        betas = opt.param_groups[0]["betas"]
        assert type(betas) is tuple and betas == (0.9 * s(t), 0.99)
        assert opt.param_groups[0]["lr"] == 1e-3
        sched.step()


def test_lr_and_beta1_tensors_in_place_for_one_cycle():
    lr, b1, b2 = torch.tensor(0.01), torch.tensor(0.95), torch.tensor(0.999)
    opt = torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=lr, betas=(b1, b2), foreach=False)
    lr_s = lk.one_cycle(20)
    beta_s = lk.interpolate([(0, 1.0), (6, 0.9), (19, 1.0)])  # beta1: 0.95 -> 0.855 -> 0.95
    sched = Scheduler(opt, {"lr": lr_s, "beta1": beta_s})
    base_lr, base_b1, base_b2 = (torch.tensor(x).item() for x in (0.01, 0.95, 0.999))  # float32 bases
    for t in range(25):
        g = opt.param_groups[0]
        assert g["lr"] is lr and g["betas"][0] is b1 and g["betas"][1] is b2
        assert lr.item() == torch.tensor(base_lr * lr_s(t)).item()
        assert b1.item() == torch.tensor(base_b1 * beta_s(t)).item()
        assert b2.item() == base_b2
        sched.step()


# ------------------------------------------------------- groups with plans
def test_a_group_carries_its_own_schedule():
    opt = sgd([0.1, 0.2, 0.3])
    opt.param_groups[1]["schedule"] = "constant(0.5)"
    opt.param_groups[2]["schedule"] = {"lr": lk.linear(10), "momentum": "linear(10, 1, 0.5)"}
    opt.param_groups[2]["momentum"] = 0.8
    top = lk.cosine(10)
    sched = Scheduler(opt, top)
    for t in range(11):
        g0, g1, g2 = opt.param_groups
        assert (g0["lr"], g1["lr"], g2["lr"]) == (0.1 * top(t), 0.2 * 0.5, 0.3 * lk.linear(10)(t))
        assert g2["momentum"] == 0.8 * lk.linear(10, 1, 0.5)(t)
        assert g0["momentum"] == 0  # not scheduled in groups without a momentum plan
        sched.step()


def test_schedule_none_when_every_group_carries_one():
    opt = sgd([0.1, 0.2])
    for g, text in zip(opt.param_groups, ["warmup(5)", "constant()"]):
        g["schedule"] = text
    sched = Scheduler(opt, None)
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.1 * 0.2, 0.2]
    del opt.param_groups[1]["schedule"]
    with pytest.raises(lk.SpecError, match=r"^Scheduler\(\): schedule must be a schedule, or None when every group "
                                           r"carries one .*\(param_groups\[1\] carries none\); got schedule=None$"):
        Scheduler(opt, None)


# ------------------------------------------------------------------ units
def test_binds_epochs_and_rest_from_the_run_length():
    s = lk.warmup("2ep") >> lk.cosine("rest")
    opt = sgd([1.0])
    sched = Scheduler(opt, s, total_steps=100, steps_per_epoch=10)
    bound = lk.warmup(20) >> lk.cosine(80)
    assert sched.schedule == bound
    for t in range(101):
        assert opt.param_groups[0]["lr"] == bound(t)
        sched.step()


@pytest.mark.parametrize("spec, kwargs, need", [
    ("warmup('2ep') >> cosine('rest')", {}, "total_steps=..., steps_per_epoch=..."),
    ("warmup('2ep') >> cosine('rest')", {"total_steps": 100}, "steps_per_epoch=..."),
    ("warmup('10%') >> cosine(90)", {"steps_per_epoch": 10}, "total_steps=..."),
])
def test_unbound_schedule_names_what_to_pass(spec, kwargs, need):
    with pytest.raises(lk.SpecError, match=rf"pass Scheduler\(\.\.\., {need}\) to bind them$"):
        Scheduler(sgd([1.0]), spec, **kwargs)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(param="lrr"), r"param must be a numeric value of param_groups\[0\]: one of 'lr', .* "
                        r"\(did you mean 'lr'\?\); got param='lrr'$"),
    (dict(param="beta1"), r"param must be a numeric value of param_groups\[0\]: one of 'lr', 'momentum', "
                          r"'dampening', 'weight_decay'; got param='beta1'$"),
    (dict(param=3), r"param must be a param name such as 'lr'; got param=3"),
    (dict(plateau=0.5), r"plateau must be an lk.Plateau or None; got plateau=0.5"),
    (dict(absolute=1), r"absolute must be True or False; got absolute=1"),
    (dict(auto_step="yes"), r"auto_step must be True or False; got auto_step='yes'"),
    (dict(total_steps=0), r"total_steps must be > 0; got total_steps=0$"),
    (dict(total_steps="10"), r"total_steps must be a number; got total_steps='10'$"),
    (dict(steps_per_epoch=-3.5), r"steps_per_epoch must be > 0; got steps_per_epoch=-3.5$"),
    (dict(plateau_params=()), r"plateau_params must be a non-empty tuple of distinct param names"),
    (dict(plateau_params=("lr", "lr")), r"plateau_params must be a non-empty tuple of distinct param names"),
    (dict(plateau_params=("lr", "wd")), r"plateau_params must be a numeric value of param_groups\[0\]: one of .*"
                                        r"; got plateau_params='wd'$"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError, match=r"^Scheduler\(\): " + message):
        Scheduler(sgd([0.1]), lk.cosine(10), **kwargs)


def test_bad_schedules_and_optimizers():
    with pytest.raises(lk.SpecError, match=r"^Scheduler\(\): optimizer must be a torch.optim.Optimizer"):
        Scheduler([{"lr": 0.1}], lk.cosine(10))
    with pytest.raises(lk.SpecError, match=r"^Scheduler\(\): schedule must be an lrkit schedule or its text form; "
                                           r"got schedule=0.1"):
        Scheduler(sgd([0.1]), 0.1)
    with pytest.raises(lk.SpecError, match=r"did you mean 'cosine'"):
        Scheduler(sgd([0.1]), "cosin(10)")
    with pytest.raises(lk.SpecError, match=r"param must be left at 'lr' when schedule is a dict"):
        Scheduler(sgd([0.1]), {"lr": lk.cosine(10)}, param="momentum")
    with pytest.raises(lk.SpecError, match=r"schedule\['momentum'\] must be an lrkit schedule or its text form"):
        Scheduler(sgd([0.1]), {"lr": lk.cosine(10), "momentum": None})
    adam = torch.optim.Adam(torch.nn.Linear(2, 1).parameters())
    with pytest.raises(lk.SpecError, match=r"got param='momentum'"):
        Scheduler(adam, lk.cosine(10), param="momentum")


def test_metric_without_plateau_and_groups_added_later():
    opt = sgd([0.1])
    sched = Scheduler(opt, lk.cosine(10))
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): metric must be None when the scheduler has no "
                                           r"plateau \(build it with plateau=lk.Plateau\(...\)\); got metric=0.5$"):
        sched.step(0.5)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))]})
    with pytest.raises(lk.SpecError, match=r"the optimizer has 2 param groups but the scheduler was built for 1"):
        sched.step()


# ---------------------------------------------------------------- plateau
def test_plateau_scale_multiplies_the_schedule():
    s = lk.warmup(3) >> lk.constant(1.0)
    plateau = lk.Plateau(factor=0.5, patience=1)
    opt = sgd([0.1, 0.3])
    sched = Scheduler(opt, s, plateau=plateau)
    metrics = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4]
    reference = lk.Plateau(factor=0.5, patience=1)
    for t, m in enumerate(metrics, start=1):
        train_step(opt)
        sched.step(m)
        scale = reference.update(m)
        assert [g["lr"] for g in opt.param_groups] == [b * s(t) * scale for b in (0.1, 0.3)]
    assert plateau.scale == 0.25
    assert "plateau=Plateau(factor=0.5, patience=1), scale=0.25" in repr(sched)


def test_step_without_metric_advances_and_observe_does_not():
    s = lk.linear(10)
    opt = sgd([1.0])
    sched = Scheduler(opt, s, plateau=lk.Plateau(factor=0.5, patience=0))
    sched.step()
    assert (sched.last_epoch, opt.param_groups[0]["lr"]) == (1, s(1))
    sched.observe(1.0)
    sched.observe(2.0)  # bad epoch, patience 0: halves
    assert (sched.last_epoch, opt.param_groups[0]["lr"]) == (1, s(1) * 0.5)


def test_public_names():
    import lrkit.finder.torch
    import lrkit.torch

    assert lrkit.torch.__all__ == sorted(lrkit.torch.__all__) == ["Scheduler", "TorchOps", "find_lr", "ops"]
    assert lrkit.torch.find_lr is lrkit.finder.torch.find_lr
    assert "lrkit.torch" in repr(Scheduler) and "Plateau" in lk.__all__
