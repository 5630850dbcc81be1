"""Scheduler.load_state_dict with a malformed state: a SpecError naming the field, and nothing loaded.

One test per field of ``Scheduler.state_dict()`` (and of the plateau state inside it).
"""

from __future__ import annotations

import math

import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler

LOAD = r"^Scheduler.load_state_dict\(\): "


def scheduler(plateau=True) -> Scheduler:
    groups = [{"params": [torch.nn.Parameter(torch.ones(1))], "lr": lr} for lr in (0.1, 0.2)]
    opt = torch.optim.SGD(groups, lr=1.0)
    return Scheduler(opt, lk.cosine(10), plateau=lk.Plateau(factor=0.5, patience=0) if plateau else None)


def good_state() -> dict:
    sched = scheduler()
    for m in (3, 2, 4, 5):
        sched.step(float(m))
    return sched.state_dict()


def rejects(change, message: str, plateau: bool = True) -> None:
    """Load ``good_state()`` changed by ``change``: the error matches ``message``; the scheduler is untouched."""
    state = good_state()
    change(state)
    sched = scheduler(plateau)
    before = (sched.state_dict(), [g["lr"] for g in sched.optimizer.param_groups])
    with pytest.raises(lk.SpecError, match=LOAD + message):
        sched.load_state_dict(state)
    assert (sched.state_dict(), [g["lr"] for g in sched.optimizer.param_groups]) == before


def test_the_good_state_loads():
    sched = scheduler()
    sched.load_state_dict(good_state())
    assert sched.last_epoch == 4 and sched.scales == [0.25, 0.25]


@pytest.mark.parametrize("key", ["step", "bases", "schedules", "absolute", "plateau", "scales"])
def test_missing_key(key):
    rejects(lambda s: s.pop(key), rf"state_dict must be a dict from Scheduler.state_dict\(\) with the keys "
                                  rf"step, bases, schedules, absolute, plateau, scales \(missing: {key}\); got ")


def test_not_a_dict():
    sched = scheduler()
    with pytest.raises(lk.SpecError, match=LOAD + r"state_dict must be a dict from Scheduler.state_dict\(\) "
                                                 r"with the keys .*; got state_dict=\[1, 2\]$"):
        sched.load_state_dict([1, 2])


@pytest.mark.parametrize("bad, shown", [(-1, "-1"), ("abc", "'abc'"), (2.5, "2.5"), (math.nan, "nan"),
                                        (True, "True"), (None, "None")])
def test_step(bad, shown):
    rejects(lambda s: s.update(step=bad), rf"step must be a whole number >= 0; got step={shown}$")


def test_bases_not_a_list():
    rejects(lambda s: s.update(bases={"lr": 0.1}),
            r"bases must be a list of dicts from param name to base value, one per param group; got bases=")


def test_bases_wrong_length():
    rejects(lambda s: s.update(bases=s["bases"][:1]), r"bases must be one entry per param group: the state "
                                                      r"was saved for 1 param groups but the optimizer has 2; ")


def test_bases_entry_not_a_dict():
    rejects(lambda s: s["bases"].__setitem__(1, 0.2), r"bases\[1\] must be a dict from param name to base value; "
                                                      r"got bases\[1\]=0.2$")


@pytest.mark.parametrize("bad, rule, shown", [("abc", "a number", "'abc'"), (math.nan, "a number, not NaN", "nan"),
                                              (math.inf, "finite", "inf"), (None, "a number", "None")])
def test_base_value(bad, rule, shown):
    rejects(lambda s: s["bases"][0].update(lr=bad),
            rf"bases\[0\]\['lr'\] must be {rule}; got bases\[0\]\['lr'\]={shown}$")


def test_schedules():
    rejects(lambda s: s.update(schedules="cosine(10)"),
            r"schedules must be a list of dicts from param name to schedule text, one per param group; ")
    rejects(lambda s: s["schedules"].__setitem__(0, {"lr": 3}),
            r"schedules\[0\] must be a dict from param name to schedule text; got schedules\[0\]=")


def test_absolute():
    rejects(lambda s: s.update(absolute="no"), r"absolute must be True or False; got absolute='no'$")


def test_plateau_not_a_dict():
    rejects(lambda s: s.update(plateau=0.5), r"plateau must be a dict from Plateau.state_dict\(\) with the keys "
                                             r"scale, best, num_bad_epochs, cooldown_counter, updates, reductions; ")


def test_plateau_missing_key():
    rejects(lambda s: s["plateau"].pop("best"), r"plateau must be a dict from Plateau.state_dict\(\) .*"
                                                r"\(missing: best\); got plateau=")


@pytest.mark.parametrize("key, bad, rule, shown", [
    ("scale", "abc", "a number", "'abc'"),
    ("scale", math.nan, "a number, not NaN", "nan"),
    ("scale", 2.0, "<= 1", "2"),
    ("scale", -0.5, ">= 0", "-0.5"),
    ("best", math.nan, r"a number \(inf before the first metric\)", "nan"),
    ("best", "1.0", r"a number \(inf before the first metric\)", "'1.0'"),
    ("num_bad_epochs", -1, "a whole number >= 0", "-1"),
    ("cooldown_counter", 1.5, "a whole number >= 0", "1.5"),
    ("updates", "4", "a whole number >= 0", "'4'"),
    ("reductions", None, "a whole number >= 0", "None"),
])
def test_plateau_field(key, bad, rule, shown):
    rejects(lambda s: s["plateau"].update({key: bad}),
            rf"plateau\['{key}'\] must be {rule}; got plateau\['{key}'\]={shown}$")


def test_plateau_best_may_be_infinite():
    state = good_state()
    state["plateau"]["best"] = math.inf  # a fresh plateau's best
    scheduler().load_state_dict(state)


@pytest.mark.parametrize("bad, message", [
    (None, r"scales must be a list of plateau scales, one per param group; got scales=None$"),
    ([0.5], r"scales must be one entry per param group: the state was saved for 1 param groups"),
    (["abc", 0.5], r"scales\[0\] must be a number; got scales\[0\]='abc'$"),
    ([0.5, math.nan], r"scales\[1\] must be a number, not NaN; got scales\[1\]=nan$"),
    ([0.5, -0.1], r"scales\[1\] must be >= 0; got scales\[1\]=-0.1$"),
])
def test_scales(bad, message):
    rejects(lambda s: s.update(scales=bad), message)


def test_scales_without_a_plateau():
    def change(s):
        s["plateau"] = None

    rejects(change, r"scales must be None when the state holds no plateau; got scales=\[0.25, 0.25\]$", plateau=False)
