"""Hypothesis strategies for random valid lrkit schedules (shared by tests/property).

``finite()`` and ``schedules()`` build nested compositions: ``>>``, ``*`` and
``+`` (with schedules and numbers), ``restarts``, ``noisy``. With
``tame=True`` every parameter keeps values bounded (gamma <= 1, decay <= 1,
no exp_range growth), so values stay finite for every t. ``unbound()`` adds
run-relative durations ("5ep", "10%", "rest").
"""

from __future__ import annotations

from hypothesis import strategies as st

import lrkit as lk

# Durations: whole numbers and real numbers (a cycle of 937.5 steps).
durations = st.one_of(st.integers(1, 2_000), st.floats(0.25, 2_000, allow_nan=False).map(lambda x: round(x, 3)))
levels = st.floats(0.0, 2.0, allow_nan=False)  # a value (a multiplier of the base lr)
positive = st.floats(0.05, 2.0, allow_nan=False)
numbers = st.one_of(st.integers(0, 5), st.floats(0.0, 5.0, allow_nan=False))


def _gammas(tame: bool):
    return st.floats(0.05, 1.0) if tame else st.floats(0.05, 3.0)


@st.composite
def _milestones(draw):
    ms = draw(st.lists(st.integers(0, 3_000), min_size=1, max_size=5))
    return sorted(ms)


@st.composite
def _knots(draw):
    times = sorted(set(draw(st.lists(st.integers(0, 3_000), min_size=1, max_size=5))))
    return [(t, draw(levels)) for t in times]


