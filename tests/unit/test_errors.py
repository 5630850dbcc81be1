"""One test per kind of bad argument (SPEC section 1, "Errors"): the exact message,
``lk.SpecError`` (a ``ValueError``), raised at construction, directly and through
``lk.parse``. Evaluation errors (negative / NaN steps) and parse-only errors too."""

from __future__ import annotations

import re

import pytest

import lrkit as lk

NAN = float("nan")


def raises(fn, message: str) -> lk.SpecError:
    """``fn()`` raises SpecError whose message is exactly ``message``."""
    with pytest.raises(lk.SpecError) as info:
        fn()
    assert isinstance(info.value, ValueError)
    assert str(info.value) == message
    return info.value


PUBLIC = {name: getattr(lk, name) for name in lk.__all__}


def python(text: str, **names):
    """Run ``text`` as the Python code a user would write (test input only)."""
    return eval(text, {**PUBLIC, **names})  # noqa: S307


def both(text: str, message: str) -> None:
    """The same text as Python code and through ``lk.parse`` fails the same way."""
    raises(lambda: python(text), message)
    raises(lambda: lk.parse(text), message)


SHAPE = re.compile(r"^(\w+)\(\): (.+?) must be (.+); got (.+?)=(.+)$")


@pytest.mark.parametrize("text, message", [
    ("cosine(-5)", "cosine(): steps must be > 0; got steps=-5"),
    ("cosine(0)", "cosine(): steps must be > 0; got steps=0"),
    ("linear(0.0, end=0.5)", "linear(): steps must be > 0; got steps=0"),
    ("warmup(-1)", "warmup(): steps must be > 0; got steps=-1"),
    ("step(0)", "step(): size must be > 0; got size=0"),
    ("one_cycle(-100)", "one_cycle(): steps must be > 0; got steps=-100"),
    ("inverse_time(0)", "inverse_time(): timescale must be > 0; got timescale=0"),
    ("exponential(half_life=0)", "exponential(): half_life must be > 0; got half_life=0"),
    ("constant(1.0, steps=0)", "constant(): steps must be > 0; got steps=0"),
])
def test_duration_must_be_positive(text, message):
    both(text, message)
    assert SHAPE.match(message)


@pytest.mark.parametrize("text, message", [
    ("step(10, gamma=0)", "step(): gamma must be > 0; got gamma=0"),
    ("exponential(gamma=-0.5)", "exponential(): gamma must be > 0; got gamma=-0.5"),
    ("multistep([10], gamma=0.0)", "multistep(): gamma must be > 0; got gamma=0"),
    ("cyclic(0.1, 1.0, 10, mode='exp_range', gamma=0)", "cyclic(): gamma must be > 0; got gamma=0"),
])
def test_gamma_must_be_positive(text, message):
    both(text, message)


@pytest.mark.parametrize("text, message", [
    ("constant(-1)", "constant(): value must be >= 0; got value=-1"),
    ("cosine(10, start=-0.1)", "cosine(): start must be >= 0; got start=-0.1"),
    ("linear(10, end=-1)", "linear(): end must be >= 0; got end=-1"),
    ("piecewise([10], [1.0, -0.5])", "piecewise(): values must be >= 0; got values=-0.5"),
    ("interpolate([(0, 1), (10, -2)])", "interpolate(): points must be >= 0; got points=-2"),
])
def test_values_must_not_be_negative(text, message):
    both(text, message)


def test_negative_factor_or_offset():
    raises(lambda: -2 * lk.cosine(10), "mul(): factor must be >= 0; got factor=-2")
    raises(lambda: lk.cosine(10) + -0.5, "add(): offset must be >= 0; got offset=-0.5")
    raises(lambda: lk.parse("cosine(10) * -2"), "mul(): factor must be >= 0; got factor=-2")


@pytest.mark.parametrize("text, message", [
    ("multistep([30, 10])", "multistep(): milestones must be sorted (non-decreasing); got milestones=[30, 10]"),
    ("piecewise([20, 10], [1, 2, 3])",
     "piecewise(): boundaries must be sorted (non-decreasing); got boundaries=[20, 10]"),
    ("interpolate([(10, 1), (5, 0)])",
     "interpolate(): points must be strictly increasing in time; got points=[(10, 1), (5, 0)]"),
    ("interpolate([(10, 1), (10, 0)])",
     "interpolate(): points must be strictly increasing in time; got points=[(10, 1), (10, 0)]"),
])
def test_milestones_and_knots_must_be_sorted(text, message):
    both(text, message)


