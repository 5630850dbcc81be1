"""Checking steps and evaluating many of them: ``s(t)``'s argument, ``s.values(ts)``.

No state survives a call: large arrays are cut into cache-sized chunks that
a thread pool made for the call (and closed with it) spreads over the cores,
so nothing is left behind to break in a forked child.
"""

from __future__ import annotations

import math
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..checks import fmt
from ..errors import SpecError
from .ops import NUMPY, NUMPY32

__all__ = ["HUGE_STEP", "at_infinity", "check_steps", "scalar_step", "values_of"]

_CHUNK = 1 << 16


HUGE_STEP = 2**1023  # an integer step beyond this is as far as inf (float64 tops out just above 2**1023)
_NUMPY_REALS = frozenset(np.dtype(code).type for code in "bBhHiIlLqQefd")  # numpy's ints and floats, not bool


def scalar_step(t: Any, s: Any) -> float:  # noqa: C901 - each step type in cost order, cheapest first (the hot path)
    """One step as a Python float: any real number, or a 0-d array or tensor (NumPy, torch, JAX).

    The steps loops pass (``int``, numpy ints and floats, 0-d tensors) are recognised by
    their exact type first: ``isinstance(t, numbers.Real)`` is an ABC check that costs
    more than the formula. Anything else takes the general checks below them.

    >>> import numpy as np
    >>> scalar_step(7, None), scalar_step(np.int64(7), None), scalar_step(np.array(7.5), None)
    (7.0, 7.0, 7.5)
    """
    kind = type(t)
    if kind is int:
        return float(t) if abs(t) <= HUGE_STEP else (math.inf if t > 0 else -math.inf)
    if kind in _NUMPY_REALS:
        return float(t)
    if getattr(t, "ndim", None) == 0:  # a 0-d array or tensor: its number, if plain
        try:
            v = t.item()  # cheaper than float(t) on a tensor, and a bool stays a bool
        except Exception:  # no item(), or a jax tracer: the checks below say what is wrong
            v = None
        if type(v) is float:
            return v
        if type(v) is int:
            return scalar_step(v, s)
    if kind is bool or "bool" in str(getattr(t, "dtype", "")):  # True, np.True_, a bool array or tensor
        raise SpecError(f"step t must be a real number >= 0; got t={t!r}")
    if getattr(t, "ndim", None) == 0 and hasattr(t, "__float__"):
        try:  # a 0-d array or tensor: np.array(7), torch.tensor(700), jnp.array(7.0)
            return float(t)
        except Exception:  # e.g. a jax tracer: no concrete value to take
            raise SpecError(f"step t must be a concrete number >= 0; got t={t!r}; inside jax.jit or "
                            f"torch.compile use s.evaluate(t, ops) or the framework adapter (evaluating {s})") from None
    if isinstance(t, numbers.Real):  # Fraction, an int subclass, any other registered real
        if isinstance(t, numbers.Integral) and abs(int(t)) > HUGE_STEP:
            return math.inf if int(t) > 0 else -math.inf
        return float(t)
    if getattr(t, "ndim", 0):
        raise SpecError(f"step t must be a single real number >= 0 (s.values(ts) takes arrays); "
                        f"got t of shape {tuple(t.shape)} (evaluating {s})")
    raise SpecError(f"step t must be a real number >= 0; got t={t!r}")


def at_infinity(s: Any) -> float:
    """The step that stands for ``t = inf``: the end of a finite schedule (an endless one has none)."""
    d = s.duration
    if d is None:
        raise SpecError(f"step t must be finite for an endless schedule; got t=inf (evaluating {s})")
    return float(d)


def check_steps(t: np.ndarray, s: Any) -> np.ndarray:
    """``t`` checked (``>= 0``, no NaN; ``inf`` only for a finite schedule, as its end)."""
    if t.size == 0:
        return t
    if not (t >= 0).all():
        if np.isnan(t).any():
            raise SpecError(f"step t must be a real number >= 0, not NaN (evaluating {s})")
        raise SpecError(f"step t must be >= 0; got t={fmt(float(np.min(t)))} (evaluating {s})")
    if t.max() == np.inf:
        return np.minimum(t, at_infinity(s))
    return t


def values_of(s: Any, ts: Any, dtype: Any) -> np.ndarray:
    """``s`` at every step of ``ts``, in ``dtype`` (float64 or float32), same shape as ``ts``."""
    dt = np.dtype(dtype)
    if dt not in (np.float64, np.float32):
        raise SpecError(f"values(): dtype must be float64 or float32; got dtype={dt}")
    t = np.asarray(ts, dtype=np.float64)
    t = t.astype(dt, order="C", copy=False)  # strided input would take numpy's non-SIMD kernels: other rounding
    out = np.empty(t.shape, dtype=dt)
    flat_t, flat_out = check_steps(t.reshape(-1), s), out.reshape(-1)
    xp = NUMPY if dt == np.float64 else NUMPY32

    def fill(i: int) -> None:
        with np.errstate(all="ignore"):
            flat_out[i:i + _CHUNK] = s._at(flat_t[i:i + _CHUNK], xp)

    starts = range(0, flat_t.size, _CHUNK)
    workers = min(len(starts), _cores())
    if workers <= 1:
        for i in starts:
            fill(i)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lrkit-values") as pool:
            list(pool.map(fill, starts))  # numpy releases the GIL; the pool ends with the call
    return out


def _cores() -> int:
    try:
        return min(8, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return min(8, os.cpu_count() or 1)
