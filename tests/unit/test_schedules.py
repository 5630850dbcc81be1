"""Value tables for every family: t = 0, just before a boundary, the boundary, the end,
far past the end, against independent formulas (plain ``math``, written another way:
loops, modular arithmetic, explicit branches) and hand-computed numbers."""

from __future__ import annotations

import bisect
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import lrkit as lk

FAR = 1e12


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-15)


def table(s, rows):
    """``rows``: (t, expected); each checked through s(t) and s.values."""
    ts = [t for t, _ in rows]
    for t, want in rows:
        assert s(t) == approx(want), (s, t)
    assert s.values(ts).tolist() == [s(t) for t in ts]


# ------------------------------------------------------------ single formula
def test_constant():
    table(lk.constant(0.5, steps=10), [(0, 0.5), (9.999, 0.5), (10, 0.5), (FAR, 0.5)])
    assert lk.constant(0.5, steps=10).duration == 10 and lk.constant(0.5).duration is None
    assert lk.constant()(123) == 1.0


def test_linear_and_warmup():
    table(lk.linear(100, start=1.0, end=0.5), [(0, 1.0), (50, 0.75), (99, 0.505), (100, 0.5), (FAR, 0.5)])
    table(lk.warmup(500), [(0, 0.0), (250, 0.5), (499, 0.998), (500, 1.0), (FAR, 1.0)])
    table(lk.warmup(10, start=0.1, end=0.5), [(0, 0.1), (5, 0.3), (10, 0.5), (11, 0.5)])
    assert lk.linear(100).duration == 100 and lk.linear(100)(100) == 0.0
    assert lk.linear(3, start=0.02626970260486817)(3) == 0.0  # not -3.5e-18: never below its ends


