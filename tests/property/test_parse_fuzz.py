"""``lk.parse`` on garbage: it returns a schedule or raises ``lk.SpecError``, never
anything else (no TypeError, RecursionError, OverflowError, ... from inside)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_strategies import schedules

import lrkit as lk

SETTINGS = settings(max_examples=300, deadline=None)

TOKENS = [
    "cosine", "linear", "warmup", "restarts", "noisy", "sequence", "wsd", "one_cycle", "interpolate",
    "piecewise", "multistep", "cyclic", "exponential", "constant", "cosin", "__import__", "os", "lambda",
    "(", ")", "[", "]", "{", "}", ",", "=", ":", ".", "*", "**", "+", "-", ">>", "<<", "/", "%", "@",
    "0", "1", "-1", "2.5", "1e999", "1e-999", "nan", "inf", "True", "None", "'rest'", "'5ep'", "'10%'",
    "'x'", "f'{1}'", "b'1'", "1j", "...", "not", "if", "else", "for", "in", "steps=", "end=", "gamma=",
    "half_life=", "mode=", "shape=", "seed=", " ", "\n", "#", "\\", "'", '"', ";", "9" * 30,
]


def outcome(text: str):
    try:
        s = lk.parse(text)
    except lk.SpecError as e:
        assert str(e), "an error message says what is wrong"
        assert isinstance(e, ValueError)
        return e
    try:  # whatever parses can be used: evaluated, described (or a SpecError, e.g. unbound)
        s(0), s(1.5), s.values([0, 2.5, 1e6]), s.duration, s.describe(), s.to_dict()
    except lk.SpecError:
        pass
    return s


@SETTINGS
@given(st.text(max_size=80))
def test_random_text_gives_a_schedule_or_spec_error(text):
    out = outcome(text)
    assert isinstance(out, (lk.Schedule, lk.SpecError))


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_random_token_soup_gives_a_schedule_or_spec_error(tokens):
    out = outcome("".join(tokens))
    assert isinstance(out, (lk.Schedule, lk.SpecError))


@settings(max_examples=200, deadline=None)
@given(schedules(tame=False), st.data())
def test_mutated_valid_text_gives_a_schedule_or_spec_error(s, data):
    text = str(s)
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, min(len(text), i + 5)))
    junk = data.draw(st.sampled_from(TOKENS + [""]))
    out = outcome(text[:i] + junk + text[j:])
    if isinstance(out, lk.Schedule):
        assert lk.parse(str(out)) == out  # whatever parses also round-trips


@settings(max_examples=30, deadline=None)
@given(st.integers(300, 5_000), st.sampled_from(["(", "[", "cosine(", "-", "+"]))
def test_deep_nesting_is_a_spec_error(depth, opener):
    closer = {"(": ")", "[": "]", "cosine(": ")", "-": "", "+": ""}[opener]
    out = outcome(opener * depth + "1" + closer * depth)
    assert isinstance(out, lk.SpecError)
