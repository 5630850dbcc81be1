"""Declarative fields: each schedule family is one class whose fields carry their checks.

A field is an :func:`arg` with a :class:`Kind` (how a value is checked, bound
to a run, and searched for nested schedules) and a default. The family's
class declares its fields in signature order; :class:`Family` (the metaclass)
turns a call of the class into: the call checked (positional and keyword
arguments, an unknown keyword with a did-you-mean), each field checked by its
kind, then the family's cross-field rule (``_validate``). Adding a parameter
to a family is one line.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..checks import ListArg, duration, fail, flag, integer, number, one_of, unknown
from ..errors import SpecError
from .units import Env, resolve, unit_kinds

__all__ = [
    "FAMILIES", "REGISTRY", "Choice", "Duration", "Family", "Field", "Flag", "Kind", "Levels", "Number", "Points",
    "StepList", "Whole", "arg",
]

REQUIRED: Any = inspect.Parameter.empty

_families: dict[str, Any] = {}
_text_families: dict[str, Any] = {}

REGISTRY: Mapping[str, Any] = MappingProxyType(_text_families)
"""Text name -> family class, for every schedule the text form can call (``cosine``, ...); read-only."""

FAMILIES: Mapping[str, Any] = MappingProxyType(_families)
"""Every named family, including those only the dict form names (``mul``, ``add``); read-only."""


# --------------------------------------------------------------------- kinds
class Kind:
    """How a field's value is checked and what it holds; the default holds a plain value."""

    def check(self, where: str, param: str, v: Any) -> Any:
        return v

    def units(self, v: Any) -> frozenset[str]:
        return frozenset()

    def rests(self, v: Any) -> int:
        return 0

    def bind(self, v: Any, env: Env, where: str) -> Any:
        return v

    def children(self, v: Any) -> tuple:
        return ()


class Number(Kind):
    """A finite real number within bounds (``Number(ge=0)``, ``Number(gt=0)``)."""

    def __init__(self, **bounds: float) -> None:
        self.bounds = bounds

    def check(self, where, param, v):
        return number(where, param, v, **self.bounds)


class Whole(Kind):
    """A whole number within bounds."""

    def __init__(self, **bounds: int) -> None:
        self.bounds = bounds

    def check(self, where, param, v):
        return integer(where, param, v, **self.bounds)


