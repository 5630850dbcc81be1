"""lk.Plateau without any framework: rules worked by hand, errors, state.

Conformance with torch's ReduceLROnPlateau on random metric sequences lives in
tests/adapters/test_torch_plateau.py.
"""

from __future__ import annotations

import json
import math

import pytest

import lrkit as lk


def run(p: lk.Plateau, metrics) -> list[float]:
    return [p.update(m) for m in metrics]


# ------------------------------------------------------------- the rules
def test_starts_at_one_and_holds_while_improving():
    p = lk.Plateau(patience=0)
    assert p.scale == 1.0
    assert run(p, [5.0, 4.0, 3.0, 2.0]) == [1.0] * 4
    assert p.best == 2.0 and p.num_bad_epochs == 0


def test_patience_counts_bad_epochs_strictly_more_than_patience():
    # patience=2: the 3rd bad epoch in a row reduces, then the count restarts
    p = lk.Plateau(factor=0.5, patience=2)
    assert run(p, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_improvement_resets_the_count():
    p = lk.Plateau(factor=0.5, patience=1)
    assert run(p, [1.0, 2.0, 0.5, 2.0, 2.0]) == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_rel_threshold_min_mode():
    # better means < best * (1 - 0.1) = 0.9; 0.95 is not better
    p = lk.Plateau(factor=0.5, patience=0, threshold=0.1)
    assert run(p, [1.0, 0.95, 0.89]) == [1.0, 0.5, 0.5]
    assert p.best == 0.89


def test_abs_threshold_max_mode():
    # better means > best + 0.1
    p = lk.Plateau(mode="max", factor=0.5, patience=0, threshold=0.1, threshold_mode="abs")
    assert run(p, [1.0, 1.05, 1.11, 1.2]) == [1.0, 0.5, 0.5, 0.25]
    assert p.best == 1.11


def test_cooldown_ignores_bad_epochs_after_a_reduction():
    p = lk.Plateau(factor=0.5, patience=0, cooldown=2)
    # reduce at #2, cooldown swallows #3 and #4, reduce again at #5
    assert run(p, [1.0, 2.0, 2.0, 2.0, 2.0]) == [1.0, 0.5, 0.5, 0.5, 0.25]


def test_min_scale_floor_and_eps_skip():
    p = lk.Plateau(factor=0.1, patience=0, min_scale=0.05)
    assert run(p, [1.0, 2.0, 2.0, 2.0]) == [1.0, 0.1, 0.05, 0.05]
    # a reduction smaller than eps is not applied: 1.0 -> 0.99 is a step of 0.01 < eps
    q = lk.Plateau(factor=0.99, patience=0, eps=0.02)
    assert run(q, [1.0, 2.0, 2.0]) == [1.0, 1.0, 1.0]
    assert q.reductions == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_non_finite_metric_is_a_bad_epoch_and_never_best(bad, mode):
    p = lk.Plateau(mode=mode, factor=0.5, patience=0)
    p.update(1.0)
    assert p.update(bad) == 0.5
    assert p.best == 1.0
    assert p.update(bad) == 0.25
    # a finite metric that improves on 1.0 is still recognised afterwards
    p.update(0.5 if mode == "min" else 2.0)
    assert p.best == (0.5 if mode == "min" else 2.0)


def test_non_finite_first_metric_leaves_no_best():
    p = lk.Plateau(factor=0.5, patience=0)
    assert p.update(-math.inf) == 0.5
    assert p.best == math.inf
    assert p.update(3.0) == 0.5 and p.best == 3.0


def test_update_accepts_numpy_scalars_and_returns_scale():
    import numpy as np

    p = lk.Plateau(patience=0, factor=0.5)
    assert p.update(np.float32(1.0)) == 1.0
    assert p.update(np.array(2.0)) == 0.5


# ------------------------------------------------------------------- state
def test_state_dict_round_trip_through_json_continues_identically():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85]
    full = lk.Plateau(factor=0.3, patience=1, cooldown=1)
    expected = run(full, metrics)
    a = lk.Plateau(factor=0.3, patience=1, cooldown=1)
    head = run(a, metrics[:4])
    b = lk.Plateau(factor=0.3, patience=1, cooldown=1)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b == a
    assert head + run(b, metrics[4:]) == expected


def test_reset_and_repr():
    p = lk.Plateau(mode="max", factor=0.5, patience=3)
    p.update(1.0)
    p.reset()
    assert p.scale == 1.0 and p.best == -math.inf and p.updates == 0
    assert repr(p) == "Plateau(mode='max', factor=0.5, patience=3)"
    assert repr(lk.Plateau()) == "Plateau()"


def test_load_state_dict_rejects_garbage():
    with pytest.raises(lk.SpecError, match=r"^Plateau.load_state_dict\(\): state must be a dict from "
                                           r"Plateau.state_dict\(\) with the keys scale, best, num_bad_epochs, "
                                           r"cooldown_counter, updates, reductions \(missing: best, num_bad_epochs"):
        lk.Plateau().load_state_dict({"scale": 1.0})
    with pytest.raises(lk.SpecError, match=r"state must be a dict"):
        lk.Plateau().load_state_dict([1.0])


