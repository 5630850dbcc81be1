"""``s(t)`` on one number: the schedule's formula, traced once into a plain Python function.

A formula is written once, ``_at(t, xp)``, against an array namespace. Run
on :class:`Tracer`, it writes itself down as straight-line Python over
floats: each ``xp`` call and operator becomes one line (written once when
the formula repeats it), ``xp.where`` a conditional expression, ``xp.select``
(the phases of ``>>``) an ``if`` chain that runs only the phase ``t`` is in.
The source is compiled once per schedule and kept on it, so ``s(t)`` costs a
few hand-written lines. A constant raised to a whole number (``gamma ** k``)
is kept in a small table of that compiled function: NumPy's ``power`` on one
float costs a microsecond, and ``k`` repeats from step to step.

The compiled function computes exactly what ``s.values`` computes, bit for
bit: the same IEEE arithmetic and comparisons, NumPy's rules for ``minimum``
/ ``maximum`` (NaN wins, the second operand on a tie), ``math.cos`` /
``math.sqrt`` (identical to NumPy's), and NumPy's own ``exp`` / ``log`` /
``power`` (its SIMD array kernels round differently from ``math``). Where a
float would overflow or leave a function's domain it raises, and ``s(t)``
asks NumPy instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .ops import Ops

__all__ = ["Fallback", "compile_scalar"]


class Fallback(Exception):
    """A float would overflow or leave a function's domain: ``s(t)`` evaluates a
    one-element NumPy array instead (NumPy's inf / NaN, no warning)."""


def _floor(x: float) -> float:
    """NumPy's ``floor`` on a float: NaN and +-inf unchanged, ``-0.0`` kept (as is the sign of a 0 result)."""
    try:
        r = math.floor(x)
    except (OverflowError, ValueError):  # inf, nan
        return x
    return float(r) if r else x * 0.0  # [0, 1) -> 0.0, -0.0 -> -0.0


def _power(a: float, b: float) -> float:
    """NumPy's ``a ** b`` as ``NumpyOps.power`` computes it (an array exponent), once ``math.pow``
    has ruled out overflow and domain errors (else the NumPy fallback, so NumPy never warns).
    NumPy rounds a scalar exponent 2, 0.5 or -1 its own way, so those go as a 1-element array."""
    try:
        math.pow(a, b)
    except (OverflowError, ValueError, ZeroDivisionError):
        raise Fallback from None
    if b == 0.0 or b == 1.0:  # exact in every pow: 1 and a
        return 1.0 if b == 0.0 else float(a)
    if b == 2.0 or b == 0.5 or b == -1.0:
        return float(np.power(a, np.array([b]))[0])
    return float(np.power(a, b))


_MEMO = 1024  # results a compiled function keeps of ``constant ** integer`` (bounded)


def _memo_power() -> Callable:
    """``a ** b`` for a constant ``a`` (a decay or period factor raised to a step or cycle count):
    the same as ``_power``, with the results for integral ``b`` kept, at most ``_MEMO`` of them, in
    the compiled function's own table (one per schedule, never shared). ``b`` repeats step after
    step, and NumPy's ``power`` on one float costs a microsecond."""
    memo: dict = {}

    def cpow(a: float, b: float) -> float:
        v = memo.get((a, b))
        if v is None:
            v = _power(a, b)  # raises Fallback on overflow: nothing kept
            if len(memo) < _MEMO and _floor(b) == b:
                memo[(a, b)] = v
        return v

    return cpow


def _log(x: float) -> float:
    """NumPy's ``log`` on a float in its domain (``0 < x < inf``); else the NumPy fallback."""
    if 0.0 < x < math.inf:
        return float(np.log(x))
    raise Fallback


def _exp(x: float) -> float:
    """NumPy's ``exp`` on a float that cannot overflow (``x <= 709``); else the NumPy fallback."""
    if x <= 709.0:
        return float(np.exp(x))
    raise Fallback


class _Untraceable(Exception):
    """The formula did something a trace cannot record (a Python branch on ``t``)."""


def _infix(op: str) -> tuple[Callable, Callable]:
    """The method pair ``a op b`` and its reflection ``b op a`` for :class:`Expr`."""
    text = "{} " + op + " {}"
    return (lambda self, o: self._op(text, self, o)), (lambda self, o: self._op(text, o, self))


class Expr:
    """A value of the traced function: the name of a local variable."""

    __slots__ = ("tracer", "name")

    def __init__(self, tracer: Tracer, name: str) -> None:
        self.tracer, self.name = tracer, name

    def __bool__(self) -> bool:
        raise _Untraceable("a Python branch on t")

    def _op(self, fmt: str, *args: Any) -> Expr:
        return self.tracer.emit(fmt.format(*(self.tracer.src(a) for a in args)))

    __add__, __radd__ = _infix("+")
    __sub__, __rsub__ = _infix("-")
    __mul__, __rmul__ = _infix("*")
    __truediv__, __rtruediv__ = _infix("/")
    __xor__, __rxor__ = _infix("^")
    __and__, __rand__ = _infix("&")
    __rshift__, _ = _infix(">>")
    __lt__, __gt__ = _infix("<")  # a > b is written b < a: the same comparison
    __le__, __ge__ = _infix("<=")

    def __neg__(self) -> Expr:
        return self._op("-{}", self)


class Tracer(Ops):
    """The namespace that records a formula as Python source (see the module docstring)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = "    "
        self.count = 0
        self.seen: dict[str, Expr] = {}  # expression -> the variable that holds it (every call is pure)

    # -- writing ------------------------------------------------------------
    def src(self, v: Any) -> str:
        if isinstance(v, Expr):
            return v.name
        if isinstance(v, bool):
            return repr(v)
        if isinstance(v, int):
            return f"({v!r})"
        if isinstance(v, float):
            if v != v:
                return "_nan"
            if v in (math.inf, -math.inf):
                return "_inf" if v > 0 else "(-_inf)"
            return f"({v!r})"
        raise _Untraceable(f"a constant of type {type(v).__name__}")

    def emit(self, expr: str) -> Expr:
        if expr in self.seen:  # computed before, in this block or one around it
            return self.seen[expr]
        self.count += 1
        name = f"v{self.count}"
        self.lines.append(f"{self.indent}{name} = {expr}")
        out = self.seen[expr] = Expr(self, name)
        return out

    def _call(self, fn: str, *args: Any) -> Expr:
        return self.emit(f"{fn}({', '.join(self.src(a) for a in args)})")

    # -- the namespace ----------------------------------------------------
    def minimum(self, a, b):  # NumPy's rule: NaN wins, the second operand on a tie
        return self.emit(f"{self.src(a)} if ({self.src(a)} < {self.src(b)} or {self.src(a)} != {self.src(a)}) "
                         f"else {self.src(b)}")

    def maximum(self, a, b):
        return self.emit(f"{self.src(a)} if ({self.src(a)} > {self.src(b)} or {self.src(a)} != {self.src(a)}) "
                         f"else {self.src(b)}")

    def where(self, cond, a, b):
        if not isinstance(cond, Expr):
            return a if cond else b
        return self.emit(f"{self.src(a)} if {cond.name} else {self.src(b)}")

    def floor(self, x):
        return self._call("_floor", x)

    def cos(self, x):
        return self._call("_cos", x)

    def sqrt(self, x):
        return self._call("_sqrt", x)

    def exp(self, x):
        return self._call("_exp", x)

    def log(self, x):
        return self._call("_log", x)

    def power(self, a, b):
        return self._call("_power" if isinstance(a, Expr) else "_cpow", a, b)

    def uint(self, x):
        return self._call("int", x)

    def float(self, u):
        return self._call("float", u)

    def select(self, t, starts, branch):
        """An ``if`` chain: only the phase that ``t`` is in runs."""
        if len(starts) == 1:
            return branch(0, t, self)
        out = f"v{self.count + 1}"
        self.count += 1
        outer = self.indent
        for i in range(len(starts)):
            head = "if" if i == 0 else "elif"
            self.lines.append(f"{outer}{head} {self.src(t)} < {self.src(float(starts[i + 1]))}:"
                              if i + 1 < len(starts) else f"{outer}else:")
            self.indent, seen = outer + "    ", dict(self.seen)
            self.lines.append(f"{self.indent}{out} = {self.src(branch(i, t, self))}")
            self.indent, self.seen = outer, seen  # a branch's variables exist only in it
        return Expr(self, out)


_GLOBALS = {
    "__builtins__": {"int": int, "float": float},
    "_floor": _floor, "_cos": math.cos, "_sqrt": math.sqrt,
    "_exp": _exp, "_log": _log, "_power": _power,
    "_inf": math.inf, "_nan": math.nan,
}


def compile_scalar(formula: Callable[[Any, Any], Any]) -> Callable[[float], Any] | None:
    """``formula(t, xp)`` as a plain function of one float, or None if it cannot be traced.

    >>> import lrkit as lk
    >>> f = compile_scalar(lk.cosine(100)._at)
    >>> f(50.0)
    0.5
    """
    tracer = Tracer()
    try:
        out = formula(Expr(tracer, "t"), tracer)
        source = "def f(t):\n" + "\n".join(tracer.lines + [f"    return {tracer.src(out)}"]) + "\n"
        scope: dict[str, Any] = {}
        names = {**_GLOBALS, "_cpow": _memo_power()}  # this function's own table of powers
        exec(compile(source, "<lrkit schedule>", "exec"), names, scope)  # noqa: S102 - our own source
    except (_Untraceable, RecursionError, MemoryError, SyntaxError, TypeError):
        return None
    fn = scope["f"]
    fn.source = source  # for reading what a schedule compiles to
    return fn