@st.composite
def _wsd(draw):
    steps = draw(st.integers(2, 3_000))
    warm = draw(st.integers(0, steps // 2))
    decay = draw(st.integers(0, steps - warm))
    shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
    return lk.wsd(steps, warm, decay, end=draw(st.floats(0, 0.5)), shape=shape)


@st.composite
def _one_cycle(draw):
    three = draw(st.booleans())
    return lk.one_cycle(draw(durations), peak=draw(positive), pct_start=draw(st.floats(0.0, 0.5 if three else 1.0)),
                        div_factor=draw(st.floats(1.0, 100.0)), final_div_factor=draw(st.floats(1.0, 1e4)),
                        anneal=draw(st.sampled_from(["cos", "linear"])), three_phase=three)


@st.composite
def _piecewise(draw):
    bounds = draw(_milestones())
    return lk.piecewise(bounds, draw(st.lists(levels, min_size=len(bounds) + 1, max_size=len(bounds) + 1)))


def finite_leaves() -> st.SearchStrategy:
    return st.one_of(
        st.builds(lk.constant, levels, durations),
        st.builds(lk.linear, durations, levels, levels),
        st.builds(lk.warmup, durations, levels, levels),
        st.builds(lk.cosine, durations, levels, levels),
        st.builds(lk.polynomial, durations, st.floats(0.0, 4.0), levels, levels),
        st.builds(lk.interpolate, _knots(), st.sampled_from(["linear", "cosine"])),
        _one_cycle(),
        _wsd(),
    )


def endless_leaves(tame: bool) -> st.SearchStrategy:
    g = _gammas(tame)
    cyclic = st.builds(
        lambda lo, span, up, down, mode, gamma: lk.cyclic(lo, lo + span, up, down, mode, gamma),
        levels, levels, durations, st.none() | durations,
        st.sampled_from(["triangular", "triangular2", "exp_range"]), st.floats(0.9, 1.0) if tame else g)
    return st.one_of(
        st.builds(lk.constant, levels),
        st.builds(lk.step, durations, g, levels),
        st.builds(lk.multistep, _milestones(), g, levels),
        st.builds(lambda gamma, start: lk.exponential(gamma, start=start), g, levels),
        st.builds(lambda h, start: lk.exponential(half_life=h, start=start), durations, levels),
        st.builds(lk.inverse_time, durations, st.floats(0.0, 3.0), levels),
        st.builds(lk.inverse_sqrt, durations, levels),
        _piecewise(),
        cyclic,
    )


def _restarts(inner, tame: bool, cycles):
    inner = inner.filter(lambda s: s.duration > 0)  # interpolate([(0, v)]) lasts 0 steps
    return st.builds(lk.restarts, inner, st.sampled_from([1, 1.5, 2, 3]),
                     st.floats(0.3, 1.0) if tame else st.floats(0.3, 1.5), cycles)


def _noisy(inner):
    kinds = st.sampled_from(["normal", "uniform"])
    return st.builds(lk.noisy, inner, st.floats(0.0, 0.5), st.integers(0, 2**40), kinds)


def _reshaped(inner):
    """``window`` (cut to a length: finite whatever ``inner`` is) and ``reciprocal``."""
    return st.one_of(
        st.builds(lk.window, inner, st.integers(1, 500) | st.floats(0.5, 500.0)),
        st.builds(lk.reciprocal, inner, st.floats(0.0, 4.0), st.floats(1e-3, 1.0)),
    )


def _arith(a, b):
    """a * b, a + b, c * a, a * c, c + a, a + c (c a number)."""
    return st.one_of(
        st.builds(lambda x, y: x * y, a, b), st.builds(lambda x, y: x + y, a, b),
        st.builds(lambda c, x: c * x, numbers, a), st.builds(lambda x, c: x * c, a, numbers),
        st.builds(lambda c, x: c + x, numbers, a), st.builds(lambda x, c: x + c, a, numbers),
    )


def finite(tame: bool = True) -> st.SearchStrategy:
    """Finite schedules (a duration), nested up to a few levels."""
    def extend(children):
        return st.one_of(
            st.builds(lambda a, b: a >> b, children, children),
            st.builds(lambda ps: lk.sequence(ps), st.lists(children, min_size=2, max_size=4)),
            _arith(children, children),
            _restarts(children, tame, st.integers(1, 4)),
            _noisy(children),
            _reshaped(children),
        )
    return st.recursive(finite_leaves(), extend, max_leaves=6)


def schedules(tame: bool = True) -> st.SearchStrategy:
    """Any valid schedule, finite or endless, nested."""
    fin = finite(tame)

    def extend(children):
        return st.one_of(
            st.builds(lambda a, b: a >> b, fin, children),
            _arith(children, children),
            _restarts(fin, tame, st.none() | st.integers(1, 4)),
            _noisy(children),
            _reshaped(children),
        )
    return st.recursive(st.one_of(finite_leaves(), endless_leaves(tame)), extend, max_leaves=6)


def whole_finite() -> st.SearchStrategy:
    """Finite schedules of a whole number of steps (so t - offset is exact)."""
    n = st.integers(1, 2_000)
    leaf = st.one_of(st.builds(lk.cosine, n, levels, levels), st.builds(lk.linear, n, levels, levels),
                     st.builds(lk.constant, levels, n), _wsd())
    return st.one_of(leaf, st.builds(lambda a, b: a >> b, leaf, leaf), _noisy(leaf),
                     st.builds(lk.restarts, leaf, st.sampled_from([1, 2, 3]), st.floats(0.3, 1.0), st.integers(1, 3)))


unit_durations = st.one_of(
    st.integers(1, 50).map(lambda n: f"{n}ep"),
    st.integers(1, 40).map(lambda n: f"{n}%"),
    durations,
)


@st.composite
def unbound(draw):
    """A schedule using "Nep" / "N%" durations and at most one "rest"."""
    phase = st.one_of(*(st.builds(f, unit_durations) for f in (lk.warmup, lk.linear, lk.cosine)))
    head = draw(st.lists(phase, min_size=1, max_size=3))
    tail = draw(st.sampled_from([lk.cosine, lk.linear, lk.polynomial]))("rest")
    s = lk.sequence(head + [tail]) if draw(st.booleans()) else lk.sequence(head)
    return draw(st.sampled_from([s, 2 * s, lk.noisy(s, 0.1), s >> lk.constant(0.1)]))
