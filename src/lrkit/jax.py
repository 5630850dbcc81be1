"""JAX / optax adapter: an lrkit schedule as an optax ``count -> value`` function.

>>> import optax, lrkit as lk, lrkit.jax
>>> lr = lrkit.jax.schedule(lk.warmup(100) >> lk.cosine(900), base=1e-3)
>>> tx = optax.adamw(learning_rate=lr)
>>> [round(float(lr(t)), 9) for t in (0, 50, 100, 550, 1_000)]
[0.0, 0.0005, 0.001, 0.0005, 0.0]

The formula is the core's ``Schedule.evaluate`` run on ``jax.numpy``; this
module only supplies the array namespace (:class:`JaxOps`), so the function
traces under ``jax.jit`` and gives the NumPy values to float32 precision.
Any other optimizer hyperparameter is scheduled the same way through
``optax.inject_hyperparams`` (see ``docs/keras-jax.md``)::

    tx = optax.inject_hyperparams(optax.adamw)(
        learning_rate=lrkit.jax.schedule(lk.warmup(500) >> lk.cosine(9_500), base=1e-3),
        b1=lrkit.jax.schedule(lk.linear(1_000, start=0.85 / 0.95, end=1.0), base=0.95),
    )
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import fail, number
from .errors import MissingDependencyError
from .schedules import Schedule
from .schedules.ops import Ops, constant_power
from .spec import bound_schedule

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - exercised only without jax
    raise MissingDependencyError("jax", "jax") from exc

__all__ = ["JaxOps", "JaxSchedule", "ops", "schedule"]

_NAME = "lrkit.jax.schedule"


class JaxOps(Ops):
    """The array namespace of ``Schedule.evaluate`` over ``jax.numpy``.

    Values are ``dtype`` (float32 by default; float64 needs ``jax_enable_x64``),
    the noise hash is uint32. Python numbers meeting an array are weakly typed,
    so they take the array's dtype, with or without ``jax_enable_x64``.

    ``power(c, x)`` with a Python number ``c`` corrects for ``c`` being
    rounded to ``dtype``: ``c**x = r**x * exp(x * (log c - log r))``, ``r`` the
    rounded ``c``. Without it ``0.999**t`` in float32 is off by ``t * 6e-8``
    relative (1e-4 at ``t = 2000``); with it, by a few float32 ulps.

    >>> import jax.numpy as jnp, lrkit as lk
    >>> from lrkit.jax import ops
    >>> s = lk.warmup(10) >> lk.cosine(90)
    >>> s.evaluate(jnp.array([0.0, 5.0, 100.0]), ops).tolist()
    [0.0, 0.5, 0.0]
    """

    def __init__(self, dtype: Any = jnp.float32) -> None:
        self.dtype = jnp.dtype(dtype)

    minimum = staticmethod(jnp.minimum)
    maximum = staticmethod(jnp.maximum)
    where = staticmethod(jnp.where)
    floor = staticmethod(jnp.floor)
    cos = staticmethod(jnp.cos)
    exp = staticmethod(jnp.exp)
    log = staticmethod(jnp.log)
    sqrt = staticmethod(jnp.sqrt)

    def power(self, a, b):
        if _const(a) and not _const(b) and a > 0:
            return constant_power(a, b, float(np.asarray(a, dtype=self.dtype)), jnp.power, jnp.exp)
        return jnp.power(a, b)

    def uint(self, x):
        return U32(jnp.asarray(x).astype(jnp.uint32))

    def float(self, u):
        return u.array.astype(self.dtype)


ops = JaxOps()
"""The float32 namespace: ``schedule.evaluate(jnp.arange(10.0), ops)`` evaluates on JAX arrays."""


class U32:
    """A uint32 array for the noise hash, with ``^ & * >>`` (wrapping mod 2**32).

    Python ints are made uint32 before they meet the array: JAX alone would
    read them as int32, which ``0x9E3779B9`` overflows.
    """

    __slots__ = ("array",)

    def __init__(self, array) -> None:
        self.array = array

    @staticmethod
    def _arg(other):
        return other.array if isinstance(other, U32) else jnp.uint32(other)

    def __xor__(self, other):
        return U32(self.array ^ self._arg(other))

    def __and__(self, other):
        return U32(self.array & self._arg(other))

    def __mul__(self, other):
        return U32(self.array * self._arg(other))

    def __rshift__(self, other):
        return U32(self.array >> self._arg(other))

    __rxor__, __rand__, __rmul__ = __xor__, __and__, __mul__


def _const(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


@dataclass(frozen=True)
class JaxSchedule:
    """``count -> base * schedule(count)`` on ``jax.numpy``: what :func:`schedule` returns.

    Callable with a Python number, a NumPy or JAX array (any shape: one value
    per element) or a tracer, so it works as optax's ``learning_rate`` and
    under ``jax.jit`` / ``jax.vmap``. Concrete counts are checked (``>= 0``);
    traced ones cannot be. Equal when schedule, base and dtype are equal.
    """

    schedule: Schedule
    base: float = 1e-3
    dtype: Any = jnp.float32
    _ops: JaxOps = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ops", JaxOps(self.dtype))

    def __call__(self, count):
        """``base * schedule(count)`` in ``dtype``: one value per element of ``count`` (an int, an array of
        counts, or a traced value under ``jax.jit``). A NaN or negative concrete count is an error."""
        concrete = isinstance(count, (numbers.Real, np.ndarray)) and not isinstance(count, bool)
        if concrete and (np.any(np.isnan(count)) or np.any(np.asarray(count) < 0)):
            raise fail(_NAME, "count", "a step >= 0", count if isinstance(count, numbers.Real) else count.tolist())
        xp = self._ops
        t = jnp.asarray(count).astype(xp.dtype)
        return (self.schedule.evaluate(t, xp) * self.base).astype(xp.dtype)

    def __repr__(self) -> str:
        dt = "" if jnp.dtype(self.dtype) == jnp.float32 else f", dtype={jnp.dtype(self.dtype).name}"
        return f"lrkit.jax.schedule({str(self.schedule)!r}, base={self.base!r}{dt})"


def schedule(schedule: Schedule | str, base: float = 1e-3, *, total_steps: float | None = None,
             steps_per_epoch: float | None = None, dtype: Any = jnp.float32) -> JaxSchedule:
    """An optax schedule: ``count -> base * schedule(count)``, traceable by ``jax.jit``.

    ``schedule`` is an lrkit schedule or its text form; ``base`` the value it
    multiplies (``base=1.0`` when the schedule is already absolute, e.g.
    ``3e-4 * lk.cosine(10_000)``). ``total_steps`` / ``steps_per_epoch`` bind
    run-relative durations (``"10%"``, ``"rest"``, ``"5ep"``). ``dtype`` is the
    value's dtype: float32, or float64 when ``jax_enable_x64`` is on. The
    count is optax's: updates taken so far, ``0`` for the first update.

    >>> import lrkit as lk, lrkit.jax
    >>> lr = lrkit.jax.schedule("warmup('10%') >> cosine('rest')", base=0.1, total_steps=1_000)
    >>> lr.schedule
    warmup(100) >> cosine(900)
    >>> [round(float(v), 6) for v in lr(np.array([0, 50, 100, 550, 1_000]))]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    """
    s = bound_schedule(_NAME, schedule, total_steps, steps_per_epoch)
    base = float(number(_NAME, "base", base, gt=0))
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise fail(_NAME, "dtype", "a float dtype such as jnp.float32", dtype) from None
    if not jnp.issubdtype(dt, jnp.floating):
        raise fail(_NAME, "dtype", "a float dtype such as jnp.float32", dtype)
    if dt == jnp.float64 and not jax.config.read("jax_enable_x64"):
        raise fail(_NAME, "dtype", "float32 unless jax_enable_x64 is on (JAX would silently use float32)", dtype)
    return JaxSchedule(s, base, dt)
