"""Properties of values: purity, vectorised == scalar, finiteness up to t = 1e12,
monotone families between their end values, past-the-end holds, sequence
boundaries, real-valued durations, binding of run-relative durations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from schedule_strategies import durations, finite, levels, schedules, whole_finite

import lrkit as lk

SETTINGS = settings(max_examples=120, deadline=None)
steps = st.one_of(st.integers(0, 20_000), st.floats(0, 20_000, allow_nan=False))
huge = st.floats(0, 1e12, allow_nan=False)


@SETTINGS
@given(schedules(tame=False), st.lists(steps, min_size=1, max_size=30))
def test_pure_and_values_equal_calls_exactly(s, ts):
    # Untamed parameters may overflow (0 * inf = nan for start=0, gamma>1): compare
    # bit patterns, so nan == nan and 0.0 != -0.0.
    one = np.array([s(t) for t in ts])
    assert np.array([s(t) for t in ts]).tobytes() == one.tobytes()  # same t, same value (noise included)
    vec = s.values(ts)
    assert vec.dtype == np.float64 and vec.shape == (len(ts),)
    assert vec.tobytes() == one.tobytes()  # bit for bit, not approximately
    assert s.values(np.array(ts)[::-1]).tobytes() == one[::-1].tobytes()  # order does not matter
    assert all(type(s(t)) is float for t in ts)


@SETTINGS
@given(schedules(tame=True), st.lists(huge, min_size=1, max_size=20))
def test_tame_values_are_finite_and_non_negative_up_to_1e12(s, ts):
    ts = ts + [0.0, 1e12, 1e12 - 0.5]
    v = s.values(ts)
    assert np.isfinite(v).all(), [t for t, x in zip(ts, v) if not np.isfinite(x)]
    assert (v >= 0).all()


@SETTINGS
@given(finite(tame=False), st.one_of(st.integers(0, 10**9), st.floats(0, 1e12)))
def test_past_the_end_the_final_value_holds(s, x):
    d = s.duration
    assert d is not None
    end = s(d)
    assert s(d + x) == end
    assert s(math.inf) == end
    assert s.values([d, d + x, d + 0.5, 2 * d + 1]).tolist() == [end] * 4


@SETTINGS
@given(finite(), schedules(), st.floats(0, 1, exclude_max=True))
def test_sequence_switches_at_the_boundary(a, b, frac):
    s = a >> b
    d = a.duration
    if b.duration is None:
        assert s.duration is None
    else:  # durations add (the sum of all phases, in whatever order: approx)
        assert s.duration == pytest.approx(d + b.duration, rel=1e-14)
    assert s(d) == b(0)  # the boundary belongs to the next phase
    t = frac * d
    if t < d:  # (interpolate([(0, v)]) lasts 0 steps: nothing is before its boundary)
        assert s(t) == a(t)  # before the boundary: the first phase at the same step


@SETTINGS
@given(whole_finite(), whole_finite(), st.integers(0, 3_000))
def test_sequence_gives_each_phase_local_time(a, b, k):
    assert float(a.duration).is_integer()  # whole offsets: t - offset is exact
    s = a >> b
    assert s(a.duration + k) == b(k)


@SETTINGS
@given(finite(), st.floats(0.0, 5.0), st.floats(0.0, 5.0), st.lists(steps, min_size=1, max_size=10))
def test_arithmetic_is_pointwise(a, c, off, ts):
    b = lk.cosine(777, end=0.1)
    for t in ts:
        assert (a * b)(t) == a(t) * b(t)
        assert (a + b)(t) == a(t) + b(t)
        assert (c * a)(t) == c * a(t)
        assert (a + off)(t) == a(t) + off
    both = [x.duration for x in (a, b)]
    assert (a * b).duration == max(both)
    assert (a * lk.constant(2.0)).duration is None  # with an endless side: endless


MONOTONE = st.one_of(
    st.builds(lambda n, a, b: lk.linear(n, a, b), durations, levels, levels),
    st.builds(lambda n, a, b: lk.warmup(n, a, b), durations, levels, levels),
    st.builds(lambda n, a, b: lk.cosine(n, a, b), durations, levels, levels),
    st.builds(lambda n, p, a, b: lk.polynomial(n, p, a, b), durations, st.floats(0.01, 5.0), levels, levels),
    st.builds(lambda n, g, a: lk.step(n, g, a), durations, st.floats(0.05, 1.0), levels),
    st.builds(lambda g, a: lk.exponential(g, start=a), st.floats(0.05, 1.0), levels),
    st.builds(lambda h, a: lk.exponential(half_life=h, start=a), durations, levels),
    st.builds(lambda n, p, a: lk.inverse_time(n, p, a), durations, st.floats(0.0, 3.0), levels),
    st.builds(lambda n, a: lk.inverse_sqrt(n, a), durations, levels),
)


def _end_value(s):
    d = s.duration
    return s(d) if d is not None else 0.0  # endless decays head towards 0


@SETTINGS
@given(MONOTONE, st.lists(st.floats(0, 1e7), min_size=2, max_size=40))
def test_monotone_families_stay_between_start_and_end(s, ts):
    ts = sorted(ts + [0.0])
    v = s.values(ts)
    first, last = s(0), _end_value(s)
    lo, hi = min(first, last), max(first, last)
    assert ((v >= lo) & (v <= hi)).all()
    diffs = np.diff(v)
    assert (diffs <= 0).all() or (diffs >= 0).all()
    if s.duration is not None:  # start + (end-start)*1 may differ from end by an ulp (as in torch)
        assert abs(s(s.duration) - s.end) <= 4 * np.finfo(float).eps * max(s.start, s.end)


@SETTINGS
@given(st.floats(0.25, 500), st.floats(0, 1), st.floats(0, 2000))
def test_real_valued_durations(d, frac, x):
    s = lk.warmup(d) >> lk.cosine(2 * d)
    assert s.duration == d + 2 * d
    assert s(frac * d) == frac * d / d
    assert s(d) == 1.0 and s(3 * d + x) == 0.0
    r = lk.restarts(lk.linear(d), cycles=3)
    assert r.duration == 3 * d and r(r.duration + x) == 0.0


@SETTINGS
@given(st.integers(100, 10**6), st.integers(1, 5_000), st.integers(1, 40), st.integers(1, 20))
def test_binding_resolves_units_as_documented(total, per_epoch, pct, eps):
    s = lk.warmup(f"{pct}%") >> lk.constant(1.0, steps=f"{eps}ep") >> lk.cosine("rest")
    w, c = total * pct / 100, eps * per_epoch  # SPEC: total * p / 100 (exact where the answer is whole)
    assume(w + c < total)
    b = s.bind(total_steps=total, steps_per_epoch=per_epoch)
    assert b.is_bound and not s.is_bound and b.units == frozenset()
    assert s.units == frozenset({"%", "ep", "rest"})
    warm, hold, rest = b.phases
    assert warm == lk.warmup(w) and hold == lk.constant(1.0, steps=c)
    assert str(rest).startswith("cosine(") and rest.steps == pytest.approx(total - w - c, rel=1e-12)
    assert b.duration == pytest.approx(total, rel=1e-12)
    assert b.bind(total_steps=7) is b  # bound schedules are returned unchanged
