"""The centred reading of the curve, ``rise/4``, the default choice and the range: known answers and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.finder import HEURISTICS, range_test, sweep_lrs
from lrkit.finder import curve as c
from lrkit.finder import heuristics as h


def replay(losses, **kw):
    it = iter(list(losses) + [float("nan")] * 10_000)
    return range_test(lambda lr: next(it), **kw)


# ------------------------------------------------- an independent reference
def reference_reading(lrs, losses, skip):
    """The rules of lrkit.finder.curve written as plain loops over the points (no numpy windows)."""
    lrs, losses = list(map(float, lrs)), list(map(float, losses))
    n = len(losses)
    x = [math.log10(v) for v in lrs]
    per_decade = (n - 1) / (x[-1] - x[0])
    clip = lambda i: min(max(i, 0), n - 1)
    m = min(int(0.25 * per_decade), (n - 1) // 2)
    med = [float(np.median([losses[clip(j)] for j in range(i - m, i + m + 1)])) for i in range(n)]
    cen = []
    for i in range(n):
        near = [med[j] for j in range(n) if abs(x[j] - x[i]) <= 0.25 + 1e-12]
        cen.append(sum(near) / len(near))
    m2 = max(min(int(0.5 * per_decade), (n - 1) // 2), 1)
    noise = [1.4826 * float(np.median([abs(losses[clip(j)] - cen[clip(j)]) for j in range(i - m2, i + m2 + 1)]))
             for i in range(n)]
    bottom = min(range(skip, n), key=lambda i: (cen[i], i))
    top = max(range(skip, bottom + 1), key=lambda i: (cen[i], -i))
    k = max(1, int(0.25 * per_decade))
    up = [cen[i] > cen[bottom] + 2 * noise[bottom] for i in range(n)]
    rise = next((i for i in range(bottom, n) if all(up[i:i + k + 1])), None)
    return cen, noise, bottom, top, rise


@pytest.mark.parametrize("seed", range(6))
def test_the_reading_matches_a_plain_loop_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 160))
    lrs = sweep_lrs(10 ** rng.uniform(-8, -5), 10 ** rng.uniform(-1, 1), n)
    x = np.log10(lrs)
    centre = rng.uniform(x[0] + 1, x[-1] - 2)
    losses = 2 - np.tanh(2 * (x - centre)) + np.where(x > centre + 1.5, 20 * (x - centre - 1.5) ** 2, 0.0)
    losses = losses * (1 + rng.uniform(0.01, 0.2) * rng.standard_normal(n))
    skip = h.skip_count(n, 0.98)
    got = c.read(lrs, losses, skip)
    cen, noise, bottom, top, rise = reference_reading(lrs, losses, skip)
    np.testing.assert_allclose(got.centred, cen, rtol=1e-12)
    np.testing.assert_allclose(got.noise, noise, rtol=1e-12)
    assert (got.bottom, got.top, got.rise) == (bottom, top, rise)
    assert got.fell == (cen[top] - cen[bottom] > 2 * noise[top])


# --------------------------------------------------------- known answers
def test_the_centred_curve_keeps_a_step_where_it_is_and_drops_a_spike():
    lrs = sweep_lrs(1e-6, 1.0, 97)                       # 16 points per decade
    losses = np.where(lrs < 1e-3, 3.0, 1.0)
    losses[20] = 100.0
    cen = c.centred(lrs, losses)
    step = int(np.searchsorted(lrs, 1e-3))
    assert cen[20] == 3.0                                # the spike is gone
    assert cen[step - 1] + cen[step] == pytest.approx(4.0)   # symmetric about the step: no lag
    assert cen[step - 5] == 3.0 and cen[step + 4] == 1.0  # flat a quarter decade (4 points) away


def flat_fall_flat_rise(fall_at=1e-4, rise_at=1e-1, n=100, noise=0.0, seed=0):
    """Level 3 until ``fall_at``, level 1 from a decade later, then up steeply from ``rise_at``."""
    lrs = sweep_lrs(1e-7, 10.0, n)
    x = np.log10(lrs)
    a, b = math.log10(fall_at), math.log10(rise_at)
    losses = np.clip(3 - 2 * (x - a), 1, 3) + np.where(x > b, 50 * (x - b), 0.0)
    return lrs, losses * (1 + noise * np.random.default_rng(seed).standard_normal(n))


@pytest.mark.parametrize("rise_at", [1e-3, 1e-2, 1e-1, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_rise_over_4_is_a_quarter_of_where_the_loss_starts_rising(rise_at, seed):
    lrs, losses = flat_fall_flat_rise(fall_at=1e-5, rise_at=rise_at, noise=0.01, seed=seed)
    reading = c.read(lrs, losses, skip=25)
    lr, why = h.rise_over_4(lrs, reading)
    assert why is None and reading.fell
    # the centred mean sees the rise a quarter decade early at most, and the noise may hide its first point
    assert rise_at / 10 ** 0.25 / 4 <= lr <= rise_at * (lrs[1] / lrs[0]) / 4


def readings():
    """Three curves (9 points, skip 1): falls deeply (3 -> 1), falls by a tenth (3 -> 2.7), stays flat."""
    lrs = np.logspace(-3, 1, 9)
    deep = c.read(lrs, [3, 3, 3, 2, 1, 1, 1, 5, 9.0], skip=1)
    shallow = c.read(lrs, [3, 3, 3, 2.9, 2.7, 2.7, 2.7, 5, 9.0], skip=1)
    flat = c.read(lrs, [3, 3, 3, 3, 3, 3, 3, 5, 9.0], skip=1)
    assert (deep.fell, deep.deep, shallow.fell, shallow.deep, flat.fell) == (True, True, True, False, False)
    return deep, shallow, flat


def test_the_edge_depends_on_how_far_the_loss_fell():
    deep, shallow, flat = readings()
    all_ = {"steepest": 1e-3, "valley": 1e-4, "min/10": 2e-3, "rise/4": 1e-2}
    # fell deeply: the lower of steepest and rise/4
    assert h.edge(all_, deep) == (1e-3, None)
    assert h.edge({**all_, "steepest": 3e-2}, deep) == (1e-2, None)
    assert h.edge({**all_, "steepest": None}, deep) == (1e-2, None)
    assert h.edge({**all_, "rise/4": None}, deep) == (1e-3, None)
    assert h.edge({**all_, "steepest": None, "rise/4": None}, deep) == (2e-3, None)
    assert h.edge({"steepest": None, "valley": 1e-4, "min/10": None, "rise/4": None}, deep) == (1e-4, None)
    assert h.edge(dict.fromkeys(HEURISTICS), deep)[0] is None
    # fell by less than a third: min/10, else the lower of steepest and rise/4
    assert h.edge(all_, shallow) == (2e-3, None)
    assert h.edge({**all_, "min/10": None}, shallow) == (1e-3, None)
    # never fell: no edge is known
    lr, why = h.edge(all_, flat)
    assert lr is None and why.startswith("the loss never fell measurably")


def test_the_default_is_a_third_of_the_edge_or_rise_over_4_when_the_loss_never_fell():
    deep, shallow, flat = readings()
    all_ = {"steepest": 1e-3, "valley": 1e-4, "min/10": 2e-3, "rise/4": 1e-2}
    for reading in (deep, shallow):
        top, _ = h.edge(all_, reading)
        assert h.edge_over_3(all_, reading) == (top / 3, None)
        assert h.choose({**all_, "edge/3": top / 3}, reading) == ("edge/3", None)
        assert h.choose({**all_, "edge/3": None}, reading)[0] is None
    assert h.edge_over_3(dict.fromkeys(HEURISTICS), deep) == (None, "no heuristic applies (see the other reasons)")
    # never fell: only the blow-up is known
    assert h.choose({"steepest": None, "valley": None, "min/10": None, "rise/4": 3e-3, "edge/3": None},
                    flat) == ("rise/4", None)
    method, why = h.choose(dict.fromkeys(HEURISTICS), flat)
    assert method is None and "neither fell nor rose" in why


def test_the_range_depends_on_how_far_the_loss_fell():
    deep, shallow, flat = readings()
    lrs = np.logspace(-3, 1, 9)
    assert h.lr_range(lrs, deep, 1e-3, completed=False) == ((lrs[deep.rise] / 30, lrs[deep.rise] / 3), None)
    assert h.lr_range(lrs, shallow, 1e-3, completed=False) == ((2e-4, 2e-3), None)
    rng, why = h.lr_range(lrs, flat, 1e-3, completed=False)
    assert rng is None and why.startswith("the loss never fell measurably")
    assert h.lr_range(lrs, deep, None, completed=False) == (None, "no suggestion to build it on")


def test_a_shallow_fall_reads_the_smoothed_minimum():
    lrs = sweep_lrs(1e-7, 10.0, 100)
    x = np.log10(lrs)
    losses = 2.3 - 0.2 * np.clip(x + 2, 0, 1) + np.where(x > -0.5, 8 * (x + 0.5), 0.0)   # falls by 9%, then up
    losses = losses * (1 + 0.002 * np.random.default_rng(0).standard_normal(100))
    r = replay(losses, smooth=0.98, diverge=1e6)
    assert r.method == "edge/3" and r.suggestion == r.suggestions["edge/3"] == r.suggestions["min/10"] / 3
    assert r.range == pytest.approx((r.suggestions["min/10"] / 5, 2 * r.suggestions["min/10"]))


def test_result_fields_follow_their_rules():
    _lrs, losses = flat_fall_flat_rise(noise=0.02)
    r = replay(np.r_[losses, [1e6]], start=1e-7, end=10.0, steps=100, smooth=0.98)
    assert sorted(r.suggestions) == sorted(HEURISTICS) == ["edge/3", "min/10", "rise/4", "steepest", "valley"]
    have = [r.suggestions[k] for k in ("steepest", "valley", "min/10", "rise/4") if r.suggestions[k] is not None]
    assert r.spread == pytest.approx(math.log10(max(have) / min(have)))
    top = min(r.suggestions["steepest"], r.suggestions["rise/4"])
    assert r.suggestion == r.suggestions[r.method] == top / 3 and r.method == "edge/3"
    _, _, _, _, rise = reference_reading(r.lrs, r.losses, h.skip_count(len(r.lrs), 0.98))
    assert r.suggestions["rise/4"] == r.lrs[rise] / 4
    high = max(r.lrs[rise] / 3, top)
    assert r.range == pytest.approx((high / 10, high))
    assert r.suggestion <= r.range[1]
    assert dict(r.reasons) == {}


def test_a_sweep_whose_loss_never_fell_reads_only_the_blow_up():
    rng = np.random.default_rng(0)
    lrs = sweep_lrs(1e-7, 10.0, 100)
    losses = 2.3 + 0.01 * rng.standard_normal(100) + np.where(lrs > 0.1, 5 * np.log10(lrs / 0.1), 0.0)
    r = replay(losses, smooth=0.98, diverge=1e6)
    assert r.method == "rise/4"
    assert 0.1 / 10 ** 0.25 / 4 <= r.suggestion <= 0.1 * 1.3 / 4
    for name in ("steepest", "valley", "min/10"):
        assert r.suggestions[name] is None and r.reasons[name].startswith("the loss never fell measurably (by ")
    assert r.range is None and r.reasons["range"].startswith("the loss never fell measurably")


def test_a_loss_that_neither_falls_nor_rises_gives_no_suggestion():
    r = replay(2.3 + 0.01 * np.random.default_rng(1).standard_normal(100), smooth=0.98)
    assert r.suggestion is None and r.method is None and r.range is None
    assert r.reasons["suggestion"].startswith("the loss neither fell nor rose measurably")
    assert r.reasons["rise/4"] == "the loss never rose measurably: no blow-up in the sweep"


# ------------------------------------------- never a diverging suggestion
def heavy_ball_quadratic(rng):
    """SGD with momentum ``beta`` and gradient noise on ``sum(lam_i w_i^2) / 2``, ``lam`` in ``[L/1000, L]``.
    The iteration is stable iff ``lr < 2 (1 + beta) / L`` (Polyak): that is where it diverges."""
    d = int(rng.integers(2, 50))
    big = 10 ** rng.uniform(-2, 3)
    lam = big * np.r_[1.0, 10 ** -rng.uniform(0, 3, d - 1)]
    beta = float(rng.choice([0.0, 0.5, 0.9]))
    noise = 10 ** rng.uniform(-3, 0) * math.sqrt(big)
    w, v = rng.standard_normal(d), np.zeros(d)

    def step(lr):
        loss = 0.5 * float(lam @ w ** 2)
        v[:] = beta * v + lam * w + noise * rng.standard_normal(d)
        w[:] -= lr * v
        return loss

    return step, 2 * (1 + beta) / big


def least_squares(rng):
    """Minibatch SGD on least squares, x ~ N(0, I_d): the expected error diverges above 2B / (B + d + 1).
    Batches of 16 or more: with 4 rows in 60 dimensions one loss varies by 70%, as much as the whole fall
    (the curve then reads as never falling; docs/finder.md, Limits)."""
    d, batch = int(rng.integers(2, 60)), int(rng.choice([16, 64, 256]))
    w = rng.standard_normal(d)

    def step(lr):
        x = rng.standard_normal((batch, d))
        r = x @ w - 0.1 * rng.standard_normal(batch)
        w[:] -= lr * x.T @ r / batch
        return 0.5 * float(np.mean(r ** 2))

    return step, 2 * batch / (batch + d + 1)


@pytest.mark.parametrize("make", [heavy_ball_quadratic, least_squares])
def test_the_default_never_picks_a_diverging_lr(make):
    """On 150 random problems whose divergence threshold is known, swept over 8 decades that end 10x to
    1000x above it, the suggestion stays below the threshold."""
    rng = np.random.default_rng(2024)
    worst = 0.0
    for _ in range(150):
        step, diverges = make(rng)
        start = diverges * 10 ** -rng.uniform(5, 7)
        with np.errstate(over="ignore", invalid="ignore"):
            r = range_test(step, start=start, end=start * 1e8)
        assert r.suggestion is not None, r.reasons
        worst = max(worst, r.suggestion / diverges)
    assert worst < 1.0, worst


@pytest.mark.parametrize("make", [heavy_ball_quadratic, least_squares])
def test_a_one_cycle_over_the_range_does_not_blow_up(make):
    """The range is sound for one-cycle: on 60 random problems of each family, 300 steps of
    ``r.one_cycle(300)`` on a fresh copy of the problem keep every loss finite and end below 10x the first."""
    for seed in range(60):
        step, diverges = make(np.random.default_rng(seed))
        start = diverges * 10 ** -np.random.default_rng(1000 + seed).uniform(5, 7)
        with np.errstate(over="ignore", invalid="ignore"):
            r = range_test(step, start=start, end=start * 1e8)
        assert r.range is not None, r.reasons
        fresh, _ = make(np.random.default_rng(seed))
        with np.errstate(over="ignore", invalid="ignore"):
            losses = [fresh(lr) for lr in r.one_cycle(300).values(np.arange(300)).tolist()]
        assert all(map(math.isfinite, losses)) and losses[-1] < 10 * losses[0], (seed, r.range, diverges)
