"""The text form and the dict form of a schedule.

``parse(text)`` reads Python call syntax (literals, nested constructor calls,
keyword arguments, ``>>``, ``*``, ``+``, parentheses) with :mod:`ast`; it
never evaluates code. ``str(s)`` is the canonical text, ``parse(str(s)) == s``.
``to_dict`` / ``from_dict`` are the same round trip for JSON and YAML configs
(``Schedule.to_dict()`` is ``to_dict``: both directions of the dict form live here).
"""

from __future__ import annotations

import ast
import inspect
import numbers
import warnings
from typing import Any

from .checks import fail, number, suggest
from .errors import SpecError, UnboundError
from .schedules import FAMILIES, REGISTRY, Schedule
from .schedules.base import add, mul

__all__ = ["bound_schedule", "from_dict", "parse", "to_dict"]

_BINOPS = {ast.RShift: ">>", ast.Mult: "*", ast.Add: "+"}
_OP_NAMES = {ast.Sub: "-", ast.Div: "/", ast.FloorDiv: "//", ast.Pow: "**", ast.Mod: "%",
             ast.LShift: "<<", ast.MatMult: "@", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}
_MAX_TEXT = 100_000


class _Reader:
    def __init__(self, text: str):
        self.text = text

    def error(self, node: ast.AST, what: str) -> SpecError:
        seg = ast.get_source_segment(self.text, node) or ""
        col = getattr(node, "col_offset", 0) + 1
        return SpecError(f"parse(): {what}: {seg!r} at column {col} of {self.text!r}")

    def read(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float, str)) or node.value is None:
                return node.value
            raise self.error(node, "only numbers, strings, True, False and None are literals")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.read(node.operand)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise self.error(node, "a sign needs a number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.List):
            return [self.read(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.read(e) for e in node.elts)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Name):
            if node.id in REGISTRY:
                raise self.error(node, f"{node.id} must be called, e.g. {node.id}(...)")
            raise self.error(node, f"unknown name {node.id!r}{suggest(node.id, REGISTRY)}")
        raise self.error(node, f"{type(node).__name__.lower()} is not allowed in a schedule spec")

    def call(self, node: ast.Call) -> Schedule:
        if not isinstance(node.func, ast.Name):
            raise self.error(node.func, "only lrkit constructors can be called")
        name = node.func.id
        if name not in REGISTRY:
            raise self.error(node.func, f"unknown schedule {name!r}{suggest(name, REGISTRY)}")
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.error(a, "*arguments are not allowed")
            args.append(self.read(a))
        kwargs = {}
        for k in node.keywords:
            if k.arg is None:
                raise self.error(k.value, "**arguments are not allowed")
            if k.arg in kwargs:
                raise self.error(k, f"{name}(): {k.arg} given twice")
            kwargs[k.arg] = self.read(k.value)
        return REGISTRY[name](*args, **kwargs)

    def binop(self, node: ast.BinOp) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            sym = _OP_NAMES.get(type(node.op), type(node.op).__name__)
            raise self.error(node, f"operator {sym!r} is not supported; schedules combine with >>, * and +")
        left, right = self.read(node.left), self.read(node.right)
        if op == ">>":
            for side, n in ((left, node.left), (right, node.right)):
                if not isinstance(side, Schedule):
                    raise self.error(n, ">> joins schedules, not numbers")
            return left >> right
        nums = [isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (left, right)]
        if all(nums):
            return left * right if op == "*" else left + right
        for side, n in ((left, node.left), (right, node.right)):
            if not isinstance(side, Schedule) and not (isinstance(side, numbers.Real) and not isinstance(side, bool)):
                raise self.error(n, f"{op} takes schedules and numbers")
        return (mul if op == "*" else add)(left, right)


def parse(text: str) -> Schedule:
    """Read a schedule from its text form (Python call syntax, never evaluated).

    >>> import lrkit as lk
    >>> s = lk.parse("warmup(500) >> cosine(9500, end=0.01)")
    >>> s(500), str(s) == "warmup(500) >> cosine(9500, end=0.01)"
    (1.0, True)
    """
    if isinstance(text, Schedule):
        return text
    if not isinstance(text, str):
        raise SpecError(f"parse(): text must be a string; got {text!r}")
    if not text.strip():
        raise SpecError("parse(): text must not be empty; got ''")
    if len(text) > _MAX_TEXT:
        raise SpecError(f"parse(): text must be at most {_MAX_TEXT} characters; got {len(text)}")
    src = text.strip()
    if "\n" in src:  # a spec over several lines (a YAML block): read it as one parenthesised expression
        src = "(" + src + "\n)"
    try:
        with warnings.catch_warnings():  # e.g. "1if": Python's SyntaxWarning is not for our users
            warnings.simplefilter("ignore")
            tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        col = e.offset or 1
        raise SpecError(f"parse(): invalid syntax at column {col} of {src!r}: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpecError(f"parse(): text is too deeply nested to read: {src[:60]!r}...") from None
    try:
        out = _Reader(src).read(tree.body)
    except RecursionError:
        raise SpecError(f"parse(): text is too deeply nested to read: {src[:60]!r}...") from None
    if not isinstance(out, Schedule):
        raise SpecError(f"parse(): text must describe a schedule, not a {type(out).__name__}; got {src!r}")
    return out


def to_dict(s: Schedule) -> dict:
    """The dict form of a schedule (JSON/YAML ready): ``{"type": name, **arguments}``, defaults
    left out, nested schedules as dicts, tuples as lists; the same as ``s.to_dict()``.

    >>> import lrkit as lk
    >>> lk.to_dict(lk.cosine(100, end=0.1))
    {'type': 'cosine', 'steps': 100, 'end': 0.1}
    >>> lk.to_dict(lk.warmup(5) >> lk.cosine(10))
    {'type': 'sequence', 'phases': [{'type': 'warmup', 'steps': 5}, {'type': 'cosine', 'steps': 10}]}
    """
    if not isinstance(s, Schedule):
        raise SpecError(f"to_dict(): s must be a schedule; got {s!r}")
    pos, kw = s.args()
    params = inspect.signature(type(s)).parameters  # the family's fields, in order
    return {"type": s.name, **{p: _plain(v) for p, v in zip(params, pos)}, **{k: _plain(v) for k, v in kw.items()}}


def _plain(v: Any) -> Any:
    if isinstance(v, Schedule):
        return to_dict(v)
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return v


def _from(v: Any, where: str) -> Any:
    if isinstance(v, dict):
        return from_dict(v, _where=where)
    if isinstance(v, list):
        return [_from(x, f"{where}[{i}]") for i, x in enumerate(v)]
    return v


def from_dict(d: dict, *, _where: str = "d") -> Schedule:
    """Build a schedule from its dict form: ``from_dict(to_dict(s)) == s``.

    >>> import lrkit as lk
    >>> lk.from_dict({"type": "cosine", "steps": 100, "end": 0.1}) == lk.cosine(100, end=0.1)
    True
    """
    if not isinstance(d, dict):
        raise SpecError(f"from_dict(): {_where} must be a dict with a 'type' key; got {d!r}")
    if "type" not in d:
        raise SpecError(f"from_dict(): {_where} must have a 'type' key naming a schedule; got keys {sorted(d)}")
    kind = d["type"]
    rest = {k: _from(v, f"{_where}.{k}") for k, v in d.items() if k != "type"}
    if kind in ("mul", "add") and sorted(rest) != ["left", "right"]:
        raise SpecError(f"from_dict(): {_where} of type {kind!r} takes exactly 'left' and 'right'; got {sorted(rest)}")
    if not isinstance(kind, str) or kind not in FAMILIES:
        hint = suggest(kind, FAMILIES) if isinstance(kind, str) else ""
        raise SpecError(f"from_dict(): {_where}['type'] must name a schedule; got {kind!r}{hint}")
    return FAMILIES[kind](**rest)


def bound_schedule(ctor: str, schedule: Any, total_steps: Any = None, steps_per_epoch: Any = None,
                   where: str = "schedule") -> Schedule:
    """``schedule`` (a Schedule or its text) checked and bound to the run, for the adapters.

    Errors name the adapter (``ctor``) and what to pass:
    ``Scheduler(): schedule cosine('rest') uses run-relative durations ('rest');
    pass Scheduler(..., total_steps=...) to bind them``.

    >>> str(bound_schedule("Scheduler", "warmup('10%') >> cosine('rest')", total_steps=100))
    'warmup(10) >> cosine(90)'
    """
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if not isinstance(schedule, Schedule):
        raise fail(ctor, where, "an lrkit schedule or its text form", schedule)
    if total_steps is not None:
        total_steps = number(ctor, "total_steps", total_steps, gt=0)
    if steps_per_epoch is not None:
        steps_per_epoch = number(ctor, "steps_per_epoch", steps_per_epoch, gt=0)
    need = schedule.missing(total_steps, steps_per_epoch)
    if need:
        used = ", ".join(repr(u) for u in sorted(schedule.units))
        raise UnboundError(f"{ctor}(): {where} {schedule} uses run-relative durations ({used}); "
                           f"pass {ctor}(..., {', '.join(need)}) to bind them")
    return schedule.bind(total_steps=total_steps, steps_per_epoch=steps_per_epoch)
