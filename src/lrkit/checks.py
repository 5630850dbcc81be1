"""The one argument checker: every user-facing check in lrkit raises through here.

One message shape everywhere (core, adapters, lab, finder, CLI)::

    cosine(): steps must be > 0; got steps=-5
    compare(): unknown setting 'epoch' (did you mean 'epochs'?); known: epochs, seeds

``where`` is the callable the user called (``"cosine"``, ``"Scheduler"``,
``"compare"``); the message adds the ``()``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import operator
import re
from collections.abc import Iterable
from typing import Any

from .errors import SpecError

__all__ = [
    "ListArg", "duration", "fail", "flag", "fmt", "integer", "number", "one_of", "show", "suggest", "unknown",
]

_UNIT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ep|%)\s*$")
_TINY = 2.2250738585072014e-308  # smallest normal float64: below it, t / steps loses its digits


# ----------------------------------------------------------------- formatting
class ListArg(tuple):
    """A tuple (hashable) that prints as a list: ``[10, 20]``."""

    __slots__ = ()


def fmt(v: Any) -> str:
    """Canonical text of a value: numbers shortest-exact, strings quoted, lists as lists.

    >>> fmt(1e4), fmt(0.1), fmt("10%"), fmt(ListArg([1, 2.5]))
    ('10000', '0.1', "'10%'", '[1, 2.5]')
    """
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
    """How a user's value is quoted in a message (a schedule by its text)."""
    if isinstance(v, (bool, int, float, str, list, tuple)) or v is None or hasattr(v, "evaluate"):
        return fmt(v)
    return repr(v)


# --------------------------------------------------------------------- errors
def fail(where: str, param: str, rule: str, value: Any) -> SpecError:
    """The error for a bad argument: ``where(): param must be rule; got param=value``.

    >>> str(fail("cosine", "steps", "> 0", -5))
    'cosine(): steps must be > 0; got steps=-5'
    """
    return SpecError(f"{where}(): {param} must be {rule}; got {param}={show(value)}")


def suggest(name: Any, choices: Iterable[str]) -> str:
    """A did-you-mean suffix (``" (did you mean 'cosine'?)"``), or ``""``.

    >>> suggest("cosin", ["cosine", "linear"]), suggest("zzz", ["cosine"])
    (" (did you mean 'cosine'?)", '')
    """
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close and close[0] != name else ""


def unknown(where: str, what: str, name: Any, choices: Iterable[str], *, known: str = "known") -> SpecError:
    """The error for an unknown name: ``where(): unknown what 'x' (did you mean 'y'?); known: a, b``.

    >>> str(unknown("compare", "setting", "epoch", ["epochs", "seeds"]))
    "compare(): unknown setting 'epoch' (did you mean 'epochs'?); known: epochs, seeds"
    >>> str(unknown("cosine", "argument", "ned", ["steps", "start", "end"], known="cosine() takes"))
    "cosine(): unknown argument 'ned' (did you mean 'end'?); cosine() takes steps, start, end"
    """
    choices = list(choices)
    return SpecError(f"{where}(): unknown {what} {show(name)}{suggest(name, choices)}; "
                     f"{known}{':' if known == 'known' else ''} {', '.join(choices)}")


# --------------------------------------------------------------------- checks
def number(where: str, param: str, v: Any, *, gt: float | None = None, ge: float | None = None,
           le: float | None = None, lt: float | None = None) -> int | float:
    """A finite real number within the bounds, as a Python ``int`` or ``float``.

    >>> number("cosine", "end", 0.5, ge=0)
    0.5
    >>> number("cosine", "end", float("nan"), ge=0)
    Traceback (most recent call last):
    lrkit.errors.SpecError: cosine(): end must be a number, not NaN; got end=nan
    """
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise fail(where, param, "a number", v)
    v = int(v) if isinstance(v, numbers.Integral) else float(v)
    if isinstance(v, int) and abs(v) > 2**1023:  # no float64 holds it: it would overflow in a formula
        raise fail(where, param, "finite", v)
    if isinstance(v, float) and math.isnan(v):
        raise fail(where, param, "a number, not NaN", v)
    if isinstance(v, float) and math.isinf(v):
        raise fail(where, param, "finite", v)
    for bound, ok, op in ((gt, lambda: v > gt, ">"), (ge, lambda: v >= ge, ">="),
                          (lt, lambda: v < lt, "<"), (le, lambda: v <= le, "<=")):
        if bound is not None and not ok():
            raise fail(where, param, f"{op} {fmt(bound)}", v)
    return v