def test_low_above_high():
    both("cyclic(1.0, 0.5, 10)", "cyclic(): low must be <= high (0.5); got low=1")


@pytest.mark.parametrize("text, message", [
    ("exponential(gamma=0.5, half_life=10)",
     "exponential(): exactly one of gamma and half_life must be given; got gamma=0.5, half_life=10"),
    ("exponential()",
     "exponential(): exactly one of gamma and half_life must be given; got gamma=None, half_life=None"),
])
def test_both_or_neither_gamma_and_half_life(text, message):
    both(text, message)


@pytest.mark.parametrize("text, message", [
    ("cyclic(0.1, 1, 10, mode='tri')",
     "cyclic(): mode must be one of 'triangular', 'triangular2', 'exp_range'; got mode='tri'"),
    ("interpolate([(0, 1), (1, 0)], shape='cubic')",
     "interpolate(): shape must be one of 'linear', 'cosine'; got shape='cubic'"),
    ("wsd(100, 10, 10, shape='exp')", "wsd(): shape must be one of 'linear', 'cosine', '1-sqrt'; got shape='exp'"),
    ("one_cycle(100, anneal='cosine')", "one_cycle(): anneal must be one of 'cos', 'linear'; got anneal='cosine'"),
    ("noisy(cosine(10), 0.1, kind='gauss')", "noisy(): kind must be one of 'normal', 'uniform'; got kind='gauss'"),
])
def test_unknown_mode_or_shape(text, message):
    both(text, message)


def test_wsd_phases_must_fit():
    both("wsd(100, 60, 50)", "wsd(): warmup + decay must be <= steps (100); got warmup + decay=110")


def test_endless_left_of_sequence():
    message = ("sequence(): phases[0] must be finite (only the last phase may be endless: nothing follows "
               "a phase that never ends); got phases[0]=step(10)")
    both("step(10) >> cosine(5)", message)
    raises(lambda: lk.sequence([lk.step(10), lk.cosine(5)]), message)
    raises(lambda: lk.cosine(5) >> lk.exponential(0.9) >> lk.cosine(5),
           message.replace("[0]", "[1]").replace("step(10)", "exponential(gamma=0.9)"))


def test_endless_inside_restarts():
    both("restarts(exponential(0.9))",
         "restarts(): inner must be finite (an endless schedule cannot be repeated); got inner=exponential(gamma=0.9)")
    both("restarts(interpolate([(0, 1)]))", "restarts(): inner must be longer than 0 steps "
         "(a cycle of 0 steps cannot repeat); got inner=interpolate([(0, 1)])")


@pytest.mark.parametrize("text, message", [
    ("cosine(10, ned=0.1)", "cosine(): unknown argument 'ned' (did you mean 'end'?); cosine() takes steps, start, end"),
    ("restarts(cosine(10), period_mul=2)", "restarts(): unknown argument 'period_mul' (did you mean 'period_mult'?); "
     "restarts() takes inner, period_mult, decay, cycles"),
    ("cosine(10, zzz=1)", "cosine(): unknown argument 'zzz'; cosine() takes steps, start, end"),
])
def test_unknown_keyword_with_did_you_mean(text, message):
    both(text, message)


@pytest.mark.parametrize("text, message", [
    ("cosine(nan)", "cosine(): steps must be a number, not NaN; got steps=nan"),
    ("cosine(10, end=nan)", "cosine(): end must be a number, not NaN; got end=nan"),
    ("multistep([1, nan])", "multistep(): milestones must be a number, not NaN; got milestones=nan"),
    ("piecewise([1], [1, nan])", "piecewise(): values must be a number, not NaN; got values=nan"),
    ("noisy(cosine(10), std=nan)", "noisy(): std must be a number, not NaN; got std=nan"),
])
def test_nan_anywhere(text, message):
    raises(lambda: python(text, nan=NAN), message)
    raises(lambda: lk.parse(text.replace("nan", "1e999 * 0")), message)  # NaN spelled in the text form
    raises(lambda: lk.cosine(10) * NAN, "mul(): factor must be a number, not NaN; got factor=nan")
    raises(lambda: NAN + lk.cosine(10), "add(): offset must be a number, not NaN; got offset=nan")


