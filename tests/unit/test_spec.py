"""The text form (``str`` / ``lk.parse``) and the dict form (``to_dict`` / ``from_dict``)."""

from __future__ import annotations

import json

import pytest
import yaml

import lrkit as lk


@pytest.mark.parametrize("s, text", [
    (lk.warmup(500) >> lk.cosine(9_500, end=0.01), "warmup(500) >> cosine(9500, end=0.01)"),
    (lk.cosine(100, start=1.0, end=0.0), "cosine(100)"),  # defaults left out
    (lk.linear(10, end=0.5), "linear(10, end=0.5)"),
    (lk.constant(0.5, steps=10), "constant(0.5, steps=10)"),
    (lk.constant(), "constant()"),
    (lk.step(30, gamma=0.5), "step(30, gamma=0.5)"),
    (lk.multistep([30, 30, 80]), "multistep([30, 30, 80])"),
    (lk.exponential(half_life=100), "exponential(half_life=100)"),
    (lk.piecewise([10, 20], [1.0, 0.5, 0.1]), "piecewise([10, 20], [1, 0.5, 0.1])"),
    (lk.interpolate([(0, 0.0), (10, 1.0)], shape="cosine"), "interpolate([(0, 0), (10, 1)], shape='cosine')"),
    (lk.cyclic(0.1, 1.0, 10, mode="triangular2"), "cyclic(0.1, 1, 10, mode='triangular2')"),
    (lk.one_cycle(1000, peak=0.5, three_phase=True), "one_cycle(1000, peak=0.5, three_phase=True)"),
    (lk.wsd(1000, 100, 200, shape="1-sqrt"), "wsd(1000, 100, 200, shape='1-sqrt')"),
    (lk.restarts(lk.cosine(10), period_mult=2), "restarts(cosine(10), period_mult=2)"),
    (lk.noisy(lk.cosine(10), 0.1, seed=3), "noisy(cosine(10), 0.1, seed=3)"),
    (3e-4 * lk.cosine(10_000), "0.0003 * cosine(10000)"),
    (lk.cosine(10) * 2 + 0.1, "cosine(10) * 2 + 0.1"),
    (2 * (lk.cosine(10) + 0.1), "2 * (cosine(10) + 0.1)"),
    ((lk.warmup(10) >> lk.cosine(10)) * 0.5, "(warmup(10) >> cosine(10)) * 0.5"),
    (lk.warmup(10) >> lk.cosine(10) * 0.5, "warmup(10) >> cosine(10) * 0.5"),
    (lk.cosine(10) + (lk.linear(5) + lk.linear(7)), "cosine(10) + (linear(5) + linear(7))"),
    (lk.warmup("5ep") >> lk.cosine("rest"), "warmup('5ep') >> cosine('rest')"),
    (lk.cosine(937.5), "cosine(937.5)"),
    (lk.cosine(10, end=1e-7), "cosine(10, end=1e-07)"),
])
def test_canonical_text(s, text):
    assert str(s) == text
    assert lk.parse(text) == s
    assert lk.parse(str(s)) == s


def test_parse_normalises_spelling():
    canonical = lk.parse("warmup(500) >> cosine(9500, end=0.01)")
    for text in ["warmup(steps=500)>>cosine(end=0.01, steps=9_500)",
                 "  (warmup(500.0) >>  # lines break inside parentheses, as in Python\n"
                 "   cosine(9.5e3, start=1.0, end=1e-2))  ",
                 "sequence([warmup(500), cosine(9500, end=0.01)])",
                 "(warmup(500)) >> (cosine(9500, end=0.01))"]:
        assert lk.parse(text) == canonical
        assert str(lk.parse(text)) == "warmup(500) >> cosine(9500, end=0.01)"


def test_numbers_combine_in_the_text_form():
    assert lk.parse("2 * 3 * cosine(10)") == 6 * lk.cosine(10)
    assert lk.parse("cosine(10, end=-(-0.1))") == lk.cosine(10, end=0.1)
    assert lk.parse("1e-3 * cosine(10) + 1e-5")(10) == pytest.approx(1e-5)


def test_sequence_flattens_and_equals_operator_form():
    a, b, c = lk.warmup(10), lk.cosine(20), lk.constant(0.1)
    assert (a >> b) >> c == a >> (b >> c) == lk.sequence([a, b, c]) == lk.sequence([a >> b, c])
    assert lk.sequence([a]) is a
    assert len((a >> b >> c).phases) == 3


