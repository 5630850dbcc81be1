"""Schedules built from schedules: sequence (``>>``), ``*`` / ``+``, restarts, noisy.

Each joined phase sees its own local time from 0 ("rescaled" time is only
used inside ``restarts``, which stretches its inner schedule onto each cycle).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from ..errors import SpecError
from .args import constructor, fail, fmt, number, one_of
from .base import Schedule, schedule_arg
from .ops import floor_div

__all__ = ["describe", "noisy", "restarts", "sequence"]


def _finite(s: Schedule) -> bool:
    """Structural finiteness: works before units are bound."""
    if isinstance(s, Sequence):
        return _finite(s.phases[-1])
    if isinstance(s, BinOp):
        return all(_finite(x) for x in (s.left, s.right) if isinstance(x, Schedule))
    if isinstance(s, Restarts):
        return s.cycles is not None
    if isinstance(s, Noisy):
        return _finite(s.inner)
    return s._duration() is not None


class Wrapper(Schedule):
    """A schedule built on one ``inner`` schedule: structure, binding and
    duration pass through to it unless the subclass says otherwise."""

    inner: Schedule

    def children(self):
        return (self.inner,)

    def _bind(self, env):
        return replace(self, inner=self.inner._bind(env)) if self.units else self

    def _duration(self):
        return self.inner.duration


@dataclass(frozen=True, repr=False)
class Sequence(Schedule):
    phases: tuple
    name = "sequence"
    _prec = 1

    def _check(self):
        ps = self.phases
        if isinstance(ps, Schedule) or not isinstance(ps, (list, tuple)):
            raise fail(self.name, "phases", "a list of schedules", ps)
        flat = []
        for i, p in enumerate(ps):
            if not isinstance(p, Schedule):
                raise fail(self.name, f"phases[{i}]", "a schedule", p)
            flat.extend(p.phases if isinstance(p, Sequence) else [p])
        for i, p in enumerate(flat[:-1]):
            if not _finite(p):
                raise fail(self.name, f"phases[{i}]",
                           "finite (only the last phase may be endless: nothing follows a phase that never ends)", p)
        self._set("phases", tuple(flat))

    def children(self):
        return self.phases

    def offsets(self) -> list[float]:
        """Global step at which each phase starts."""
        cached = self.__dict__.get("_offsets")
        if cached is None:
            cached, acc = [], 0
            for p in self.phases:
                cached.append(acc)
                d = p.duration
                acc = acc + d if d is not None else acc
            object.__setattr__(self, "_offsets", cached)
        return list(cached)

    def _duration(self):
        last = self.phases[-1].duration
        return None if last is None else self.offsets()[-1] + last

    def _bind(self, env):
        if not self.units:
            return self
        fixed = [p._bind(replace(env, available=None)) if p.rest_count() == 0 else None for p in self.phases]
        known = sum((p.duration or 0) for p in fixed if p is not None)
        avail = None if env.available is None else env.available - known
        bound = [p if p is not None else q._bind(replace(env, available=avail)) for p, q in zip(fixed, self.phases)]
        return Sequence(tuple(bound))

    def _at(self, t, xp):
        offs = self.offsets() + [math.inf]
        last, end = len(self.phases) - 1, self._duration()
        live, lo, hi = range(len(self.phases)), -math.inf, math.inf
        if getattr(xp, "eager", False) and getattr(t, "size", 1) > 0:  # concrete numbers (numpy):
            lo, hi = (float(t), float(t)) if np.ndim(t) == 0 else (float(t.min()), float(t.max()))
            live = [i for i in live if offs[i] <= hi and offs[i + 1] > lo] or [last]  # skip phases t misses
        value = None
        for i in reversed(live):
            local = t - offs[i] if offs[i] else t
            if lo < offs[i]:  # (known to be false for numpy when every t is in or past this phase)
                local = xp.maximum(local, 0.0)
            if i == last and end is not None and hi >= end:  # past the end: exactly the last phase's
                local = xp.where(t >= end, self.phases[i].duration, local)  # end; t - offset may round below
            local = self.phases[i].evaluate(local, xp)
            if value is not None and hi >= offs[i + 1]:
                local = xp.where(t < offs[i + 1], local, value)
            value = local
        return value

    def __str__(self):
        return " >> ".join(_wrap(p, 1, strict=True) for p in self.phases)


_OPS = {"*": ("mul", 3), "+": ("add", 2)}


def _wrap(x, prec: int, strict: bool) -> str:
    text = fmt(x) if not isinstance(x, Schedule) else str(x)
    p = x._prec if isinstance(x, Schedule) else 9
    return f"({text})" if (p <= prec if strict else p < prec) else text


@dataclass(frozen=True, repr=False)
class BinOp(Schedule):
    op: str
    left: object
    right: object

    @property
    def name(self):  # type: ignore[override]
        return _OPS[self.op][0]

    @property
    def _prec(self):  # type: ignore[override]
        return _OPS[self.op][1]

    def _check(self):
        if self.op not in _OPS:
            raise SpecError(f"unknown operator {self.op!r}; schedules combine with *, + and >>")
        word = "factor" if self.op == "*" else "offset"
        for side in ("left", "right"):
            v = getattr(self, side)
            if not isinstance(v, Schedule):  # e.g. "mul(): factor must be >= 0; got factor=-2"
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise fail(self.name, word, "a number or a schedule", v)
                self._set(side, number(self.name, word, v, ge=0))
        if not isinstance(self.left, Schedule) and not isinstance(self.right, Schedule):
            raise SpecError(f"{self.name}(): left or right must be a schedule; "
                            f"got left={fmt(self.left)}, right={fmt(self.right)}")

    def children(self):
        return tuple(x for x in (self.left, self.right) if isinstance(x, Schedule))

    def _duration(self):
        ds = [c.duration for c in self.children()]
        return None if any(d is None for d in ds) else max(ds)

    def _bind(self, env):
        if not self.units:
            return self
        side = lambda x: x._bind(env) if isinstance(x, Schedule) else x  # noqa: E731
        return BinOp(self.op, side(self.left), side(self.right))

    def _at(self, t, xp):
        a = self.left.evaluate(t, xp) if isinstance(self.left, Schedule) else self.left
        b = self.right.evaluate(t, xp) if isinstance(self.right, Schedule) else self.right
        return a * b if self.op == "*" else a + b

    def args(self):
        return [self.left, self.right], {}

    def __str__(self):
        prec = _OPS[self.op][1]
        return f"{_wrap(self.left, prec, False)} {self.op} {_wrap(self.right, prec, True)}"


@dataclass(frozen=True, repr=False)
class Restarts(Wrapper):
    inner: Schedule
    period_mult: float = 1.0
    decay: float = 1.0
    cycles: int | None = None
    name = "restarts"

    def _check(self):
        schedule_arg(self.name, "inner", self.inner)
        if not _finite(self.inner):
            raise fail(self.name, "inner", "finite (an endless schedule cannot be repeated)", self.inner)
        if self.inner.rest_count():
            raise fail(self.name, "inner", "free of 'rest' (a cycle cannot last what is left of the run; "
                       "give steps or a percentage)", self.inner)
        if self.inner.is_bound and not self.inner.duration > 0:
            raise fail(self.name, "inner", "longer than 0 steps (a cycle of 0 steps cannot repeat)", self.inner)
        self._set("period_mult", number(self.name, "period_mult", self.period_mult, ge=1))
        self._set("decay", number(self.name, "decay", self.decay, gt=0))
        if self.cycles is not None:
            c = number(self.name, "cycles", self.cycles, ge=1)
            if not float(c).is_integer():
                raise fail(self.name, "cycles", "a whole number >= 1", self.cycles)
            self._set("cycles", int(c))
            if self.inner.is_bound:
                try:
                    total = float(self._duration())
                except OverflowError:
                    total = math.inf
                if not math.isfinite(total):
                    raise fail(self.name, "cycles", "few enough for a finite total duration", self.cycles)

    def _duration(self):
        if self.cycles is None:
            return None
        d, m, n = self.inner.duration, self.period_mult, self.cycles
        return d * n if m == 1 else d * (m**n - 1) / (m - 1)

    def _cycle(self, t, xp):
        d, m = self.inner.duration, self.period_mult
        if m == 1:
            k = floor_div(t, d, xp)
        else:
            k = xp.floor(xp.log(1.0 + t * (m - 1) / d) / math.log(m))
            start = lambda k: d * (xp.power(m, k) - 1) / (m - 1)  # noqa: E731
            k = xp.where(t >= start(k + 1), k + 1, k)
            k = xp.where(t < start(k), k - 1, k)
        if self.cycles is not None:
            k = xp.minimum(k, self.cycles - 1)
        return k

    def _at(self, t, xp):
        d, m = self.inner.duration, self.period_mult
        k = self._cycle(t, xp)
        if m == 1:
            local = t - k * d
        else:
            local = (t - d * (xp.power(m, k) - 1) / (m - 1)) / xp.power(m, k)
        local = xp.minimum(xp.maximum(local, 0.0), d)
        if self.cycles is not None:  # past the end: exactly the last cycle's end (t - start may round below d)
            local = xp.where(t >= self._duration(), d, local)
        value = self.inner.evaluate(local, xp)
        return value if self.decay == 1 else value * xp.power(self.decay, k)


_MASK = 0xFFFFFFFF


def _mix(x):
    """A 32-bit integer hash (works on python ints and integer arrays alike)."""
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    x = (((x >> 16) ^ x) * 0x45D9F3B) & _MASK
    return (x >> 16) ^ x


@dataclass(frozen=True, repr=False)
class Noisy(Wrapper):
    inner: Schedule
    std: float
    seed: int = 0
    kind: str = "normal"
    name = "noisy"

    def _check(self):
        schedule_arg(self.name, "inner", self.inner)
        self._set("std", number(self.name, "std", self.std, ge=0))
        seed = number(self.name, "seed", self.seed, ge=0, lt=2**63)
        if not isinstance(seed, int):
            raise fail(self.name, "seed", "a whole number >= 0", self.seed)
        self._set("seed", seed)
        one_of(self.name, "kind", self.kind, ("normal", "uniform"))

    def _at(self, t, xp):
        d = self.inner.duration
        tt = t if d is None else xp.minimum(t, d)
        base = self.inner.evaluate(tt, xp)
        k = xp.floor(tt)
        hi = xp.floor(k / 4294967296.0)
        lo = k - hi * 4294967296.0
        key = _mix(_mix((self.seed >> 32) & _MASK) ^ (self.seed & _MASK) ^ 0x9E3779B9)
        h = _mix(xp.uint(lo) ^ _mix(xp.uint(hi) ^ key))
        u2 = xp.float(_mix(h ^ 0xB5297A4D)) / 4294967296.0
        if self.kind == "normal":
            u1 = (xp.float(_mix(h ^ 0x68E31DA4)) + 1.0) / 4294967296.0
            e = self.std * xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * xp.pi * u2)
        else:
            e = self.std * math.sqrt(3.0) * (2.0 * u2 - 1.0)
        return xp.maximum(base * (1.0 + e), 0.0)


@constructor
def sequence(phases) -> Schedule:
    """Phases one after another: ``sequence([a, b])`` is ``a >> b``.

    ``a(t)`` for ``t < a.duration``, then ``b(t - a.duration)``; every phase
    but the last must be finite; durations add. A one-phase sequence is that phase.

    >>> import lrkit as lk
    >>> s = lk.sequence([lk.warmup(10), lk.constant(1.0, steps=10), lk.linear(10)])
    >>> s(5), s(15), s(25), s.duration
    (0.5, 1.0, 0.5, 30)
    """
    if isinstance(phases, Schedule) or not isinstance(phases, (list, tuple)):
        raise fail("sequence", "phases", "a list of schedules", phases)
    if len(phases) == 0:
        raise fail("sequence", "phases", "a non-empty list of schedules", phases)
    if len(phases) == 1:
        return schedule_arg("sequence", "phases[0]", phases[0])
    return Sequence(tuple(phases))


@constructor
def restarts(inner, period_mult=1.0, decay=1.0, cycles=None) -> Schedule:
    """Repeat a finite ``inner``: cycle ``k`` lasts ``inner.duration * period_mult**k``
    steps, is ``inner`` stretched onto it, times ``decay**k``. Endless unless
    ``cycles`` is given; then the last cycle's end value is held.

    torch ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=m)`` is
    ``restarts(cosine(T_0, end=m), period_mult=T_mult)``.

    >>> import lrkit as lk
    >>> s = lk.restarts(lk.cosine(10), period_mult=2)
    >>> s(0), s(10), s(20), s(30)
    (1.0, 1.0, 0.5, 1.0)
    """
    return Restarts(inner, period_mult, decay, cycles)


@constructor
def noisy(inner, std, seed=0, kind="normal") -> Schedule:
    """``max(0, inner(t) * (1 + e))``, ``e`` drawn from ``(seed, floor(t))`` by a
    counter-based hash: the same on every run, rank and resume (timm's lr noise,
    as a pure function). ``kind`` "normal" (std ``std``) or "uniform" (on
    ``[-sqrt(3) std, sqrt(3) std]``, the same std). Past a finite end the final
    value (noise included) is held.

    >>> import lrkit as lk
    >>> s = lk.noisy(lk.constant(1.0), std=0.1, seed=1)
    >>> s(7) == s(7.5) == lk.parse(str(s))(7)
    True
    """
    return Noisy(inner, std, seed, kind)


def describe(s: Schedule) -> str:
    """One line per phase: ``start .. end  start value -> end value  phase``."""
    if not s.is_bound:
        raise s._unbound_error()
    phases = s.phases if isinstance(s, Sequence) else (s,)
    offs = s.offsets() if isinstance(s, Sequence) else [0]
    rows = []
    for off, p in zip(offs, phases):
        d = p.duration
        span = f"{fmt(off)} .. {fmt(off + d) if d is not None else 'inf'}"
        v1 = f"{p(d):.6g}" if d is not None else "(endless)"
        rows.append((span, f"{p(0):.6g} -> {v1}", str(p)))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"steps {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows)
