"""The family registry (issue 21): a name is taken once, the tables are read-only, a reload is no conflict."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lrkit as lk
from lrkit.schedules import FAMILIES, REGISTRY, Schedule, fields
from lrkit.schedules.fields import Number, arg


@pytest.fixture
def registry_restored():
    """Leave the registry as the test found it (a family a test defines is not for the others)."""
    saved = dict(fields._families), dict(fields._text_families)
    yield
    for table, before in zip((fields._families, fields._text_families), saved):
        table.clear()
        table.update(before)


def define_cosine():
    class cosine(Schedule):  # noqa: N801 - a family's name is its text name
        steps: float = arg(Number(gt=0))

        def _at(self, t, xp):
            return xp.minimum(t, self.steps) * 0.0

    return cosine


def test_a_taken_name_is_an_error_naming_both_classes(registry_restored):
    with pytest.raises(lk.SpecError) as info:
        define_cosine()
    assert str(info.value) == (
        f"class {__name__}.define_cosine.<locals>.cosine: the schedule name 'cosine' is already taken by "
        "lrkit.schedules.basic.cosine; give the class another name (a lowercase schedule class registers "
        "its name for parse() and from_dict())")
    assert type(lk.parse("cosine(10)")) is lk.cosine
    assert type(lk.from_dict({"type": "cosine", "steps": 10})) is lk.cosine
    assert lk.parse("cosine(10)")(5) == 0.5


def test_a_name_only_the_dict_form_knows_is_taken_too(registry_restored):
    with pytest.raises(lk.SpecError, match=r"the schedule name 'mul' is already taken by lrkit.schedules.base.mul"):
        class mul(Schedule):  # noqa: N801
            pass
    assert "mul" not in REGISTRY and FAMILIES["mul"] is lk.schedules.base.mul


def test_a_new_family_registers_and_round_trips(registry_restored):
    class halving(Schedule):  # noqa: N801
        """``0.5 ** floor(t / every)``."""

        every: float = arg(Number(gt=0))

        def _at(self, t, xp):
            return xp.power(0.5, xp.floor(t / self.every))

    s = lk.warmup(5) >> 0.1 * halving(10)
    assert REGISTRY["halving"] is halving is FAMILIES["halving"]
    assert lk.parse(str(s)) == s == lk.from_dict(s.to_dict())
    assert [halving(10)(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_the_same_class_defined_again_replaces_itself(registry_restored):
    """A reload or a notebook cell run twice defines the same class (module and qualified name) again."""
    first, second = (_define_again() for _ in range(2))
    assert first is not second
    assert REGISTRY["again"] is second and FAMILIES["again"] is second
    assert type(lk.parse("again()")) is second


def _define_again():
    class again(Schedule):  # noqa: N801
        def _at(self, t, xp):
            return xp.minimum(t, 0.0) + 1.0

    return again


def test_the_tables_are_read_only():
    with pytest.raises(TypeError):
        REGISTRY["cosine"] = object  # type: ignore[index]
    with pytest.raises(TypeError):
        del FAMILIES["cosine"]  # type: ignore[attr-defined]
    assert REGISTRY["cosine"] is lk.cosine and set(REGISTRY) <= set(FAMILIES)


@pytest.mark.slow
def test_reloading_lrkit_modules_is_no_conflict():
    """importlib.reload re-runs every class statement: the same classes, so no error (in a fresh process,
    since a reload replaces the classes other tests compare with)."""
    code = """
import importlib
import lrkit.spec
from lrkit.schedules import base, basic, compose, cycles, shape, tables, REGISTRY
for module in (basic, compose, cycles, shape, tables, lrkit.spec):
    importlib.reload(module)
s = lrkit.spec.parse("warmup(10) >> cosine(10)")
print(REGISTRY["cosine"] is basic.cosine, type(s.phases[1]) is basic.cosine, s(15))
importlib.reload(base)  # Schedule, sequence, mul and add, defined again
print(REGISTRY["sequence"] is base.sequence, lrkit.spec.FAMILIES["add"] is base.add)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "0.5", "True", "True"]