def test_step_is_repeated_multiplication():
    s = lk.step(10, gamma=0.5, start=2.0)
    table(s, [(0, 2.0), (9, 2.0), (9.999, 2.0), (10, 1.0), (19, 1.0), (20, 0.5), (1e4, 2 * 0.5**1000)])
    for t in range(0, 95, 7):  # independent: multiply once per completed period
        v = 2.0
        for _ in range(t // 10):
            v *= 0.5
        assert s(t) == approx(v)
    assert s.duration is None


def test_multistep_counts_repeated_milestones():
    ms = [30, 30, 80]
    s = lk.multistep(ms, gamma=0.1)
    table(s, [(0, 1.0), (29.5, 1.0), (30, 0.01), (79, 0.01), (80, 0.001), (FAR, 0.001)])
    for t in range(0, 100, 3):
        assert s(t) == approx(0.1 ** bisect.bisect_right(ms, t))
    assert lk.multistep([0])(0) == 0.1  # a milestone at 0 applies at step 0


def test_exponential_by_gamma_and_by_half_life():
    table(lk.exponential(0.9, start=2.0), [(0, 2.0), (1, 1.8), (10, 2 * 0.9**10), (2.5, 2 * 0.9**2.5)])
    h = lk.exponential(half_life=100)
    table(h, [(0, 1.0), (50, math.sqrt(0.5)), (100, 0.5), (300, 0.125)])
    assert h(200) == 0.25  # exact at whole half-lives
    assert lk.exponential(half_life=100) != lk.exponential(0.5 ** (1 / 100))  # two spellings, two values


def test_cosine():
    def ref(t, n=100, a=1.0, b=0.1):
        tt = min(t, n)
        return b + (a - b) * (1 + math.cos(math.pi * tt / n)) / 2

    s = lk.cosine(100, end=0.1)
    table(s, [(0, 1.0), (50, 0.55), (99, ref(99)), (100, 0.1), (FAR, 0.1)])
    assert s(100) == 0.1 and s(FAR) == 0.1  # exactly end: cos(pi) = -1
    assert lk.cosine(100, start=0.2, end=1.0)(50) == approx(0.6)  # rising works too


def test_polynomial():
    s = lk.polynomial(100, power=2.0)
    table(s, [(0, 1.0), (50, 0.25), (99, 1e-4), (100, 0.0), (FAR, 0.0)])
    table(lk.polynomial(10, power=0.5, start=1.0, end=0.2), [(0, 1.0), (9, 0.2 + 0.8 * 0.1**0.5), (10, 0.2)])


def test_inverse_time_and_inverse_sqrt():
    table(lk.inverse_time(100), [(0, 1.0), (100, 0.5), (300, 0.25), (FAR, 1 / (1 + FAR / 100))])
    table(lk.inverse_time(100, power=2.0, start=3.0), [(100, 0.75), (300, 3 / 16)])
    table(lk.inverse_sqrt(100), [(0, 1.0), (300, 0.5), (800, 1 / 3)])
    for t in [0, 7, 1e6]:
        assert lk.inverse_sqrt(37, start=2)(t) == approx(lk.inverse_time(37, 0.5, 2)(t))


# ----------------------------------------------------------------- cycles
def cyclic_ref(t, low, high, up, down, mode, gamma):
    """Triangle wave by position within the period (modular arithmetic)."""
    period = up + down
    k, p = divmod(t, period)
    h = p / up if p <= up else 1 - (p - up) / down
    scale = {"triangular": 1.0, "triangular2": 0.5**k, "exp_range": gamma**t}[mode]
    return low + (high - low) * h * scale


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic(mode):
    s = lk.cyclic(0.1, 1.0, 10, 30, mode=mode, gamma=0.99)
    for t in [0, 5, 9, 10, 11, 25, 39, 40, 45, 50, 79, 80, 123.5, 1000]:
        assert s(t) == approx(cyclic_ref(t, 0.1, 1.0, 10, 30, mode, 0.99)), t
    assert s(10) == approx(0.1 + 0.9 * (0.99**10 if mode == "exp_range" else 1.0))
    assert s.duration is None


def test_cyclic_default_down_is_up():
    table(lk.cyclic(0.1, 1.0, up=10), [(0, 0.1), (5, 0.55), (10, 1.0), (15, 0.55), (20, 0.1), (30, 1.0)])


def test_one_cycle_two_phases():
    s = lk.one_cycle(100)  # peak 1, init 1/25, min 1/25/1e4; phase 1 ends at 0.3*100 - 1 = 29
    table(s, [(0, 0.04), (29, 1.0), (64, 4e-6 + (1 - 4e-6) / 2), (99, 4e-6), (100, 4e-6), (FAR, 4e-6)])
    lin = lk.one_cycle(100, anneal="linear")
    table(lin, [(0, 0.04), (14.5, 0.52), (29, 1.0), (64, (1 + 4e-6) / 2), (99, 4e-6), (FAR, 4e-6)])
    assert s.duration == 100


def test_one_cycle_three_phases():
    s = lk.one_cycle(100, peak=2.0, three_phase=True, anneal="linear")  # ends at 29, 58, 99
    init, low = 2.0 / 25, 2.0 / 25 / 1e4
    table(s, [(0, init), (29, 2.0), (43.5, (2.0 + init) / 2), (58, init), (78.5, (init + low) / 2), (99, low)])


def test_one_cycle_shorter_than_one_step_does_not_extrapolate():
    s = lk.one_cycle(0.5, pct_start=0.0, div_factor=1.0, final_div_factor=3.0, anneal="linear")
    assert s(0) == s(1e9) == approx(1 / 3)  # torch has no step here; lrkit gives the final value
    assert lk.one_cycle(1)(0) == approx(4e-6)


def test_wsd_shapes():
    for shape, mid in [("linear", 0.5), ("cosine", 0.5), ("1-sqrt", 1 - math.sqrt(0.5))]:
        s = lk.wsd(1000, 100, 200, end=0.1, shape=shape)
        table(s, [(0, 0.1), (50, 0.55), (99, 0.1 + 0.9 * 0.99), (100, 1.0), (799, 1.0), (800, 1.0),
                  (900, 0.1 + 0.9 * mid), (1000, 0.1), (FAR, 0.1)])
    table(lk.wsd(100, 0, 0, end=0.2), [(0, 1.0), (99.9, 1.0), (100, 0.2)])  # no warmup, instant decay


# --------------------------------------------------------------- tables
def test_piecewise():
    table(lk.piecewise([10, 20], [1.0, 0.5, 0.1]), [(0, 1.0), (9.99, 1.0), (10, 0.5), (19, 0.5), (20, 0.1), (FAR, 0.1)])


def test_interpolate_linear_and_cosine():
    pts = [(0, 0.0), (10, 1.0), (30, 0.5)]
    table(lk.interpolate(pts), [(0, 0.0), (5, 0.5), (10, 1.0), (20, 0.75), (30, 0.5), (FAR, 0.5)])
    cos = lk.interpolate(pts, shape="cosine")
    table(cos, [(2.5, (1 - math.cos(math.pi / 4)) / 2), (10, 1.0), (20, 0.75), (30, 0.5)])
    held = lk.interpolate([(10, 0.3), (20, 0.6)])
    table(held, [(0, 0.3), (9, 0.3), (15, 0.45), (25, 0.6)])
    assert held.duration == 20


# ------------------------------------------------------------ combinators
def restarts_ref(t, inner_steps, mult, decay, inner):
    start, length, k = 0.0, float(inner_steps), 0
    while t >= start + length:  # walk cycle by cycle
        start, length, k = start + length, length * mult, k + 1
    return inner((t - start) / length * inner_steps) * decay**k


@pytest.mark.parametrize("mult", [1, 2, 3, 1.5])
def test_restarts(mult):
    inner = lk.cosine(10, end=0.2)
    s = lk.restarts(inner, period_mult=mult, decay=0.5)
    for t in [0, 5, 9.999, 10, 10.5, 29.99, 30, 31, 69.5, 70, 100, 1234.5]:
        assert s(t) == approx(restarts_ref(t, 10, mult, 0.5, inner)), (mult, t)


def test_restarts_examples_and_cycles():
    s = lk.restarts(lk.cosine(10), period_mult=2)
    table(s, [(0, 1.0), (10, 1.0), (20, 0.5), (30, 1.0), (29.9999, restarts_ref(29.9999, 10, 2, 1, lk.cosine(10)))])
    c = lk.restarts(lk.cosine(10, end=0.2), period_mult=2, decay=0.5, cycles=2)
    assert c.duration == 30
    table(c, [(9.99, restarts_ref(9.99, 10, 2, 0.5, lk.cosine(10, end=0.2))), (10, 0.5), (30, 0.1), (FAR, 0.1)])


def test_sequence_spec_example():
    s = lk.warmup(500) >> lk.cosine(9_500, end=0.01)
    assert (s(0), s(500), s(10_000)) == (0.0, 1.0, 0.01)
    table(s, [(250, 0.5), (499, 0.998), (5250, 0.505), (FAR, 0.01)])
    assert s.duration == 10_000 and str(s) == "warmup(500) >> cosine(9500, end=0.01)"
    three = lk.sequence([lk.warmup(10), lk.constant(1.0, steps=10), lk.linear(10)])
    table(three, [(5, 0.5), (10, 1.0), (19.5, 1.0), (20, 1.0), (25, 0.5), (30, 0.0)])


def test_arithmetic():
    s = 3e-4 * lk.cosine(10_000)
    table(s, [(0, 3e-4), (5000, 1.5e-4), (10_000, 0.0)])
    table(lk.cosine(10) * lk.linear(20) + 0.1, [(0, 1.1), (10, 0.1), (20, 0.1)])
    assert (lk.cosine(10) * lk.linear(20)).duration == 20
    assert (lk.cosine(10) + lk.constant(1.0)).duration is None


# ------------------------------------------------------------------ noise
def test_noisy_is_deterministic_per_step_and_seed():
    s = lk.noisy(lk.constant(1.0), std=0.1, seed=1)
    assert s(7) == s(7.5) == s(7.999) == lk.parse(str(s))(7)
    assert s(7) != s(8)
    assert s.values(range(50)).tolist() == lk.noisy(lk.constant(1.0), 0.1, seed=1).values(range(50)).tolist()
    assert s.values(range(50)).tolist() != lk.noisy(lk.constant(1.0), 0.1, seed=2).values(range(50)).tolist()
    assert lk.noisy(lk.cosine(10), std=0.0).values(range(12)).tolist() == lk.cosine(10).values(range(12)).tolist()


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_noisy_has_the_stated_distribution(kind):
    n, std = 100_000, 0.1
    e = lk.noisy(lk.constant(1.0), std=std, seed=5, kind=kind).values(np.arange(n)) - 1.0
    assert abs(e.mean()) < 4 * std / math.sqrt(n)
    assert e.std() == pytest.approx(std, rel=0.02)
    if kind == "uniform":
        assert e.min() >= -math.sqrt(3) * std and e.max() <= math.sqrt(3) * std
    else:
        assert np.mean(np.abs(e) < std) == pytest.approx(0.6827, abs=0.01)  # one-sigma mass


def test_noisy_never_negative_and_holds_past_the_end():
    s = lk.noisy(lk.cosine(100), std=3.0, seed=9)
    assert (s.values(range(200)) >= 0).all()
    assert s(100) == s(101) == s(FAR)


def test_noisy_is_the_same_in_a_fresh_process():
    code = ("import json, lrkit as lk; s = lk.parse('noisy(warmup(5) >> cosine(50), 0.2, seed=42)'); "
            "print(json.dumps(s.values(range(60)).tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    here = lk.noisy(lk.warmup(5) >> lk.cosine(50), 0.2, seed=42).values(range(60)).tolist()
    assert json.loads(out) == here


# -------------------------------------------------------------- describe
def test_describe_one_line_per_phase():
    lines = (lk.warmup(500) >> lk.cosine(9_500, end=0.01)).describe().splitlines()
    assert len(lines) == 2
    assert "0 .. 500" in lines[0] and "0 -> 1" in lines[0] and lines[0].endswith("warmup(500)")
    assert "500 .. 10000" in lines[1] and "1 -> 0.01" in lines[1] and lines[1].endswith("cosine(9500, end=0.01)")
    endless = (lk.warmup(10) >> lk.step(5)).describe().splitlines()
    assert "10 .. inf" in endless[1] and "(endless)" in endless[1]
    assert len(lk.cosine(10).describe().splitlines()) == 1


def test_evaluate_in_numpy_equals_values():
    s = lk.warmup(5) >> lk.restarts(lk.cosine(10), period_mult=2) * 0.5
    t = np.arange(0, 100, 0.5)
    assert np.array_equal(s.evaluate(t), s.values(t))


def test_values_on_large_shuffled_arrays_equal_calls_exactly():
    """Big inputs are cut into chunks (and threads); every element still matches s(t)."""
    s = lk.noisy(lk.warmup(1000) >> lk.restarts(lk.cosine(5000.5, end=0.1), period_mult=1.5, cycles=5), 0.1)
    ts = np.random.default_rng(0).permutation(np.arange(0, 150_000, 0.75))
    v = s.values(ts)
    pick = np.random.default_rng(1).integers(0, ts.size, 300)
    assert [v[i] for i in pick] == [s(ts[i]) for i in pick]
    assert np.array_equal(s.values(ts[::-3]), v[::-3])  # strided views too


def test_values_keeps_the_input_shape():
    s = lk.cosine(10)
    assert s.values(5).shape == () and s.values(5) == 0.5
    assert s.values([]).shape == (0,)
    assert s.values([[0, 5], [10, 20]]).tolist() == [[1.0, 0.5], [0.0, 0.0]]


class _Reciprocal(np.ndarray):
    """A float32 array whose ``t / c`` is ``t * (1 / c)``: how XLA (jax.jit) compiles it."""

    def __truediv__(self, other):
        if np.ndim(other) == 0:
            return np.multiply(self, np.float32(1.0) / np.float32(other))
        return np.true_divide(self, other)


@pytest.mark.parametrize("s", [
    lk.step(94, gamma=0.5), lk.restarts(lk.cosine(94, end=0.1), decay=0.9), lk.cyclic(0.0, 1.0, 100),
    lk.polynomial(3001, power=0.5, end=0.05), lk.cyclic(0.2, 1.0, 47, down=70, mode="triangular2"),
])
def test_boundaries_survive_float32_division_by_reciprocal(s):
    """t * (1/94) is 1.9999999 at t = 188 in float32: a plain floor(t / size) would
    switch a step late, 1 - t/n would go negative (NaN for power 0.5)."""
    from lrkit.schedules.ops import NUMPY32

    t = np.arange(4_000, dtype=np.float32).view(_Reciprocal)
    assert float((t / 94)[188]) < 2.0  # the emulation does round like XLA
    got = np.asarray(s.evaluate(t, NUMPY32), dtype=np.float64)
    want = s.values(np.arange(4_000))
    assert np.abs(got - want).max() <= 8 * np.finfo(np.float32).eps * np.abs(want).max()
