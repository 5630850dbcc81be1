"""Edges found by trying the core as a new user would (issue: core redesign), one test each."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lrkit as lk


# ------------------------------------------------------------ binding exactly
def test_percent_binds_exactly_where_the_answer_is_whole():
    """'7%' of 100 is 7, not 7.000000000000001: total * p / 100, for every common pair."""
    late = []
    for total in (10, 50, 100, 200, 300, 1000, 1500, 10_000, 12_345, 100_000):
        for p in range(1, 22):
            want = total * p / 100
            got = lk.cosine(f"{p}%").bind(total_steps=total).steps
            if got != want:
                late.append((total, p, got))
            if float(want).is_integer():
                assert type(got) is int and got == int(want), (total, p, got)
    assert late == []


def test_step_boundary_of_a_percentage_lands_on_its_step():
    s = lk.step("7%").bind(total_steps=100)
    assert s(6) == 1.0 and s(7) == pytest.approx(0.1, rel=1e-15)


# ------------------------------------------------------------------- structure
def test_structure_is_known_before_binding():
    """``is_finite`` works on unbound schedules of every family, so >> accepts them."""
    s = lk.reciprocal(lk.cosine("10%")) >> lk.constant()
    assert str(s.bind(total_steps=100)) == "reciprocal(cosine(10)) >> constant()"
    finite = [lk.cosine("10%"), lk.window(lk.step(2), "rest"), lk.noisy(lk.linear("5ep"), 0.1),
              lk.restarts(lk.cosine("1ep"), cycles=2), lk.interpolate([(0, 1), ("50%", 0)]),
              2 * lk.wsd("100%", "5%", "10%"), lk.one_cycle("rest"), lk.reciprocal(lk.cosine("10%"))]
    endless = [lk.step("1ep"), lk.restarts(lk.cosine("1ep")), lk.cosine("5%") + lk.exponential(half_life="1ep"),
               lk.piecewise(["10%"], [1, 0.5]), lk.multistep(["10%"]), lk.constant(steps=None)]
    for s in finite:
        assert s.is_finite and not s.is_bound, s
        assert (s >> lk.constant()).is_finite is False
    for s in endless:
        assert not s.is_finite, s
        with pytest.raises(lk.SpecError, match="finite"):
            s >> lk.constant()


def test_each_family_is_one_class_that_is_what_the_user_calls():
    s = lk.cosine(100, end=0.1)
    assert isinstance(s, lk.cosine) and type(s) is lk.cosine
    assert s.replace(steps=200) == lk.cosine(200, end=0.1)
    with pytest.raises(lk.SpecError, match=r"unknown field 'ned'"):
        s.replace(ned=0.2)
    with pytest.raises(lk.SpecError, match=r"cosine\(\): steps must be > 0; got steps=-1"):
        s.replace(steps=-1)


# ------------------------------------------------------------ repeated keywords
def test_a_keyword_given_twice_in_the_text_form_is_an_error():
    with pytest.raises(lk.SpecError, match=r"cosine\(\): steps given twice"):
        lk.parse("cosine(steps=10, steps=20)")
    with pytest.raises(lk.SpecError, match="given twice"):
        lk.parse("warmup(5) >> cosine(10, end=0.1, end=0.2)")


# --------------------------------------------------------------- scalar steps
def test_zero_dimensional_arrays_and_tensors_are_steps():
    import torch

    s = lk.warmup(100) >> lk.cosine(900)
    for t in (np.int64(700), np.float32(700.0), np.array(700), torch.tensor(700), torch.tensor(700.0),
              torch.tensor(700, dtype=torch.int32)):
        assert s(t) == s(700), type(t)
    with pytest.raises(lk.SpecError, match=r"single real number >= 0 \(s.values\(ts\) takes arrays\)"):
        s(torch.tensor([700]))
    with pytest.raises(lk.SpecError, match=r"single real number"):
        s(np.array([1.0, 2.0]))
    with pytest.raises(lk.SpecError, match="real number >= 0"):
        s(torch.tensor(True))
    with pytest.raises(lk.SpecError, match="real number >= 0; got t=-1"):
        s(torch.tensor(-1.0))


def _count_abc_checks(monkeypatch) -> list:
    """Every ``isinstance`` against an ABC (``numbers.Real``, ...) from now on, recorded."""
    import abc

    seen: list = []
    original = abc.ABCMeta.__instancecheck__

    def counted(cls, instance):
        seen.append((cls.__name__, type(instance).__name__))
        return original(cls, instance)

    monkeypatch.setattr(abc.ABCMeta, "__instancecheck__", counted)
    return seen


def test_the_steps_loops_pass_take_no_abc_check(monkeypatch):
    """int, float, numpy ints / floats and 0-d arrays are recognised by exact type or shape
    (issue 21): the numbers.Real ABC check cost more than the whole formula."""
    s = lk.warmup(100) >> lk.cosine(900)
    steps = [700, 700.0, np.int64(700), np.int32(700), np.uint16(700), np.float64(700.0), np.float32(700.0),
             np.array(700)]
    want = s(700.0)
    s(700.0)  # compiled before counting
    seen = _count_abc_checks(monkeypatch)
    got = [s(t) for t in steps]
    assert seen == []
    assert got == [want] * len(steps)


def test_zero_dimensional_tensor_steps_take_no_abc_check(monkeypatch):
    """0-d torch tensors take the same fast path (needs torch: deselected in test-core)."""
    import torch

    s = lk.warmup(100) >> lk.cosine(900)
    steps = [torch.tensor(700), torch.tensor(700.0, dtype=torch.float16)]
    want = s(700.0)
    s(700.0)
    seen = _count_abc_checks(monkeypatch)
    got = [s(t) for t in steps]
    assert seen == []
    assert got == [want] * len(steps)


@pytest.mark.parametrize("bad, shown", [
    (-1, "-1"), (np.int64(-1), "-1"), (np.float32(-0.5), "-0.5"), (np.float64("nan"), "nan"),
    (-(2**1100), "-inf"),
])
def test_fast_step_types_still_reject_negative_and_nan(bad, shown):
    with pytest.raises(lk.SpecError, match=rf"^step t must be a real number >= 0; got t={shown} "):
        lk.cosine(10)(bad)


@pytest.mark.parametrize("bad", [True, False, np.True_, np.array(True)])
def test_bool_steps_are_rejected(bad):
    with pytest.raises(lk.SpecError, match=r"^step t must be a real number >= 0; got t="):
        lk.cosine(10)(bad)


def test_integer_steps_beyond_float_range_are_past_the_end():
    assert lk.cosine(10)(10**400) == 0.0 == lk.cosine(10)(2**1023 + 1)
    assert lk.cosine(10)(2**1023) == 0.0  # the last int that still converts (as before: within range)
    with pytest.raises(lk.SpecError, match="must be finite for an endless schedule; got t=inf"):
        lk.step(10)(10**400)


def test_int_subclasses_and_fractions_still_are_steps():
    import enum
    from fractions import Fraction

    class Epoch(enum.IntEnum):
        LAST = 700

    s = lk.warmup(100) >> lk.cosine(900)
    assert s(Epoch.LAST) == s(Fraction(1400, 2)) == s(700.0)


# ------------------------------------------------------ evaluate or reject, never NaN
def test_exp_range_with_growing_gamma_is_low_at_every_trough_not_nan():
    s = lk.cyclic(0.1, 1.0, 10, mode="exp_range", gamma=2.0)
    ts = np.array([0, 20, 2000, 20_000, 2_000_000], dtype=float)  # troughs: the height is 0
    assert s.values(ts).tolist() == [0.1] * 5 and [s(t) for t in ts] == [0.1] * 5
    assert not np.isnan(s.values(np.arange(0, 5000, 3.0))).any()


def test_restarts_with_a_huge_period_mult_evaluates_right():
    s = lk.restarts(lk.cosine(10), period_mult=1e300)
    assert s(1e9) == pytest.approx(1.0)  # cycle 1 lasts 1e301 steps: at 1e9 it has barely begun
    assert s(5) == pytest.approx(0.5) and s(10) == 1.0
    v = s.values(np.array([0.0, 5.0, 10.0, 1e9, 1e12, 1e300]))
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()


@pytest.mark.parametrize("text", ["cosine(5e-324)", "linear(1e-310)", "step(2e-308)", "window(cosine(1), 1e-320)"])
def test_subnormal_durations_are_rejected(text):
    with pytest.raises(lk.SpecError, match=r"must be >= 2.2250738585072014e-308 \(a normal float\)"):
        lk.parse(text)


def test_tiny_normal_durations_evaluate_right():
    s = lk.cosine(1e-300)
    assert s(0) == 1.0 and s(1e-300) == 0.0 and s(1) == 0.0 and s(0.5e-300) == pytest.approx(0.5)


# ------------------------------------------------------------- speed path
def test_scalar_path_builds_no_array(monkeypatch):
    """s(t) on a Python number runs a plain float function: numpy.array is never called."""
    s = lk.warmup(500) >> lk.restarts(lk.cosine(1000, end=0.01), cycles=3) >> lk.constant(0.01)
    s(1.0)  # traced once
    calls = []
    real = np.array
    monkeypatch.setattr(np, "array", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert [s(t) for t in (0.0, 250.0, 500.0, 1499.5, 4000.0)] == s.values([0, 250, 500, 1499.5, 4000]).tolist()
    assert calls == []


def test_scalar_function_source_reads_as_the_formula():
    s = lk.warmup(10) >> lk.cosine(90)
    s(0.0)
    src = s.__dict__["_scalar"].source
    assert "if t < (10.0):" in src and "_cos(" in src and "else:" in src


@pytest.mark.parametrize("text", ["exponential(0.999)", "step(7, gamma=0.37)", "multistep([5, 9, 30], gamma=0.3)",
                                  "restarts(cosine(13, end=0.01), period_mult=1.5, decay=0.9)",
                                  "restarts(linear(7), period_mult=2, decay=0.5, cycles=6)"])
def test_constant_powers_kept_by_the_scalar_path_stay_bit_exact(text):
    """``gamma ** k`` with a constant base is kept per schedule (a bounded table): more integral exponents
    than it holds, repeated and out of order, still equal ``values`` bit for bit."""
    s = lk.parse(text)
    ts = np.r_[np.arange(3000.0), np.arange(3000.0)[::-7], np.linspace(0, 2999, 997)]
    assert np.array([s(float(t)) for t in ts]).tobytes() == s.values(ts).tobytes()
    table = s.__dict__["_scalar"].__globals__["_cpow"].__closure__
    kept = next(c.cell_contents for c in table if isinstance(c.cell_contents, dict))
    assert 0 < len(kept) <= 1024
    other = lk.parse(text)
    other(1.0)
    assert other.__dict__["_scalar"].__globals__["_cpow"] is not s.__dict__["_scalar"].__globals__["_cpow"]


def test_overflow_falls_back_to_numpy_without_warnings():
    import warnings

    s = lk.step(1, gamma=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s(1000) == math.inf == s.values([1000])[0]
        assert lk.exponential(0.5)(1e6) == 0.0