class Choice(Kind):
    """One of a few strings."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def check(self, where, param, v):
        return one_of(where, param, v, self.choices)


class Flag(Kind):
    """``True`` or ``False``."""

    def check(self, where, param, v):
        return flag(where, param, v)


class Duration(Kind):
    """Steps (> 0, or >= 0 with ``zero``) or a run unit ``"5ep"``, ``"10%"``, ``"rest"``."""

    def __init__(self, zero: bool = False, rest: bool = True) -> None:
        self.zero, self.rest = zero, rest

    def check(self, where, param, v):
        v = duration(where, param, v, zero=self.zero)
        if v == "rest" and not self.rest:
            raise fail(where, param, "steps, 'Nep' or 'N%' ('rest' is only for phase lengths)", v)
        return v

    def units(self, v):
        return unit_kinds(v)

    def rests(self, v):
        return 1 if v == "rest" else 0

    def bind(self, v, env, where):
        return resolve(v, env, where)


def _listed(where: str, param: str, v: Any, what: str) -> list:
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise fail(where, param, what, v)
    return list(v)


def _check_sorted(where: str, param: str, times: list, strict: bool, shown: Any) -> None:
    nums = [x for x in times if not isinstance(x, str)]
    if len(nums) == len(times) and any((b <= a) if strict else (b < a) for a, b in zip(nums, nums[1:])):
        raise fail(where, param, "strictly increasing in time" if strict else "sorted (non-decreasing)", shown)


class StepList(Kind):
    """A sorted list of steps (milestones, boundaries): numbers >= 0, ``"Nep"`` or ``"N%"``."""

    _step = Duration(zero=True, rest=False)

    def check(self, where, param, v):
        steps = ListArg(self._step.check(where, param, x) for x in _listed(where, param, v, "a list of steps"))
        _check_sorted(where, param, list(steps), False, steps)
        return steps

    def units(self, v):
        return unit_kinds(tuple(v))

    def bind(self, v, env, where):
        return ListArg(resolve(x, env, where) for x in v)


class Levels(Kind):
    """A list of values >= 0."""

    def check(self, where, param, v):
        return ListArg(number(where, param, x, ge=0) for x in _listed(where, param, v, "a list of numbers"))


class Points(Kind):
    """Knots ``[(step, value), ...]``, strictly increasing in step; values >= 0."""

    _step = Duration(zero=True, rest=False)

    def check(self, where, param, v):
        pts = _listed(where, param, v, "a list of (step, value) pairs")
        if not pts:
            raise fail(where, param, "a non-empty list of (step, value) pairs", v)
        out = []
        for p in pts:
            if isinstance(p, (str, bytes)) or not isinstance(p, (list, tuple)) or len(p) != 2:
                raise fail(where, param, "a list of (step, value) pairs", v)
            out.append((self._step.check(where, param, p[0]), number(where, param, p[1], ge=0)))
        _check_sorted(where, param, [p[0] for p in out], True, ListArg(out))
        return ListArg(out)

    def units(self, v):
        return unit_kinds(tuple(k for k, _ in v))

    def bind(self, v, env, where):
        return ListArg((resolve(k, env, where), x) for k, x in v)


# -------------------------------------------------------------------- fields
class Field:
    """One parameter of a family: its kind, default, and text name (``param``,
    where the attribute must differ, e.g. piecewise's ``values``)."""

    def __init__(self, kind: Kind, default: Any = REQUIRED, *, alias: str | None = None,
                 positional: bool = False) -> None:
        self.kind, self.default, self.alias, self.positional = kind, default, alias, positional
        self.param = alias or ""
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.param = self.alias or name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # on the class: the field itself (instances hold their values)
            return self
        raise AttributeError(self.name)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def arg(kind: Kind, default: Any = REQUIRED, *, alias: str | None = None, positional: bool = False) -> Any:
    """Declare a field of a family (typed ``Any`` so a class body reads ``steps: float = arg(...)``).

    ``positional=True`` prints an optional value by position (``constant(0.5)``).
    A ``None`` default means "not given" and skips the check.
    """
    return Field(kind, default, alias=alias, positional=positional)


if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10: type checkers then see (*args, **kwargs)
    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda cls: cls


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(arg, Field))
class Family(type):
    """Metaclass of schedules: collects the declared fields and makes calling the class
    check the call, each field, and the family's rule, then return the immutable value.

    A class with a lowercase name (``cosine``) is a public family and registers under
    that name for the text form (``text=False``: the dict form only, as ``mul`` and
    ``add``); CapWords classes (``Schedule``, ``Wrapper``) are shared bases. A name
    is taken once: another class of the same name is an error (see :func:`_register`).
    """

    _fields: tuple[Field, ...]
    name: str

    def __new__(mcls, cname: str, bases: tuple, ns: dict, **_: Any) -> Family:
        return super().__new__(mcls, cname, bases, ns)

    def __init__(cls, cname: str, bases: tuple, ns: dict, *, text: bool = True) -> None:
        super().__init__(cname, bases, ns)
        fields: dict[str, Field] = {f.name: f for f in getattr(cls, "_fields", ())}
        fields.update({k: v for k, v in ns.items() if isinstance(v, Field)})  # a redeclared field keeps its place
        cls._fields = tuple(fields.values())
        if cname.islower():
            cls.name = cname
            _register(cls, text)
        params = [inspect.Parameter(f.param, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=f.default)
                  for f in cls._fields]
        cls.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        values = _bind_call(cls, args, kwargs)
        obj: Any = object.__new__(cls)  # type: ignore[arg-type]
        obj.__dict__.update(values)
        obj._validate()
        obj._settle()
        return obj._simplified()


def _register(cls: Any, text: bool) -> None:
    """Enter ``cls`` under its name, for ``from_dict`` (and for ``parse`` with ``text``).

    A name already taken by another class is an error: a family named ``cosine``
    outside lrkit would otherwise change what ``lk.parse("cosine(10)")`` builds.
    The same class defined again (same module and qualified name: ``importlib.reload``,
    a notebook cell run twice) replaces its earlier self.
    """
    taken = _families.get(cls.name)
    if taken is not None and (taken.__module__, taken.__qualname__) != (cls.__module__, cls.__qualname__):
        raise SpecError(f"class {cls.__module__}.{cls.__qualname__}: the schedule name {cls.name!r} is already "
                        f"taken by {taken.__module__}.{taken.__qualname__}; give the class another name "
                        "(a lowercase schedule class registers its name for parse() and from_dict())")
    _families[cls.name] = cls
    if text:
        _text_families[cls.name] = cls
    else:
        _text_families.pop(cls.name, None)


def _bind_call(cls: Family, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments checked and matched to fields: ``{attribute: checked value}``."""
    where, fields = cls.name, cls._fields
    params = [f.param for f in fields]
    if len(args) > len(fields):
        raise SpecError(f"{where}(): takes at most {len(fields)} positional arguments "
                        f"({', '.join(params)}); got {len(args)}")
    given = dict(zip(params, args))
    for k, v in kwargs.items():
        if k not in params:
            raise unknown(where, "argument", k, params, known=f"{where}() takes")
        if k in given:
            raise SpecError(f"{where}(): {k} given twice (by position and by keyword)")
        given[k] = v
    out = {}
    for f, p in zip(fields, params):
        if p in given:
            v = given[p]
        elif f.required:
            raise SpecError(f"{where}(): {p} is required; {where}() takes {', '.join(params)}")
        else:
            v = f.default
        out[f.name] = v if (v is None and f.default is None) else f.kind.check(where, p, v)
    return out

