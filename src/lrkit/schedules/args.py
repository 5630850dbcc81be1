"""Argument checks, canonical formatting and the registry of constructors.

Every check raises ``SpecError`` with one message shape:
``cosine(): steps must be > 0; got steps=-5``.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from ..errors import SpecError

__all__ = ["REGISTRY", "ListArg", "constructor", "duration", "fail", "fmt", "number", "one_of", "show"]

_UNIT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ep|%)\s*$")


# ----------------------------------------------------------------- formatting
def fmt(v: Any) -> str:
    """Canonical text of an argument: numbers shortest-exact, strings quoted."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (list, ListArg)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(fmt(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    return str(v)


def show(v: Any) -> str:
    """How a user's value is quoted in an error message (a schedule by its text)."""
    if isinstance(v, (bool, int, float, str, list, tuple)) or v is None or hasattr(v, "evaluate"):
        return fmt(v)
    return repr(v)


class ListArg(tuple):
    """A tuple (hashable) that prints as a list: ``[10, 20]``."""

    __slots__ = ()


# --------------------------------------------------------------------- checks
def fail(ctor: str, param: str, rule: str, value: Any) -> SpecError:
    return SpecError(f"{ctor}(): {param} must be {rule}; got {param}={show(value)}")


def number(ctor: str, param: str, v: Any, *, gt=None, ge=None, le=None, lt=None):
    """A finite real number within the given bounds, as a python int or float."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise fail(ctor, param, "a number", v)
    v = int(v) if isinstance(v, numbers.Integral) else float(v)
    if isinstance(v, int) and abs(v) > 2**1023:  # no float64 holds it: it would overflow in a formula
        raise fail(ctor, param, "finite", v)
    if isinstance(v, float) and math.isnan(v):
        raise fail(ctor, param, "a number, not NaN", v)
    if isinstance(v, float) and math.isinf(v):
        raise fail(ctor, param, "finite", v)
    if gt is not None and not v > gt:
        raise fail(ctor, param, f"> {fmt(gt)}", v)
    if ge is not None and not v >= ge:
        raise fail(ctor, param, f">= {fmt(ge)}", v)
    if lt is not None and not v < lt:
        raise fail(ctor, param, f"< {fmt(lt)}", v)
    if le is not None and not v <= le:
        raise fail(ctor, param, f"<= {fmt(le)}", v)
    return v


def duration(ctor: str, param: str, v: Any, *, zero: bool = False):
    """A duration: a number of steps (> 0, or >= 0 with ``zero``) or a unit
    string ``"5ep"``, ``"10%"`` or ``"rest"``, returned in canonical form."""
    if isinstance(v, str):
        if v.strip() == "rest":
            return "rest"
        m = _UNIT.match(v)
        if m:
            amount = float(m.group(1))
            unit = m.group(2)
            if unit == "%" and not (amount <= 100 and (amount > 0 or zero)):
                raise fail(ctor, param, "a percentage in [0, 100]" if zero else "a percentage in (0, 100]", v)
            if amount <= 0 and not zero:
                raise fail(ctor, param, "> 0", v)
            return fmt(amount) + unit
        raise fail(ctor, param, "a number of steps or a duration like '5ep', '10%' or 'rest'", v)
    if zero:
        return number(ctor, param, v, ge=0)
    return number(ctor, param, v, gt=0)


def one_of(ctor: str, param: str, v: Any, choices: tuple[str, ...]) -> str:
    if v not in choices:
        rule = "one of " + ", ".join(repr(c) for c in choices)
        raise fail(ctor, param, rule, v)
    return v


# --------------------------------------------------------------- constructors
REGISTRY: dict[str, Any] = {}


def constructor(fn):
    """Register a public constructor; turn bad call shapes into ``SpecError``.

    Unknown keywords get a did-you-mean, missing or surplus arguments a plain
    sentence, so ``lk.cosine(10, ned=0.1)`` fails like the text form does.
    """
    import difflib
    import functools
    import inspect

    sig = inspect.signature(fn)
    params = list(sig.parameters)
    required = [p for p, v in sig.parameters.items() if v.default is inspect.Parameter.empty]
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if len(args) > len(params):
            raise SpecError(
                f"{name}(): takes at most {len(params)} positional arguments "
                f"({', '.join(params)}); got {len(args)}"
            )
        for k in kwargs:
            if k not in params:
                close = difflib.get_close_matches(k, params, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SpecError(f"{name}(): unknown argument {k!r}{hint}; {name}() takes {', '.join(params)}")
            if k in params[: len(args)]:
                raise SpecError(f"{name}(): {k} given twice (by position and by keyword)")
        missing = [p for p in required[len(args):] if p not in kwargs]
        if missing:
            raise SpecError(f"{name}(): {missing[0]} is required; {name}() takes {', '.join(params)}")
        return fn(*args, **kwargs)

    REGISTRY[name] = wrapper
    return wrapper
