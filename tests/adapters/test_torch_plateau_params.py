"""What a plateau scales (the lr only, unless plateau_params names more), and what step(x) means.

torch's ReduceLROnPlateau only ever touches the lr; lrkit's default is the same.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler


def sgd(lrs=(0.1, 0.02), **extra) -> torch.optim.SGD:
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=1.0, **extra)


def halving():
    return lk.Plateau(factor=0.5, patience=0)


# ----------------------------------------------------------- plateau_params
def test_default_scales_the_lr_only_momentum_follows_its_schedule():
    """The issue's case: momentum 0.9 must not become 0.009 after two reductions."""
    lr_s, mom_s = lk.cosine(20, end=0.1), lk.linear(20, 1.0, 0.9)
    opt = sgd(momentum=0.9, weight_decay=0.01)
    sched = Scheduler(opt, {"lr": lr_s, "momentum": mom_s}, plateau=halving())
    ref = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    ref_plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(ref, factor=0.5, patience=0)
    for t, metric in enumerate([1.0, 2.0, 3.0, 0.5, 4.0, 5.0], start=1):
        sched.step(metric)
        ref_plateau.step(metric)
        scale = ref.param_groups[0]["lr"]  # torch's lr of 1.0 is the scale
        for g, base in zip(opt.param_groups, (0.1, 0.02)):
            assert g["lr"] == base * lr_s(t) * scale
            assert g["momentum"] == 0.9 * mom_s(t)  # untouched by the plateau
            assert g["weight_decay"] == 0.01
    assert sched.scales == [0.0625, 0.0625] and sched.plateau.reductions == 4


def test_plateau_params_names_more_values():
    lr_s, wd_s = lk.warmup(3) >> lk.constant(), lk.linear(10, 1.0, 0.5)
    opt = sgd(momentum=0.9, weight_decay=0.01)
    sched = Scheduler(opt, {"lr": lr_s, "weight_decay": wd_s}, plateau=halving(),
                      plateau_params=("lr", "weight_decay", "momentum"))
    sched.step(1.0)
    sched.step(2.0)  # halves
    g = opt.param_groups[1]
    assert (g["lr"], g["weight_decay"], g["momentum"]) == (0.02 * lr_s(2) * 0.5, 0.01 * wd_s(2) * 0.5, 0.9 * 0.5)
    assert "plateau_params=('lr', 'weight_decay', 'momentum')" in repr(sched)
    assert sched.state_dict()["bases"][1] == {"lr": 0.02, "weight_decay": 0.01, "momentum": 0.9}


def test_a_momentum_scheduler_with_a_plateau_still_scales_the_lr():
    """param='momentum': the schedule drives momentum; the plateau, as ReduceLROnPlateau, scales the lr."""
    s = lk.linear(10, 1.0, 0.5)
    opt = sgd(momentum=0.9)
    sched = Scheduler(opt, s, param="momentum", plateau=halving())
    sched.step(1.0)
    sched.step(1.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1 * 0.5, 0.02 * 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.9 * s(2)] * 2


def test_plateau_params_with_beta1_and_tensor_lr():
    lr, b1 = torch.tensor(0.01), torch.tensor(0.9)
    opt = torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=lr, betas=(b1, torch.tensor(0.999)), foreach=False)
    sched = Scheduler(opt, lk.constant(), plateau=halving(), plateau_params=("lr", "beta1"))
    sched.step(1.0)
    sched.step(1.0)
    g = opt.param_groups[0]
    assert g["lr"] is lr and g["betas"][0] is b1  # still filled in place
    assert lr.item() == torch.tensor(0.01).item() * 0.5 and b1.item() == torch.tensor(0.9).item() * 0.5
    assert g["betas"][1].item() == torch.tensor(0.999).item()


def test_without_a_plateau_plateau_params_change_nothing():
    opt = sgd(momentum=0.9)
    Scheduler(opt, lk.linear(10), plateau_params=("lr", "momentum")).step()
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]


# ------------------------------------------------------------ step(x) means
def test_step_with_a_whole_number_is_an_error_not_a_metric():
    """timm and old torch code call step(epoch); a plateau must not take the epoch for a metric."""
    opt = sgd()
    sched = Scheduler(opt, lk.linear(10), plateau=halving())
    for epoch in (1, np.int64(2)):
        with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): metric must be a float such as a validation "
                                               r"loss, not a whole number: torch reads step\(\d\) as its old "
                                               r"step\(epoch\); use step\(epoch=\d\) .*lrkit.timm.Scheduler"):
            sched.step(epoch)
    with pytest.raises(lk.SpecError, match=r"not a whole number"):
        Scheduler(opt, lk.linear(10)).step(3)  # without a plateau too: torch's step(3) is an epoch
    assert sched.plateau.updates == 0 and sched.last_epoch == 0


def test_float_tensor_and_numpy_metrics_are_metrics():
    opt = sgd()
    sched = Scheduler(opt, lk.constant(), plateau=halving())
    for m in (1.0, np.float32(1.0), torch.tensor(1.0), torch.tensor(2.0, dtype=torch.float64)):
        sched.step(m)
    assert sched.plateau.updates == 4 and sched.scales == [0.125, 0.125] and sched.last_epoch == 4
    assert sched.observe(3) == 0.0625  # observe() has no step(epoch) to confuse: an int is a metric there


def test_step_epoch_sets_t_like_torch_deprecated_step_epoch():
    """torch's LRScheduler.step(epoch) jumps to that epoch (closed form); so does step(epoch=...)."""
    s = lk.warmup(5) >> lk.cosine(20)
    opt = sgd()
    sched = Scheduler(opt, s, plateau=halving())
    sched.step(epoch=7)
    assert sched.last_epoch == 7 and [g["lr"] for g in opt.param_groups] == [0.1 * s(7), 0.02 * s(7)]
    sched.step(1.0, epoch=3)  # metric first (at t = 7), then t = 3, as ReduceLROnPlateau.step(metric, epoch)
    sched.step(2.0, 4)
    assert sched.last_epoch == 4 and sched.scales == [0.5, 0.5]
    assert [g["lr"] for g in opt.param_groups] == [0.1 * s(4) * 0.5, 0.02 * s(4) * 0.5]
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): epoch must be a whole number >= 0; got epoch=-1$"):
        sched.step(epoch=-1)
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): metric must be None when the scheduler has no "):
        Scheduler(opt, s).step(0.5)


def test_step_epoch_matches_torch_closed_form():
    """torch's StepLR.step(epoch) (deprecated, closed form) and lrkit's step(epoch=) agree."""
    opt_t, opt_l = sgd(), sgd()
    ref = torch.optim.lr_scheduler.StepLR(opt_t, step_size=3, gamma=0.5)
    ours = Scheduler(opt_l, lk.step(3, gamma=0.5))
    import warnings

    for epoch in (4, 9, 2, 11):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that step(epoch) is deprecated
            ref.step(epoch)
        ours.step(epoch=epoch)
        np.testing.assert_allclose([g["lr"] for g in opt_l.param_groups], [g["lr"] for g in opt_t.param_groups],
                                   rtol=1e-15)
