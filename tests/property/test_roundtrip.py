"""Text form and dict form round trips, equality and hashing, for random schedules."""

from __future__ import annotations

import json

from hypothesis import given, settings
from schedule_strategies import schedules, unbound

import lrkit as lk

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(schedules(tame=False))
def test_parse_of_str_is_the_same_schedule(s):
    text = str(s)
    back = lk.parse(text)
    assert back == s
    assert hash(back) == hash(s)
    assert str(back) == text  # the canonical text is a fixed point
    assert repr(s) == text


@SETTINGS
@given(schedules(tame=False))
def test_dict_round_trip_through_json(s):
    d = s.to_dict()
    assert lk.to_dict(s) == d
    assert lk.from_dict(d) == s
    via_json = lk.from_dict(json.loads(json.dumps(d)))
    assert via_json == s
    assert hash(via_json) == hash(s)


@SETTINGS
@given(unbound())
def test_round_trips_keep_run_relative_durations(s):
    assert lk.parse(str(s)) == s
    assert lk.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert lk.parse(str(s)).units == s.units


@SETTINGS
@given(schedules(), schedules())
def test_equality_is_structural(a, b):
    assert (a == b) == (str(a) == str(b))
    if a == b:
        assert hash(a) == hash(b)
    assert a == lk.parse(str(a)) and {a: 1}[lk.parse(str(a))] == 1  # usable as a dict key
