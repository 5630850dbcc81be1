"""The benchmark's scores (benchmarks/finder_problems/scoring.py) on hand-made grids, against values worked out by
hand: the smoothed grid-best, the near-best set and the reference's own repeatability."""

from __future__ import annotations

from pathlib import Path

import pytest

LRS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def case(metrics, initial=0.1):
    return {"initial": initial, "grid": {repr(lr): {"metric": m, "diverged": False} for lr, m in zip(LRS, metrics)}}


@pytest.fixture
def S(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from finder_problems import scoring

    return scoring


def test_near_best_is_within_3x_of_any_lr_keeping_95_percent_of_the_best_improvement(S):
    ref = S.reference([case([0.5, 0.93, 0.95, 0.94, 0.1])])
    # smoothed (1/4, 1/2, 1/4): 0.8575, 0.8275, 0.9425, 0.7325, 0.31: the largest at 1e-2
    assert ref.best_lr == 1e-2
    # 95% of the improvement 0.85 over 0.1: metric >= 0.9075 -> 1e-3, 1e-2, 1e-1 (two decades)
    assert ref.near.tolist() == [1e-3, 1e-2, 1e-1] and ref.flat == pytest.approx(2.0)
    assert S.near_best(0.25, ref) and S.near_best(3.4e-4, ref)
    assert not S.near_best(0.4, ref) and not S.near_best(3e-4, ref) and not S.near_best(None, ref)
    assert S.within(0.02, ref.best_lr) and not S.within(0.25, ref.best_lr)  # near-best, yet not within 3x


def test_own_grid_says_whether_one_seed_alone_finds_the_same_best_lr(S):
    peaked = case([0.2, 0.5, 0.95, 0.5, 0.1])          # its own best: 1e-2
    late = case([0.2, 0.3, 0.5, 0.8, 0.95])            # its own best: 1 (the end point counts as its own neighbour)
    early = case([0.2, 0.6, 0.96, 0.6, 0.1])
    ref = S.reference([peaked, late, early])
    assert ref.best_lr == 1e-2
    assert S.reference([late]).best_lr == 1.0
    assert [S.own_grid_within(c, ref) for c in (peaked, late, early)] == [True, False, True]