def integer(where: str, param: str, v: Any, *, ge: int | None = None, le: int | None = None) -> int:
    """A whole number (``3`` or ``3.0``) within the bounds, as a Python ``int``.

    >>> integer("restarts", "cycles", 3.0, ge=1)
    3
    """
    if type(v) is int and (ge is None or v >= ge) and (le is None or v <= le):  # a plain int: no ABC checks
        return v  # (lrkit.timm's step_update calls this every update; the checks below cost ~0.6 us)
    if ge is not None and le is not None:
        rule = f"a whole number from {ge} to {le}"
    else:
        rule = "a whole number" + (f" >= {ge}" if ge is not None else "") + (f" <= {le}" if le is not None else "")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise fail(where, param, rule, v)
    if isinstance(v, numbers.Integral):
        n = operator.index(v)
    elif math.isfinite(v) and float(v).is_integer():
        n = int(float(v))
    else:
        raise fail(where, param, rule, v)
    if (ge is not None and n < ge) or (le is not None and n > le):
        raise fail(where, param, rule, v)
    return n


def flag(where: str, param: str, v: Any) -> bool:
    """``True`` or ``False`` (not ``1``, not ``"yes"``)."""
    if not isinstance(v, bool):
        raise fail(where, param, "True or False", v)
    return v


def one_of(where: str, param: str, v: Any, choices: Iterable[str]) -> str:
    """One of ``choices`` (the message lists them all).

    >>> one_of("wsd", "shape", "linear", ("linear", "cosine"))
    'linear'
    >>> one_of("wsd", "shape", "cosin", ("linear", "cosine"))
    Traceback (most recent call last):
    lrkit.errors.SpecError: wsd(): shape must be one of 'linear', 'cosine'; got shape='cosin'
    """
    choices = tuple(choices)
    if not isinstance(v, str) or v not in choices:
        raise fail(where, param, "one of " + ", ".join(repr(c) for c in choices), v)
    return v


def duration(where: str, param: str, v: Any, *, zero: bool = False) -> int | float | str:
    """A duration: steps (> 0; >= 0 with ``zero``) or ``"5ep"``, ``"10%"``, ``"rest"``, in canonical form.

    A positive number of steps must be at least the smallest normal float
    (2.2e-308): below it ``t / steps`` has no digits left.

    >>> duration("cosine", "steps", " 10 %"), duration("cosine", "steps", 937.5)
    ('10%', 937.5)
    """
    if isinstance(v, str):
        if v.strip() == "rest":
            return "rest"
        m = _UNIT.match(v)
        if m:
            amount, unit = float(m.group(1)), m.group(2)
            if unit == "%" and not (amount <= 100 and (amount > 0 or zero)):
                raise fail(where, param, "a percentage in [0, 100]" if zero else "a percentage in (0, 100]", v)
            if amount <= 0 and not zero:
                raise fail(where, param, "> 0", v)
            return fmt(amount) + unit
        raise fail(where, param, "a number of steps or a duration like '5ep', '10%' or 'rest'", v)
    n = number(where, param, v, ge=0) if zero else number(where, param, v, gt=0)
    if 0 < n < _TINY:
        raise fail(where, param, f"0 or >= {_TINY!r} (a normal float)" if zero else f">= {_TINY!r} (a normal float)", v)
    return n
