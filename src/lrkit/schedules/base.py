"""The :class:`Schedule` value and the combinators its operators build (``>>``, ``*``, ``+``).

A schedule is an immutable value of one family class (see :mod:`.fields`):
its fields are its constructor's arguments, its one formula ``_at(t, xp)``
runs on a Python float (``s(t)``), NumPy arrays (``s.values``) and, through
the adapters, torch tensors, Keras ops and ``jax.numpy``. Structure
(``is_finite``, ``duration``, ``children``, ``bind``) is a method of each
family, never an ``isinstance`` switch; the text form is built from the fields.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence as Seq
from typing import Any, ClassVar

import numpy as np

from ..checks import fail, fmt, number
from ..errors import SpecError, UnboundError
from .evaluation import HUGE_STEP, at_infinity, scalar_step, values_of
from .fields import Family, Field, Kind, arg
from .ops import NUMPY
from .scalar import Fallback, compile_scalar
from .units import Env

__all__ = ["BinOp", "Inner", "Operand", "Phases", "Schedule", "add", "mul", "sequence"]


_UNCOMPILED = object()


class Schedule(metaclass=Family):
    """Base class of every schedule: a pure function of the step ``t >= 0``.

    Calling a family class (``lk.cosine(100)``) checks its arguments and
    returns the value; ``s(t)`` evaluates one step as a plain float
    computation, ``s.values(ts)`` a whole array.
    """

    name: ClassVar[str] = "schedule"
    _fields: ClassVar[tuple[Field, ...]] = ()
    _length: ClassVar[str | None] = None  # the field that holds the duration (None: endless)
    _prec: ClassVar[int] = 9  # printing precedence: atoms bind tightest
    _units: ClassVar[frozenset[str]] = frozenset()  # each value sets its own (see _settle)

    # -- value semantics ----------------------------------------------------
    def _validate(self) -> None:
        """The family's rule across fields (override); raise ``SpecError``."""

    def _settle(self) -> None:
        units: frozenset[str] = frozenset()
        for f in self._fields:
            units |= f.kind.units(self.__dict__[f.name])
        self.__dict__["_units"] = units
        if self.rest_count() > 1:
            raise SpecError(f"{self.name}(): at most one 'rest' duration per schedule; got {self}")

    def _simplified(self) -> Schedule:
        return self

    def _key(self) -> tuple:
        return tuple(self.__dict__[f.name] for f in self._fields)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"schedules are immutable: {self.name}().{key} cannot be set; use s.replace({key}=...)")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"schedules are immutable: {self.name}().{key} cannot be deleted")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._key() == self._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, self._key()))

    def __reduce__(self) -> tuple:
        return (type(self), self._key())

    def replace(self, **changes: Any) -> Schedule:
        """The same schedule with some fields changed (checked like a new call).

        >>> import lrkit as lk
        >>> lk.cosine(100, end=0.1).replace(steps=200)
        cosine(200, end=0.1)
        """
        current = {f.name: f for f in self._fields}
        for k in changes:
            if k not in current:
                raise SpecError(f"{self.name}().replace(): unknown field {k!r}; fields are {', '.join(current)}")
        return type(self)(**{f.param: changes.get(f.name, self.__dict__[f.name]) for f in self._fields})

    # -- structure ----------------------------------------------------------
    def children(self) -> tuple[Schedule, ...]:
        """The schedules this one is built from (none for a primitive)."""
        out: tuple = ()
        for f in self._fields:
            out += f.kind.children(self.__dict__[f.name])
        return out

    def rest_count(self) -> int:
        """How many ``"rest"`` durations the schedule uses (at most one is allowed)."""
        return sum(f.kind.rests(self.__dict__[f.name]) for f in self._fields)

    @property
    def units(self) -> frozenset[str]:
        """Run-relative units used anywhere in the schedule: subset of {'ep', '%', 'rest'}."""
        return self._units

    @property
    def is_bound(self) -> bool:
        """True when every duration is in steps (nothing left for ``bind``)."""
        return not self._units

    @property
    def is_finite(self) -> bool:
        """True when the schedule reaches a final value (known before binding)."""
        return self._length is not None and self.__dict__[self._length] is not None

    @property
    def duration(self) -> float | None:
        """Number of steps until the final value is reached, or None if endless."""
        if self._units:
            raise self._unbound_error()
        return self._duration()

    def _duration(self) -> Any:
        return None if self._length is None else self.__dict__[self._length]

    def bind(self, total_steps: float | None = None, steps_per_epoch: float | None = None) -> Schedule:
        """The same schedule with every ``"5ep"``, ``"10%"``, ``"rest"`` turned into steps.

        ``total_steps`` is the run length (for ``%`` and ``rest``),
        ``steps_per_epoch`` the steps of one epoch (for ``ep``). A bound
        schedule is returned unchanged.

        >>> import lrkit as lk
        >>> str((lk.warmup("10%") >> lk.cosine("rest")).bind(total_steps=1000))
        'warmup(100) >> cosine(900)'
        """
        if total_steps is not None:
            total_steps = number("bind", "total_steps", total_steps, gt=0)
        if steps_per_epoch is not None:
            steps_per_epoch = number("bind", "steps_per_epoch", steps_per_epoch, gt=0)
        if not self._units:
            return self
        return self._bind(Env(total_steps, steps_per_epoch, total_steps))

    def _bind(self, env: Env) -> Schedule:
        if not self._units:
            return self
        return type(self)(**{f.param: f.kind.bind(self.__dict__[f.name], env, f"{self.name}().{f.param}")
                             for f in self._fields})

    def missing(self, total_steps: float | None = None, steps_per_epoch: float | None = None) -> list[str]:
        """What binding still lacks, given what the run provides: ``["total_steps=...", ...]``.

        >>> import lrkit as lk
        >>> (lk.warmup("1ep") >> lk.cosine("rest")).missing(total_steps=1000)
        ['steps_per_epoch=...']
        """
        need = []
        if self._units & {"%", "rest"} and total_steps is None:
            need.append("total_steps=...")
        if "ep" in self._units and steps_per_epoch is None:
            need.append("steps_per_epoch=...")
        return need

    def _unbound_error(self) -> UnboundError:
        used = ", ".join(repr(u) for u in sorted(self._units))
        return UnboundError(f"{self} uses run-relative durations ({used}); bind it to a run first: "
                            f"s.bind({', '.join(self.missing())}) (adapters do this when given the run length)")

    # -- evaluation ---------------------------------------------------------
    def _at(self, t, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, t: Any, xp: Any = NUMPY) -> Any:
        """The formula on ``t`` (already checked ``>= 0``) in namespace ``xp``.

        Adapters call this with their own namespace (torch, Keras, jax.numpy);
        it contains no Python branch on ``t`` and traces under ``jax.jit``.
        """
        if self._units:
            raise self._unbound_error()
        return self._at(t, xp)

    def __call__(self, t: Any) -> float:
        """The value at step ``t`` (a real number >= 0) as a Python float, with no array built.

        >>> import lrkit as lk
        >>> lk.cosine(100)(50)
        0.5
        """
        if self._units:
            raise self._unbound_error()
        kind = type(t)
        if kind is not float:  # an int (every training loop's step) costs one comparison more than a float
            t = float(t) if kind is int and abs(t) <= HUGE_STEP else scalar_step(t, self)
        if not t >= 0:
            raise SpecError(f"step t must be a real number >= 0; got t={fmt(t)} (evaluating {self})")
        if t == math.inf:
            t = at_infinity(self)
        fn = self.__dict__.get("_scalar", _UNCOMPILED)
        if fn is _UNCOMPILED:  # traced once into plain Python (see .scalar), kept on this value
            fn = self.__dict__["_scalar"] = compile_scalar(self._at)
        try:
            if fn is None:  # a formula the tracer cannot follow
                raise Fallback
            v = fn(t)
        except SpecError:
            raise
        except (Fallback, ArithmeticError, ValueError):  # an overflow or a domain error: NumPy's answer
            with np.errstate(all="ignore"):
                v = self._at(np.array([t]), NUMPY)[0]
        return v if type(v) is float else float(v)

    def values(self, ts: Any, dtype: Any = np.float64) -> np.ndarray:
        """The values at every step of ``ts`` (any array-like), as a float64 array.

        ``dtype=np.float32`` evaluates in single precision: a fast preview
        (plots of millions of steps), values to float32 precision.
        Vectorised: the formula runs over whole arrays, no Python loop per
        step, and ``s.values(ts)[i] == s(ts[i])`` exactly.

        >>> import lrkit as lk
        >>> lk.cosine(100).values([0, 50, 100]).tolist()
        [1.0, 0.5, 0.0]
        """
        if self._units:
            raise self._unbound_error()
        return values_of(self, ts, dtype)

    # -- text form ----------------------------------------------------------
    def args(self) -> tuple[list, dict]:
        """(positional, keyword) arguments of the canonical constructor call (defaults left out)."""
        pos: list = []
        kw: dict = {}
        for f in self._fields:
            v = self.__dict__[f.name]
            if f.required or (f.positional and not kw and not _same(v, f.default)):
                pos.append(v)
            elif not _same(v, f.default):
                kw[f.param] = v
        return pos, kw

    def __str__(self) -> str:
        pos, kw = self.args()
        parts = [fmt(v) for v in pos] + [f"{k}={fmt(v)}" for k, v in kw.items()]
        return f"{self.name}({', '.join(parts)})"

    def __repr__(self) -> str:
        return str(self)

    def to_dict(self) -> dict:
        """The JSON/YAML form: ``{"type": name, **non-default arguments}`` (:func:`lrkit.to_dict`).

        >>> import lrkit as lk
        >>> lk.cosine(100, end=0.1).to_dict()
        {'type': 'cosine', 'steps': 100, 'end': 0.1}
        """
        from ..spec import to_dict  # the dict form lives with the text form (spec imports this module)

        return to_dict(self)

    def segments(self) -> list[tuple[float, Schedule]]:
        """``(start step, phase)`` of each phase: one for a single schedule."""
        return [(0, self)]

    def _as_phases(self) -> tuple[Schedule, ...]:
        """The phases this schedule brings into a sequence (a sequence brings its own)."""
        return (self,)

    def describe(self) -> str:
        """One line per phase: step range, start value -> end value, and the phase.

        >>> import lrkit as lk
        >>> print((lk.warmup(10) >> lk.cosine(90)).describe())
        steps 0 .. 10    0 -> 1  warmup(10)
        steps 10 .. 100  1 -> 0  cosine(90)
        """
        if self._units:
            raise self._unbound_error()
        rows = []
        for off, p in self.segments():
            d = p.duration
            span = f"{fmt(off)} .. {fmt(off + d) if d is not None else 'inf'}"
            v1 = f"{p(d):.6g}" if d is not None else "(endless)"
            rows.append((span, f"{p(0):.6g} -> {v1}", str(p)))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        return "\n".join(f"steps {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows)

    # -- operators ----------------------------------------------------------
    def __rshift__(self, other: Any) -> Schedule:
        if not isinstance(other, Schedule):
            return NotImplemented
        return sequence([self, other])

    def __mul__(self, other: Any) -> Schedule:
        return mul(self, other) if _operand(other) else NotImplemented

    def __rmul__(self, other: Any) -> Schedule:
        return mul(other, self) if _operand(other) else NotImplemented

    def __add__(self, other: Any) -> Schedule:
        return add(self, other) if _operand(other) else NotImplemented

    def __radd__(self, other: Any) -> Schedule:
        return add(other, self) if _operand(other) else NotImplemented


def _operand(v: Any) -> bool:
    return isinstance(v, Schedule) or (isinstance(v, numbers.Real) and not isinstance(v, bool))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    return a == b


# ------------------------------------------------------- schedule-valued kinds
class Inner(Kind):
    """A field holding one schedule."""

    def check(self, where, param, v):
        if not isinstance(v, Schedule):
            raise fail(where, param, "a schedule", v)
        return v

    def units(self, v):
        return v.units

    def rests(self, v):
        return v.rest_count()

    def bind(self, v, env, where):
        return v._bind(env)

    def children(self, v):
        return (v,)


class Phases(Inner):
    """A non-empty list of schedules, nested sequences flattened."""

    def check(self, where, param, v):
        if isinstance(v, Schedule) or not isinstance(v, (list, tuple)):
            raise fail(where, param, "a list of schedules", v)
        if len(v) == 0:
            raise fail(where, param, "a non-empty list of schedules", v)
        flat: list = []
        for i, p in enumerate(v):
            flat.extend(super().check(where, f"{param}[{i}]", p)._as_phases())
        return tuple(flat)

    def units(self, v):
        return frozenset().union(*(p.units for p in v))

    def rests(self, v):
        return sum(p.rest_count() for p in v)

    def bind(self, v, env, where):  # pragma: no cover - Sequence binds its phases itself
        raise NotImplementedError

    def children(self, v):
        return tuple(v)


class Operand(Inner):
    """A number >= 0 or a schedule (a side of ``*`` or ``+``), named ``word`` in messages."""

    def __init__(self, word: str) -> None:
        self.word = word

    def check(self, where, param, v):
        if isinstance(v, Schedule):
            return v
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise fail(where, self.word, "a number or a schedule", v)
        return number(where, self.word, v, ge=0)

    def units(self, v):
        return v.units if isinstance(v, Schedule) else frozenset()

    def rests(self, v):
        return v.rest_count() if isinstance(v, Schedule) else 0

    def bind(self, v, env, where):
        return v._bind(env) if isinstance(v, Schedule) else v

    def children(self, v):
        return (v,) if isinstance(v, Schedule) else ()



# ---------------------------------------------------------------- combinators
class sequence(Schedule):
    """Phases one after another: ``sequence([a, b])`` is ``a >> b``.

    ``a(t)`` for ``t < a.duration``, then ``b(t - a.duration)``: each phase
    sees its own local time from 0. Every phase but the last must be finite;
    durations add. A one-phase sequence is that phase.

    >>> import lrkit as lk
    >>> s = lk.sequence([lk.warmup(10), lk.constant(1.0, steps=10), lk.linear(10)])
    >>> s(5), s(15), s(25), s.duration
    (0.5, 1.0, 0.5, 30)
    """

    phases: Seq[Schedule] = arg(Phases())
    _prec = 1
    _offsets: ClassVar[list] = []  # each bound value sets these four (see _settle)
    _last: ClassVar[int] = 0
    _last_duration: ClassVar[Any] = None
    _end: ClassVar[Any] = None

    def _validate(self) -> None:
        for i, p in enumerate(self.phases[:-1]):
            if not p.is_finite:
                raise fail(self.name, f"phases[{i}]",
                           "finite (only the last phase may be endless: nothing follows a phase that never ends)", p)

    def _simplified(self) -> Schedule:
        return self.phases[0] if len(self.phases) == 1 else self

    def _as_phases(self) -> tuple[Schedule, ...]:
        return tuple(self.phases)

    def _settle(self) -> None:
        super()._settle()
        if not self._units:  # bound: phase starts, the end, and the last phase's length, once
            offsets: list = []
            acc: Any = 0
            for p in self.phases:
                offsets.append(acc)
                d = p.duration
                acc = acc + d if d is not None else acc
            last = self.phases[-1].duration
            self.__dict__.update(_offsets=offsets, _last=len(self.phases) - 1, _last_duration=last,
                                 _end=None if last is None else offsets[-1] + last)

    @property
    def is_finite(self) -> bool:
        return self.phases[-1].is_finite

    def offsets(self) -> list[float]:
        """Global step at which each phase starts."""
        if self._units:
            raise self._unbound_error()
        return list(self._offsets)

    def segments(self) -> list[tuple[float, Schedule]]:
        return list(zip(self.offsets(), self.phases))

    def _duration(self) -> Any:
        return self._end

    def _bind(self, env: Env) -> Schedule:
        if not self._units:
            return self
        fixed = [p._bind(env.within(None)) if p.rest_count() == 0 else None for p in self.phases]
        known = sum((p.duration or 0) for p in fixed if p is not None)
        avail = None if env.available is None else env.available - known
        return sequence([p if p is not None else q._bind(env.within(avail)) for p, q in zip(fixed, self.phases)])

    def _at(self, t, xp):
        return xp.select(t, self._offsets, self._branch)

    def _branch(self, i, t, xp):
        """Phase ``i`` at global steps ``t`` (its local time ``t - offset``)."""
        local = xp.maximum(t - self._offsets[i], 0.0) if i else t
        if i == self._last and self._end is not None:  # past the end: exactly the last phase's end
            local = xp.where(t >= self._end, self._last_duration, local)  # (t - offset may round below it)
        return self.phases[i]._at(local, xp)

    def __str__(self) -> str:
        return " >> ".join(_wrap(p, 1, strict=True) for p in self.phases)


def _wrap(x: Any, prec: int, strict: bool) -> str:
    text = str(x) if isinstance(x, Schedule) else fmt(x)
    p = x._prec if isinstance(x, Schedule) else 9
    return f"({text})" if (p <= prec if strict else p < prec) else text


class BinOp(Schedule):
    """``left op right`` pointwise, where either side may be a number >= 0."""

    op: ClassVar[str]
    combine: ClassVar[Any]  # the pointwise operator (operator.mul, operator.add)
    left: Any = arg(Operand("operand"))
    right: Any = arg(Operand("operand"))

    def _validate(self) -> None:
        if not isinstance(self.left, Schedule) and not isinstance(self.right, Schedule):
            raise SpecError(f"{self.name}(): left or right must be a schedule; "
                            f"got left={fmt(self.left)}, right={fmt(self.right)}")

    @property
    def is_finite(self) -> bool:
        return all(c.is_finite for c in self.children())

    def _duration(self) -> Any:
        ds: list[Any] = [c.duration for c in self.children()]
        return None if any(d is None for d in ds) else max(ds)

    def _at(self, t, xp):
        left = self.left._at(t, xp) if isinstance(self.left, Schedule) else self.left
        right = self.right._at(t, xp) if isinstance(self.right, Schedule) else self.right
        return type(self).combine(left, right)

    def __str__(self) -> str:
        return f"{_wrap(self.left, self._prec, False)} {self.op} {_wrap(self.right, self._prec, True)}"


class mul(BinOp, text=False):
    """``a * b``: the product, pointwise (``3e-4 * lk.cosine(10_000)`` is an absolute lr)."""

    left: Any = arg(Operand("factor"))
    right: Any = arg(Operand("factor"))
    op, combine, _prec = "*", staticmethod(operator.mul), 3


class add(BinOp, text=False):
    """``a + b``: the sum, pointwise (``0.1 + 0.9 * lk.cosine(100)`` ends at 0.1)."""

    left: Any = arg(Operand("offset"))
    right: Any = arg(Operand("offset"))
    op, combine, _prec = "+", staticmethod(operator.add), 2