def test_infinite_or_overflowing_numbers():
    both("cosine(1e999)", "cosine(): steps must be finite; got steps=inf")
    raises(lambda: lk.cosine(10, start=10**400), f"cosine(): start must be finite; got start={10**400}")
    both("restarts(cosine(1), period_mult=2, cycles=10000)",
         "restarts(): cycles must be few enough for a finite total duration; got cycles=10000")


@pytest.mark.parametrize("bad, message", [
    (-1, "step t must be a real number >= 0; got t=-1 (evaluating cosine(10))"),
    (-2.5, "step t must be a real number >= 0; got t=-2.5 (evaluating cosine(10))"),
    (NAN, "step t must be a real number >= 0; got t=nan (evaluating cosine(10))"),
    ("5", "step t must be a real number >= 0; got t='5'"),
    (True, "step t must be a real number >= 0; got t=True"),
])
def test_negative_or_nan_step_when_calling(bad, message):
    raises(lambda: lk.cosine(10)(bad), message)


def test_negative_or_nan_steps_in_values():
    s = lk.cosine(10)
    raises(lambda: s.values([0, 1, -2.5]), "step t must be >= 0; got t=-2.5 (evaluating cosine(10))")
    raises(lambda: s.values([0, NAN]), "step t must be a real number >= 0, not NaN (evaluating cosine(10))")
    raises(lambda: lk.step(10)(float("inf")),
           "step t must be finite for an endless schedule; got t=inf (evaluating step(10))")
    assert s(float("inf")) == 0.0  # a finite schedule: inf is past the end


@pytest.mark.parametrize("text, needle", [
    ("cosin(10)", "unknown schedule 'cosin' (did you mean 'cosine'?): 'cosin' at column 1"),
    ("warmpu(10) >> cosine(10)", "unknown schedule 'warmpu' (did you mean 'warmup'?)"),
    ("__import__('os').system('x')", "only lrkit constructors can be called"),
    ("cosine.__class__", "attribute is not allowed in a schedule spec: 'cosine.__class__'"),
    ("(lambda: 0)()", "only lrkit constructors can be called"),
    ("lambda: cosine(1)", "lambda is not allowed"),
    ("[cosine(i) for i in [1, 2]]", "listcomp is not allowed"),
    ("f'{cosine(1)}'", "joinedstr is not allowed"),
    ("cosine(*[10])", "*arguments are not allowed: '*[10]' at column 8"),
    ("cosine(**{'steps': 1})", "**arguments are not allowed"),
    ("cosine(10)[0]", "subscript is not allowed"),
    ("cosine(10) - 0.1", "operator '-' is not supported; schedules combine with >>, * and +"),
    ("cosine(10) ** 2", "operator '**' is not supported"),
    ("cosine", "cosine must be called, e.g. cosine(...)"),
    ("x", "unknown name 'x'"),
    ("2 + 3", "text must describe a schedule, not a int"),
    ("cosine(10); import os", "invalid syntax at column 11"),
    ("", "text must not be empty"),
    ("(" * 300 + "cosine(1)" + ")" * 300, "invalid syntax"),
    (" >> ".join(["cosine(1)"] * 3000), "too deeply nested"),
])
def test_parse_rejects_with_a_pointer(text, needle):
    with pytest.raises(lk.SpecError) as info:
        lk.parse(text)
    assert needle in str(info.value)
    assert str(info.value).startswith("parse(): ")


def test_parse_rejects_non_text():
    raises(lambda: lk.parse(42), "parse(): text must be a string; got 42")
    assert lk.parse(lk.cosine(3)) == lk.cosine(3)  # a schedule passes through


def test_errors_are_raised_at_the_boundary_not_deep_inside():
    with pytest.raises(lk.SpecError) as info:
        lk.parse("warmup(10) >> restarts(cosine(100, end=-1))")
    assert info.value.__traceback__ is not None
    assert str(info.value) == "cosine(): end must be >= 0; got end=-1"
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_error_classes():
    assert issubclass(lk.SpecError, ValueError)
    assert issubclass(lk.UnboundError, lk.SpecError)
    assert issubclass(lk.MissingDependencyError, ImportError)
