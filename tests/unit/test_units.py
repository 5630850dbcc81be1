"""Run-relative durations: "5ep" (epochs), "10%" (of the run), "rest" (what is left)."""

from __future__ import annotations

import pytest

import lrkit as lk


def test_epochs_percent_and_rest_resolve_against_the_run():
    s = lk.warmup("5ep") >> lk.constant(1.0, steps="10%") >> lk.cosine("rest", end=0.01)
    b = s.bind(total_steps=10_000, steps_per_epoch=100)
    assert b == lk.warmup(500) >> lk.constant(1.0, steps=1000) >> lk.cosine(8500, end=0.01)
    assert b.duration == 10_000
    assert b(0) == 0.0 and b(500) == 1.0 and b(10_000) == 0.01


def test_real_valued_epochs():
    b = lk.cosine("2ep").bind(steps_per_epoch=937.5)
    assert b == lk.cosine(1875) and b.duration == 1875
    assert lk.cosine("0.5ep").bind(steps_per_epoch=937.5) == lk.cosine(468.75)


@pytest.mark.parametrize("text, canonical", [
    ("5ep", "5ep"), (" 5 ep", "5ep"), ("5.0ep", "5ep"), (".5ep", "0.5ep"), ("2.5%", "2.5%"), ("100%", "100%"),
    ("rest", "rest"), (" rest ", "rest"),
])
def test_unit_strings_are_canonical(text, canonical):
    assert lk.cosine(text).steps == canonical
    assert str(lk.cosine(text)) == f"cosine({canonical!r})"


@pytest.mark.parametrize("text, rule", [
    ("0%", "a percentage in (0, 100]"), ("150%", "a percentage in (0, 100]"), ("0ep", "> 0"),
    ("5 epochs", "a number of steps or a duration like '5ep', '10%' or 'rest'"),
    ("-5ep", "a number of steps or a duration like '5ep', '10%' or 'rest'"),
])
def test_bad_unit_strings(text, rule):
    with pytest.raises(lk.SpecError) as info:
        lk.cosine(text)
    assert str(info.value) == f"cosine(): steps must be {rule}; got steps={text!r}"


def test_units_in_time_points():
    assert lk.multistep(["1ep", "2ep"]).bind(steps_per_epoch=10) == lk.multistep([10, 20])
    assert lk.piecewise(["50%"], [1.0, 0.1]).bind(total_steps=400) == lk.piecewise([200], [1.0, 0.1])
    pts = lk.interpolate([("0%", 0.0), ("10%", 1.0), ("100%", 0.0)]).bind(total_steps=1000)
    assert pts == lk.interpolate([(0, 0.0), (100, 1.0), (1000, 0.0)])
    assert lk.exponential(half_life="1ep").bind(steps_per_epoch=100)(200) == 0.25


def test_rest_only_for_phase_lengths():
    for make in (lambda: lk.multistep(["rest"]), lambda: lk.piecewise(["rest"], [1, 2]),
                 lambda: lk.interpolate([(0, 1), ("rest", 0)])):
        with pytest.raises(lk.SpecError, match=r"'rest' is only for phase lengths\); got \w+='rest'$"):
            make()


def test_at_most_one_rest():
    with pytest.raises(lk.SpecError) as info:
        lk.cosine("rest") >> lk.linear("rest")
    assert str(info.value) == ("sequence(): at most one 'rest' duration per schedule; "
                               "got cosine('rest') >> linear('rest')")
    with pytest.raises(lk.SpecError, match=r"^mul\(\): at most one 'rest'"):
        lk.cosine("rest") * lk.linear("rest")


def test_rest_leaving_no_steps():
    s = lk.warmup("60%") >> lk.cosine("40%") >> lk.linear("rest")
    with pytest.raises(lk.SpecError) as info:
        s.bind(total_steps=1000)
    assert str(info.value) == ("bind(): 'rest' in linear().steps leaves no steps: "
                               "the other phases take all of total_steps=1000")


def test_rest_inside_compositions():
    s = (lk.warmup(100) >> (lk.cosine("rest") >> lk.constant(0.1, steps=50)) * 2)
    assert s.bind(total_steps=1000) == lk.warmup(100) >> (lk.cosine(850) >> lk.constant(0.1, steps=50)) * 2
    assert lk.noisy(lk.warmup(10) >> lk.cosine("rest"), 0.1).bind(total_steps=100).duration == 100


@pytest.mark.parametrize("s, needs", [
    (lk.warmup("5ep") >> lk.cosine(100), "s.bind(steps_per_epoch=...)"),
    (lk.warmup(5) >> lk.cosine("rest"), "s.bind(total_steps=...)"),
    (lk.cosine("10%"), "s.bind(total_steps=...)"),
    (lk.warmup("5ep") >> lk.cosine("rest"), "s.bind(total_steps=..., steps_per_epoch=...)"),
])
def test_unbound_evaluation_says_what_to_pass(s, needs):
    assert not s.is_bound
    for use in (lambda: s(0), lambda: s.values([0, 1]), lambda: s.duration, lambda: s.describe(),
                lambda: s.evaluate(0.0)):
        with pytest.raises(lk.UnboundError) as info:
            use()
        msg = str(info.value)
        assert msg.startswith(f"{s} uses run-relative durations (")
        assert f"bind it to a run first: {needs}" in msg


def test_bind_needs_the_right_run_facts():
    with pytest.raises(lk.SpecError) as info:
        lk.cosine("5ep").bind(total_steps=10)
    assert str(info.value) == ("bind(): cosine().steps uses '5ep', which needs steps_per_epoch; "
                               "pass s.bind(steps_per_epoch=...)")
    with pytest.raises(lk.SpecError) as info:
        lk.cosine("rest").bind(steps_per_epoch=10)
    assert str(info.value) == ("bind(): cosine().steps uses 'rest', which needs total_steps; "
                               "pass s.bind(total_steps=...)")
    with pytest.raises(lk.SpecError, match=r"^bind\(\): total_steps must be > 0; got total_steps=-1$"):
        lk.cosine("rest").bind(total_steps=-1)


def test_binding_revalidates():
    s = lk.wsd("10%", warmup="5ep", decay="20%")
    with pytest.raises(lk.SpecError) as info:
        s.bind(total_steps=1000, steps_per_epoch=100)
    assert str(info.value) == "wsd(): warmup + decay must be <= steps (100); got warmup + decay=700"
    ok = lk.wsd("50%", warmup="5ep", decay="20%")
    assert ok.bind(total_steps=1000, steps_per_epoch=10) == lk.wsd(500, 50, 200)
    with pytest.raises(lk.SpecError) as info:
        ok.bind(total_steps=1000, steps_per_epoch=100)
    assert str(info.value) == "wsd(): warmup + decay must be <= steps (500); got warmup + decay=700"


def test_units_and_is_bound():
    s = lk.warmup("5ep") >> lk.cosine("rest")
    assert s.units == frozenset({"ep", "rest"}) and not s.is_bound
    b = s.bind(total_steps=100, steps_per_epoch=2)
    assert b.units == frozenset() and b.is_bound
    assert b.bind(total_steps=5) is b
    assert lk.cosine(10).units == frozenset() and lk.cosine(10).is_bound
    assert lk.parse(str(s)) == s and lk.from_dict(s.to_dict()) == s