@pytest.mark.parametrize("key, bad, message", [
    ("scale", "abc", "state['scale'] must be a number; got state['scale']='abc'"),
    ("scale", 1.5, "state['scale'] must be <= 1; got state['scale']=1.5"),
    ("best", math.nan, "state['best'] must be a number (inf before the first metric); got state['best']=nan"),
    ("num_bad_epochs", -2, "state['num_bad_epochs'] must be a whole number >= 0; got state['num_bad_epochs']=-2"),
    ("cooldown_counter", 0.5,
     "state['cooldown_counter'] must be a whole number >= 0; got state['cooldown_counter']=0.5"),
    ("updates", None, "state['updates'] must be a whole number >= 0; got state['updates']=None"),
    ("reductions", "1", "state['reductions'] must be a whole number >= 0; got state['reductions']='1'"),
])
def test_load_state_dict_names_the_bad_field_and_loads_nothing(key, bad, message):
    p = lk.Plateau(factor=0.5, patience=0)
    p.update(1.0)
    state = {**p.state_dict(), key: bad}
    q = lk.Plateau(factor=0.5, patience=0)
    with pytest.raises(lk.SpecError) as info:
        q.load_state_dict(state)
    assert str(info.value) == "Plateau.load_state_dict(): " + message
    assert q.state_dict() == lk.Plateau().state_dict()


# ------------------------------------------------- the pieces the adapters use
def test_decide_counts_without_touching_the_scale():
    p = lk.Plateau(factor=0.5, patience=1, cooldown=1)
    assert [p.decide(m) for m in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)] == [False, False, True, False, False, True]
    assert p.scale == 1.0 and p.reductions == 0 and p.updates == 6


def test_reduced_applies_eps_to_the_value_times_the_scale():
    p = lk.Plateau(factor=0.1, min_scale=0.05, eps=1e-3)
    assert p.reduced(1.0) == 0.1  # the value 1.0: a change of 0.9 > eps
    assert p.reduced(0.1) == 0.05  # floored at min_scale
    assert p.reduced(1.0, value=1e-3) == 1.0  # lr 1e-3 -> 1e-4 falls by 9e-4 <= eps: skipped
    assert p.reduced(1.0, value=2e-3) == 0.1  # falls by 1.8e-3 > eps


def test_update_groups_reduces_each_group_on_its_own_lr():
    p = lk.Plateau(factor=0.5, patience=0, eps=1e-3)
    assert p.update_groups(1.0, [1.0, 3e-3], [1.0, 1.0]) == [1.0, 1.0]
    assert p.update_groups(1.0, [1.0, 3e-3], [1.0, 1.0]) == [0.5, 0.5]  # 3e-3 -> 1.5e-3: falls by 1.5e-3
    assert p.update_groups(1.0, [1.0, 3e-3], [0.5, 0.5]) == [0.25, 0.5]  # 1.5e-3 -> 7.5e-4: by 7.5e-4 <= eps
    assert p.scale == 0.25 and p.reductions == 2
    assert p.update_groups(1.0, [1e-3, 1e-3], [0.25, 0.5]) == [0.25, 0.5]  # no group moves: not a reduction
    assert p.reductions == 2


def test_update_is_update_groups_on_a_value_of_one():
    a, b = lk.Plateau(factor=0.3, patience=1, eps=0.05), lk.Plateau(factor=0.3, patience=1, eps=0.05)
    metrics = [1.0, 2.0, 2.0, 0.5, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    assert [a.update(m) for m in metrics] == [b.update_groups(m, [1.0], [b.scale])[0] for m in metrics]
    assert a == b


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(factor=1.5), "Plateau(): factor must be < 1; got factor=1.5"),
    (dict(factor=1), "Plateau(): factor must be < 1; got factor=1"),
    (dict(factor=-0.1), "Plateau(): factor must be >= 0; got factor=-0.1"),
    (dict(factor="x"), "Plateau(): factor must be a number; got factor='x'"),
    (dict(mode="mni"), "Plateau(): mode must be one of 'min', 'max'; got mode='mni'"),
    (dict(threshold_mode="relative"),
     "Plateau(): threshold_mode must be one of 'rel', 'abs'; got threshold_mode='relative'"),
    (dict(patience=-1), "Plateau(): patience must be >= 0; got patience=-1"),
    (dict(patience=2.5), "Plateau(): patience must be a whole number >= 0; got patience=2.5"),
    (dict(cooldown=-2), "Plateau(): cooldown must be >= 0; got cooldown=-2"),
    (dict(threshold=-1e-4), "Plateau(): threshold must be >= 0; got threshold=-0.0001"),
    (dict(threshold=math.nan), "Plateau(): threshold must be a number, not NaN; got threshold=nan"),
    (dict(min_scale=-0.5), "Plateau(): min_scale must be >= 0; got min_scale=-0.5"),
    (dict(min_scale=2.0), "Plateau(): min_scale must be <= 1; got min_scale=2"),
    (dict(eps=-1.0), "Plateau(): eps must be >= 0; got eps=-1"),
    (dict(eps=math.inf), "Plateau(): eps must be finite; got eps=inf"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError) as info:
        lk.Plateau(**kwargs)
    assert str(info.value) == message


def test_rel_threshold_of_one_in_min_mode_is_rejected():
    with pytest.raises(lk.SpecError, match=r"^Plateau\(\): threshold must be < 1 with mode='min'.*got threshold=1$"):
        lk.Plateau(threshold=1)
    assert lk.Plateau(mode="max", threshold=1).threshold == 1.0


@pytest.mark.parametrize("metric", ["0.5", None, True, [1.0, 2.0]])
def test_update_rejects_non_numbers(metric):
    with pytest.raises(lk.SpecError, match=r"^Plateau.update\(\): metric must be a number"):
        lk.Plateau().update(metric)
