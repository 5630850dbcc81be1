"""The pure parts of the protocol: the lr search, the race over seeds, and the policy's rounds and budget,
driven by records made for the purpose (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.lab.lrsearch import REACH, Search, ladder
from lrkit.lab.policy import Policy
from lrkit.lab.protocol import Design, candidate, lr_grid
from lrkit.lab.racing import Race
from lrkit.lab.run import Record
from lrkit.lab.stats import ALPHA, adjusted_means, looks, top_group

GRID = [0.025, 0.05, 0.1, 0.2, 0.4]


# --------------------------------------------------------------- lr search
def test_the_ladder_continues_the_grid_geometrically():
    assert [ladder(GRID, k) for k in (-2, -1, 0, 4, 5, 6)] == [0.00625, 0.0125, 0.025, 0.4, 0.8, 1.6]
    assert ladder([0.1, 0.3], 2) == 0.9 and ladder([0.1], -1) == 0.05


def _search(s: Search, f) -> tuple[int | None, dict]:
    points: dict = {}
    while batch := s.next(points):
        for k in batch:
            assert k not in points  # never the same point twice
            points[k] = f(k)
    return s.choice(points), points


def test_full_tries_every_grid_point_centre_first_and_nothing_else():
    s = Search.within(GRID, "full")
    assert s.next({}) == [2, 1, 3, 0, 4]
    best, points = _search(s, lambda k: -abs(k - 7))
    assert sorted(points) == [0, 1, 2, 3, 4] and best == 4 and s.at_edge(points)


@pytest.mark.parametrize("peak", np.linspace(-4.5, 8.5, 27))
def test_adaptive_finds_the_peak_of_a_smooth_curve_anywhere_it_may_reach(peak):
    """A walk on a curve quadratic in log-lr: the true best ladder point within the search's reach, at 3 points
    when it is the centre, 4 when it is one of its neighbours."""
    s = Search.within(GRID)
    lo, hi = s.bounds
    assert ladder(GRID, lo) >= GRID[0] / REACH * 0.999 and ladder(GRID, hi) <= GRID[-1] * REACH * 1.001
    best, points = _search(s, lambda k: -((k - peak) ** 2))
    truth = min(range(lo, hi + 1), key=lambda k: ((k - peak) ** 2, k))
    assert best == truth
    if truth == 2 or (truth in (1, 3) and peak % 1 != 0.5):
        assert len(points) == (3 if truth == 2 else 4)
    if lo + 1 <= peak <= hi - 1 and peak % 1 != 0.5:  # (a peak half-way between two points is a flat tie)
        assert not s.at_edge(points)


def test_a_flat_response_does_not_walk_and_ties_go_to_the_smaller_lr():
    s = Search.within(GRID)
    best, points = _search(s, lambda k: 0.5)
    assert min(points) >= 0 and max(points) <= 4 and best == min(points)


def test_when_nothing_trains_the_search_tries_smaller_lrs_then_gives_up():
    s = Search.within(GRID)
    best, points = _search(s, lambda k: None)
    assert best is None and min(points) == s.bounds[0] and max(points) == 3


def test_a_diverged_point_bounds_the_walk():
    s = Search.within(GRID)
    best, points = _search(s, lambda k: None if k >= 5 else float(k))
    assert best == 4 and 5 in points and 6 not in points and s.next(points) == []


def test_one_lr_is_not_searched():
    assert _search(Search.within([0.1]), lambda k: 1.0)[1] == {0: 1.0}


# -------------------------------------------------------------------- race
def _race(y: np.ndarray, race: Race) -> list[int]:
    counts = [0] * len(y)
    while (t := race.targets(values := [list(v[:n]) for v, n in zip(y, counts)])) != counts:
        assert all(b >= a for a, b in zip(counts, t))
        if max(counts):  # every round after the first: the best kept schedule goes on, topped up if it stopped
            kept = top_group(values, race.looks).kept
            adjusted = adjusted_means(values)
            assert t[max(kept, key=lambda i: (adjusted[i], -i))] == max(t)
        counts = t
    return counts


def test_the_race_stops_equal_schedules_early_and_keeps_the_best_running():
    rng = np.random.default_rng(1)
    race = Race(looks(10, 3, 2, 0.8))
    used = []
    for _ in range(30):
        y = rng.normal(size=10)[None] * 2 + rng.normal(size=(8, 10))
        used.append(sum(_race(y, race)))
    assert np.mean(used) < 0.7 * 8 * 10


def test_a_far_worse_schedule_is_put_out_at_an_interim_look():
    rng = np.random.default_rng(2)
    y = rng.normal(size=10)[None] + rng.normal(size=(4, 10)) * 0.01
    y[3] -= 5.0
    lk = looks(10, 3, 2, 0.8)
    counts = _race(y, Race(lk))
    assert counts[3] < 10
    assert top_group([list(v[:n]) for v, n in zip(y, counts)], lk).rows[3].out


def test_one_look_is_no_race():
    y = np.zeros((3, 5))
    assert _race(y, Race(looks(5))) == [5, 5, 5]


@pytest.mark.slow
def test_the_race_keeps_the_familywise_error_and_the_power():
    """Through the whole race (interim looks and futility stops included), 15 schedules, 10 seeds at most."""
    rng = np.random.default_rng(3)
    lk = looks(10, 3, 2, 0.8)
    reps, wrong, found = 600, 0, 0
    for _ in range(reps):
        mu = np.r_[np.zeros(14), -3.0]
        y = rng.normal(size=10)[None] * 2 + rng.normal(size=(15, 10)) + mu[:, None]
        rows = top_group([list(v[:n]) for v, n in zip(y, _race(y, Race(lk)))], lk).rows
        wrong += any(r.out for r in rows[:14])
        found += rows[14].out
    assert wrong / reps <= ALPHA + 2 * (ALPHA * (1 - ALPHA) / reps) ** 0.5
    assert found / reps >= 0.90


# ------------------------------------------------------------------ policy
def _design(protocol="adaptive", seeds=6, k=3, tune=(100,)) -> Design:
    cands = [candidate(f"constant({1 - i / 10:g})") for i in range(k)]
    return Design(cands, lr_grid(0.1), list(range(seeds)), list(tune), 2, "max", {}, None, {"train": "t"}, protocol)


def _train(task) -> Record:
    """A made-up run: val peaks at lr 0.1; test = seed effect + noise (every schedule equal)."""
    rng = np.random.default_rng([task.seed, sum(map(ord, task.name)), int(task.lr * 1e6)])
    val = -abs(math.log2(task.lr / 0.1)) + 0.1 * rng.normal()
    history = [{"epoch": e, "val": val} for e in range(task.epochs)]
    return Record(task, "done", history, {"test": float(task.seed + rng.normal())})


def _run(policy: Policy, records=None) -> dict:
    records = {} if records is None else records
    while (r := policy.next(records)) is not None:
        for t in r.tasks:
            records.setdefault(t.key, _train(t))
    return records


def test_full_is_one_tuning_round_then_one_final_round():
    p = Policy(_design("full", tune=(100, 101)))
    r1 = p.next({})
    assert r1.phase == "tune" and len(r1.tasks) == 3 * 5 * 2
    records = {t.key: _train(t) for t in r1.tasks}
    r2 = p.next(records)
    assert r2.phase == "final" and len(r2.tasks) == 3 * 6 and {t.lr for t in r2.tasks} == {0.1}
    records.update({t.key: _train(t) for t in r2.tasks})
    plan = p.plan(records)
    assert p.next(records) is None and plan.done and plan.spent == p.full_cost()[1] == (30 + 18) * 2


def test_the_policy_is_a_pure_function_of_the_records():
    d = _design()
    records = _run(Policy(d))
    again = _run(Policy(d))
    assert set(again) == set(records)
    p = Policy(d)
    plan = p.plan(records)
    assert plan.done and [t.key for t in plan.tasks] == [t.key for t in Policy(d).plan(records).tasks]
    assert len({t.key for t in plan.tasks}) == len(plan.tasks)  # no run asked for twice
    # a partial set of records (a job killed mid-round) asks for the rest of that round, nothing else
    keys = [t.key for t in plan.tasks]
    part = {k: records[k] for k in keys[: len(keys) // 2]}
    nxt = p.next(part)
    assert nxt is not None and any(t.key not in part for t in nxt.tasks)
    assert all(t.key in records for t in nxt.tasks)


def test_the_budget_is_never_passed_and_too_small_a_budget_is_known_before_training():
    d = _design(seeds=10, k=4)
    least = Policy(d).minimum()
    assert least == 4 * (3 + 3) * 2  # 3 lrs and 3 seeds per schedule, 2 epochs each
    for budget in (least, least + 10, least + 40, 10_000):
        p = Policy(d, budget)
        plan = p.plan(_run(p))
        assert plan.done and plan.spent <= budget
        assert all(len(t) >= 3 for t in plan.finals.values())  # every schedule got the first look's seeds
    assert Policy(d, least).plan(_run(Policy(d, least))).spent == least
