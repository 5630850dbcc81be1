"""The :class:`Schedule` base class.

A schedule is an immutable value: a frozen dataclass whose fields are its
constructor's arguments. Its one formula, ``_at(t, xp)``, is evaluated for
Python floats and NumPy arrays (``xp`` = NumPy) and, through the adapters, for
torch tensors, Keras ops and ``jax.numpy`` arrays. Argument checks live in
:mod:`.args`, run-relative durations in :mod:`.units`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, ClassVar

import numpy as np

from ..errors import SpecError, UnboundError
from .args import (  # noqa: F401
    REGISTRY,
    ListArg,
    constructor,
    duration,
    fail,
    fmt,
    number,
    one_of,
    show,
)
from .ops import NUMPY, NUMPY32, floor_div  # noqa: F401
from .units import Env as _Env  # noqa: F401
from .units import resolve as _resolve
from .units import unit_kinds as _unit_kinds

__all__ = ["Schedule", "bound_schedule", "schedule_arg"]


def schedule_arg(ctor: str, param: str, v: Any, *, finite: bool = False) -> "Schedule":
    if not isinstance(v, Schedule):
        raise fail(ctor, param, "a schedule", v)
    if finite and v.is_bound and v.duration is None:
        raise fail(ctor, param, "finite (an endless schedule has no end to stretch or follow)", v)
    return v


# ------------------------------------------------------------------ Schedule
_CHUNK = 1 << 16
_POOL = None


def _pool():
    """Worker threads for large ``values()`` calls (numpy releases the GIL)."""
    global _POOL
    if _POOL is None:
        import os
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)),
                                   thread_name_prefix="lrkit-values")
    return _POOL


class Schedule:
    """Base class of every schedule: a pure function of the step ``t >= 0``.

    Subclasses are frozen dataclasses; ``name`` is the constructor's name,
    ``_durations`` the fields holding durations (numbers or unit strings).
    """

    name: ClassVar[str] = "schedule"
    _durations: ClassVar[tuple[str, ...]] = ()
    _prec: ClassVar[int] = 9  # printing precedence: atoms bind tightest
    _renamed: ClassVar[dict[str, str]] = {}  # field -> constructor parameter, where they differ
    _positional: ClassVar[tuple[str, ...]] = ()  # optional fields still printed by position

    # -- construction -----------------------------------------------------
    def __post_init__(self) -> None:
        self._check()
        kinds: set[str] = set()
        for f in self._durations:
            kinds |= _unit_kinds(getattr(self, f))
        for child in self.children():
            kinds |= child.units
        object.__setattr__(self, "_units", frozenset(kinds))
        if self.rest_count() > 1:
            raise SpecError(f"{self.name}(): at most one 'rest' duration per schedule; got {self}")

    def _check(self) -> None:
        """Validate and normalise fields (override); raise ``SpecError``."""

    def _set(self, field: str, value: Any) -> None:
        object.__setattr__(self, field, value)

    def children(self) -> tuple["Schedule", ...]:
        """The schedules this one is built from (none for a primitive)."""
        return ()

    # -- evaluation ---------------------------------------------------------
    def _at(self, t, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, t, xp=NUMPY):
        """The formula on an array ``t`` (already checked ``>= 0``) in namespace ``xp``.

        Adapters call this with their own namespace (torch, Keras, jax.numpy);
        it contains no Python branch on ``t`` and traces under ``jax.jit``.
        """
        if self._units:
            raise self._unbound_error()
        return self._at(t, xp)

    def __call__(self, t) -> float:
        """The value at step ``t`` (a real number >= 0) as a python float."""
        if self._units:
            raise self._unbound_error()
        if type(t) is not float:
            t = float(_as_step(t))
        if not t >= 0:
            raise SpecError(f"step t must be a real number >= 0; got t={fmt(t)} (evaluating {self})")
        if t == math.inf:
            t = float(_check_steps(np.array([t]), self)[0])
        with np.errstate(all="ignore"):  # a 1-element array, not a scalar: numpy's array kernels
            return float(self._at(np.array([t]), NUMPY)[0])  # (SIMD pow, exp, ...) round like values()

    def values(self, ts, dtype=np.float64) -> np.ndarray:
        """The values at every step of ``ts`` (any array-like), as a float64 array.

        ``dtype=np.float32`` evaluates in single precision: a fast preview
        (plots of millions of steps), values to float32 precision.

        Vectorised: the formula runs over whole arrays, no Python loop per step
        (large arrays are cut into cache-sized chunks, spread over the CPU
        cores; every element is computed by the same operations, so
        ``s.values(ts)[i] == s(ts[i])`` exactly).
        """
        if self._units:
            raise self._unbound_error()
        dt = np.dtype(dtype)
        if dt not in (np.float64, np.float32):
            raise SpecError(f"values(): dtype must be float64 or float32; got dtype={dt}")
        t = np.asarray(ts, dtype=np.float64)
        t = t.astype(dt, order="C", copy=False)  # strided input would take numpy's non-SIMD kernels: other rounding
        out = np.empty(t.shape, dtype=dt)
        flat_t, flat_out = t.reshape(-1), out.reshape(-1)
        n = flat_t.size
        if n <= _CHUNK:
            self._values_into(flat_t, flat_out)
            return out
        starts = range(0, n, _CHUNK)
        pool = _pool()
        jobs = [pool.submit(self._values_into, flat_t[i:i + _CHUNK], flat_out[i:i + _CHUNK]) for i in starts]
        for job in jobs:
            job.result()
        return out

    def _values_into(self, t: np.ndarray, out: np.ndarray) -> None:
        t = _check_steps(t, self)
        with np.errstate(all="ignore"):
            out[...] = self._at(t, NUMPY if t.dtype == np.float64 else NUMPY32)

    # -- structure ----------------------------------------------------------
    @property
    def units(self) -> frozenset:
        """Run-relative units used anywhere in the schedule: subset of {'ep', '%', 'rest'}."""
        return self._units

    @property
    def is_bound(self) -> bool:
        """True when every duration is in steps (nothing left for ``bind``)."""
        return not self._units

    @property
    def duration(self) -> float | None:
        """Number of steps until the final value is reached, or None if endless."""
        if self._units:
            raise self._unbound_error()
        return self._duration()

    def _duration(self) -> float | None:
        return None

    def rest_count(self) -> int:
        own = sum(1 for f in self._durations if "rest" in _flat(getattr(self, f)))
        return own + sum(c.rest_count() for c in self.children())

    def bind(self, total_steps: float | None = None, steps_per_epoch: float | None = None) -> "Schedule":
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
        return self._bind(_Env(total_steps, steps_per_epoch, total_steps))

    def _bind(self, env: _Env) -> "Schedule":
        if not self._units:
            return self
        changes = {}
        for f in self._durations:
            v = getattr(self, f)
            where = f"{self.name}().{f}"
            if isinstance(v, tuple):
                changes[f] = type(v)(_resolve(x, env, where) for x in v)
            else:
                changes[f] = _resolve(v, env, where)
        return dataclasses.replace(self, **changes)

    def _unbound_error(self) -> UnboundError:
        need = []
        if self._units & {"%", "rest"}:
            need.append("total_steps=...")
        if "ep" in self._units:
            need.append("steps_per_epoch=...")
        used = ", ".join(repr(u) for u in sorted(self._units))
        return UnboundError(
            f"{self} uses run-relative durations ({used}); bind it to a run first: "
            f"s.bind({', '.join(need)}) (adapters do this when given the run length)"
        )

    # -- text form ----------------------------------------------------------
    def args(self) -> tuple[list, dict]:
        """(positional, keyword) arguments of the canonical constructor call."""
        pos, kw = [], {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required or (f.name in self._positional and not kw and not _same(v, f.default)):
                pos.append(v)
            elif not _same(v, f.default):
                kw[self._renamed.get(f.name, f.name)] = v
        return pos, kw

    def __str__(self) -> str:
        pos, kw = self.args()
        parts = [fmt(v) for v in pos] + [f"{k}={fmt(v)}" for k, v in kw.items()]
        return f"{self.name}({', '.join(parts)})"

    def __repr__(self) -> str:
        return str(self)

    def to_dict(self) -> dict:
        """The JSON/YAML form: ``{"type": name, **non-default arguments}``."""
        from ..spec import to_dict

        return to_dict(self)

    def describe(self) -> str:
        """One line per phase: step range, start value -> end value, and the phase."""
        from .compose import describe

        return describe(self)

    # -- operators ----------------------------------------------------------
    def __rshift__(self, other):
        if not isinstance(other, Schedule):
            return NotImplemented
        from .compose import sequence

        return sequence([self, other])

    def __mul__(self, other):
        return _binop("*", self, other)

    def __rmul__(self, other):
        return _binop("*", other, self)

    def __add__(self, other):
        return _binop("+", self, other)

    def __radd__(self, other):
        return _binop("+", other, self)


def _binop(op, left, right):
    for side in (left, right):
        if not isinstance(side, Schedule) and (isinstance(side, bool) or not isinstance(side, numbers.Real)):
            return NotImplemented
    from .compose import BinOp

    return BinOp(op, left, right)


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    return a == b


def _flat(v):
    if isinstance(v, tuple):
        out = []
        for x in v:
            out.extend(_flat(x))
        return out
    return [v]


def _as_step(t):
    if isinstance(t, np.ndarray) and t.ndim == 0:
        t = t[()]
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise SpecError(f"step t must be a real number >= 0; got t={t!r}")
    if isinstance(t, numbers.Integral) and abs(t) > 2**1023:  # beyond float64: as far as inf
        return math.inf if t > 0 else -math.inf
    return t


def _check_steps(t: np.ndarray, s: Schedule) -> np.ndarray:
    if t.size == 0:
        return t
    if not (t >= 0).all():
        if np.isnan(t).any():
            raise SpecError(f"step t must be a real number >= 0, not NaN (evaluating {s})")
        bad = float(np.min(t))
        raise SpecError(f"step t must be >= 0; got t={fmt(bad)} (evaluating {s})")
    if t.max() == np.inf:
        if s.is_bound and s.duration is not None:
            return np.minimum(t, s.duration)
        raise SpecError(f"step t must be finite for an endless schedule; got t=inf (evaluating {s})")
    return t


def bound_schedule(ctor: str, schedule: Any, total_steps: Any = None, steps_per_epoch: Any = None,
                   where: str = "schedule") -> "Schedule":
    """``schedule`` (a Schedule or its text) checked and bound to the run, for the adapters.

    Errors name the adapter (``ctor``) and what to pass:
    ``Scheduler(): schedule cosine('rest') uses run-relative durations ('rest');
    pass Scheduler(..., total_steps=...) to bind them``.
    """
    if isinstance(schedule, str):
        from ..spec import parse

        schedule = parse(schedule)
    if not isinstance(schedule, Schedule):
        raise fail(ctor, where, "an lrkit schedule or its text form", schedule)
    if total_steps is not None:
        total_steps = number(ctor, "total_steps", total_steps, gt=0)
    if steps_per_epoch is not None:
        steps_per_epoch = number(ctor, "steps_per_epoch", steps_per_epoch, gt=0)
    need = []
    if schedule.units & {"%", "rest"} and total_steps is None:
        need.append("total_steps=...")
    if "ep" in schedule.units and steps_per_epoch is None:
        need.append("steps_per_epoch=...")
    if need:
        used = ", ".join(repr(u) for u in sorted(schedule.units))
        raise UnboundError(f"{ctor}(): {where} {schedule} uses run-relative durations ({used}); "
                           f"pass {ctor}(..., {', '.join(need)}) to bind them")
    return schedule.bind(total_steps=total_steps, steps_per_epoch=steps_per_epoch)