def test_equality_and_hash_see_types_and_values():
    assert lk.cosine(10) == lk.cosine(10.0) and hash(lk.cosine(10)) == hash(lk.cosine(10.0))
    assert lk.cosine(10) != lk.cosine(11)
    assert lk.linear(10, start=0.0, end=1.0) != lk.warmup(10)  # same curve, different constructor
    assert len({lk.cosine(10), lk.cosine(10.0), lk.parse("cosine(10)")}) == 1


def test_to_dict_examples():
    assert lk.to_dict(lk.cosine(100, end=0.1)) == {"type": "cosine", "steps": 100, "end": 0.1}
    assert (lk.warmup(10) >> lk.cosine(90)).to_dict() == {
        "type": "sequence", "phases": [{"type": "warmup", "steps": 10}, {"type": "cosine", "steps": 90}]}
    assert (0.1 * lk.cosine(5)).to_dict() == {"type": "mul", "left": 0.1, "right": {"type": "cosine", "steps": 5}}
    assert lk.piecewise([10], [1, 0.5]).to_dict() == {"type": "piecewise", "boundaries": [10], "values": [1, 0.5]}
    assert lk.restarts(lk.cosine(10), cycles=2).to_dict() == {
        "type": "restarts", "inner": {"type": "cosine", "steps": 10}, "cycles": 2}


def test_dict_form_through_json_and_yaml():
    s = lk.noisy(lk.warmup("10%") >> lk.restarts(lk.cosine(100, end=0.1), period_mult=2) * 0.5, 0.05, seed=7)
    assert lk.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert lk.from_dict(yaml.safe_load(yaml.safe_dump(s.to_dict()))) == s
    by_hand = yaml.safe_load("""
type: sequence
phases:
  - {type: warmup, steps: 500}
  - {type: cosine, steps: 9500, end: 0.01}
""")
    assert lk.from_dict(by_hand) == lk.warmup(500) >> lk.cosine(9500, end=0.01)


@pytest.mark.parametrize("d, message", [
    ({"steps": 10}, "from_dict(): d must have a 'type' key naming a schedule; got keys ['steps']"),
    ({"type": "cosin", "steps": 10},
     "from_dict(): d['type'] must name a schedule; got 'cosin' (did you mean 'cosine'?)"),
    ({"type": 5}, "from_dict(): d['type'] must name a schedule; got 5"),
    ({"type": "cosine", "steps": 10, "ned": 0.1},
     "cosine(): unknown argument 'ned' (did you mean 'end'?); cosine() takes steps, start, end"),
    ({"type": "cosine", "steps": -1}, "cosine(): steps must be > 0; got steps=-1"),
    ({"type": "mul", "left": 2}, "from_dict(): d of type 'mul' takes exactly 'left' and 'right'; got ['left']"),
    ({"type": "sequence", "phases": [{"type": "cosine", "steps": 1}, {"type": "cosine"}]},
     "cosine(): steps is required; cosine() takes steps, start, end"),
    ({"type": "restarts", "inner": {"steps": 3}},
     "from_dict(): d.inner must have a 'type' key naming a schedule; got keys ['steps']"),
])
def test_from_dict_errors(d, message):
    with pytest.raises(lk.SpecError) as info:
        lk.from_dict(d)
    assert str(info.value) == message


def test_from_dict_rejects_non_dicts_and_to_dict_non_schedules():
    with pytest.raises(lk.SpecError, match=r"^from_dict\(\): d must be a dict with a 'type' key; got \[1\]$"):
        lk.from_dict([1])
    with pytest.raises(lk.SpecError, match=r"^to_dict\(\): s must be a schedule; got 'cosine\(10\)'$"):
        lk.to_dict("cosine(10)")


def test_parse_returns_new_equal_values_that_evaluate_the_same():
    text = "warmup(5) >> restarts(cosine(10, end=0.1), period_mult=2, decay=0.5, cycles=3) >> constant(0.01)"
    s = lk.parse(text)
    assert s == lk.parse(text) and s is not lk.parse(text)
    ts = list(range(0, 100, 3))
    assert s.values(ts).tolist() == lk.from_dict(s.to_dict()).values(ts).tolist()
