"""The public surface: ``import lrkit`` is light, ``__all__`` is sorted and real,
every public constructor documents its formula or an example."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import subprocess
import sys

import pytest

import lrkit as lk

FRAMEWORKS = ("torch", "keras", "jax", "jaxlib", "optax", "tensorflow", "matplotlib", "sklearn",
              "transformers", "lightning", "pandas", "scipy")

CONSTRUCTORS = ("constant", "linear", "warmup", "step", "multistep", "exponential", "cosine", "polynomial",
                "inverse_time", "inverse_sqrt", "cyclic", "one_cycle", "restarts", "piecewise", "interpolate",
                "wsd", "noisy", "sequence")


def test_import_lrkit_imports_no_framework():
    code = ("import json, sys; import lrkit; s = lrkit.parse('warmup(5) >> cosine(10)'); s.values(range(20)); "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "lrkit" in loaded and "numpy" in loaded
    assert not loaded & set(FRAMEWORKS), sorted(loaded & set(FRAMEWORKS))


def test_all_is_sorted_and_every_name_exists():
    assert lk.__all__ == sorted(lk.__all__)
    assert len(set(lk.__all__)) == len(lk.__all__)
    for name in lk.__all__:
        assert hasattr(lk, name), name


def test_every_spec_constructor_is_public():
    for name in CONSTRUCTORS + ("parse", "from_dict", "to_dict", "SpecError", "UnboundError",
                                "MissingDependencyError", "Schedule"):
        assert name in lk.__all__, name


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructor_docstring_has_a_formula_or_example(name):
    doc = inspect.getdoc(getattr(lk, name)) or ""
    assert ">>>" in doc, f"{name}() needs a doctest example"
    assert len(doc.splitlines()[0]) > 10  # a real summary line


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructor_signature_matches_the_spec_names(name):
    params = list(inspect.signature(getattr(lk, name)).parameters)
    expected = {
        "constant": ["value", "steps"], "linear": ["steps", "start", "end"], "warmup": ["steps", "start", "end"],
        "step": ["size", "gamma", "start"], "multistep": ["milestones", "gamma", "start"],
        "exponential": ["gamma", "half_life", "start"], "cosine": ["steps", "start", "end"],
        "polynomial": ["steps", "power", "start", "end"], "inverse_time": ["timescale", "power", "start"],
        "inverse_sqrt": ["timescale", "start"], "cyclic": ["low", "high", "up", "down", "mode", "gamma"],
        "one_cycle": ["steps", "peak", "pct_start", "div_factor", "final_div_factor", "anneal", "three_phase"],
        "restarts": ["inner", "period_mult", "decay", "cycles"], "piecewise": ["boundaries", "values"],
        "interpolate": ["points", "shape"], "wsd": ["steps", "warmup", "decay", "end", "shape"],
        "noisy": ["inner", "std", "seed", "kind"], "sequence": ["phases"],
    }[name]
    assert params == expected


def test_every_argument_also_by_keyword():
    assert lk.cosine(steps=10, start=1.0, end=0.1) == lk.cosine(10, 1.0, 0.1)
    by_keyword = lk.cyclic(low=0.1, high=1.0, up=5, down=7, mode="exp_range", gamma=0.9)
    assert by_keyword == lk.cyclic(0.1, 1.0, 5, 7, "exp_range", 0.9)
    assert lk.piecewise(boundaries=[3], values=[1, 2]) == lk.piecewise([3], [1, 2])
    assert lk.sequence(phases=[lk.warmup(1), lk.cosine(2)]) == lk.warmup(1) >> lk.cosine(2)


def test_schedules_are_immutable_values():
    s = lk.cosine(10)
    with pytest.raises(AttributeError):
        s.steps = 20  # type: ignore[misc]
    ms = [10, 20]
    m = lk.multistep(ms)
    ms.append(5)  # the caller's list is copied, not kept
    assert m == lk.multistep([10, 20])


def test_schedules_pickle_and_copy():
    s = lk.noisy(lk.warmup("5%") >> lk.restarts(lk.cosine(10), cycles=2) * 2 + 0.1, 0.1, seed=4)
    for other in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert other == s and hash(other) == hash(s) and other.units == s.units
        ts = range(120)
        assert other.bind(total_steps=100).values(ts).tolist() == s.bind(total_steps=100).values(ts).tolist()


def test_parse_and_dict_helpers_are_documented():
    for fn in (lk.parse, lk.to_dict, lk.from_dict, lk.Schedule.bind, lk.Schedule.values, lk.Schedule.describe):
        assert inspect.getdoc(fn), fn
