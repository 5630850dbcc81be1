"""The array namespace a schedule formula is written against.

A formula is written once, as ``_at(self, t, xp)``, using only the functions
below and Python arithmetic operators. ``xp`` is :data:`NUMPY` for arrays
(``s.values``), the tracer of :mod:`.scalar` for one Python number (``s(t)``); the
adapters pass namespaces with the same names over torch tensors, Keras ops or
``jax.numpy`` (see ``lrkit.torch``, ``lrkit.keras``, ``lrkit.jax``).
No formula branches in Python on the value of ``t``: every choice on ``t`` is
an ``xp.where`` (or an ``xp.select`` between phases), so formulas trace under
``jax.jit`` and ``torch.compile``.

Integer hashing (for deterministic noise) uses ``xp.uint`` / ``xp.float``
and the operators ``^ >> * &`` on values below 2**32; a namespace may use
64-bit integers (masking keeps products in range) or native uint32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["NUMPY", "NUMPY32", "Ops", "constant_power", "floor_div"]


class Ops:
    """Interface of an array namespace. Adapters subclass it (or duck-type it);
    :meth:`select` has a ``where``-based default that traces under any compiler."""

    pi = math.pi

    def _missing(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement this array function")

    minimum: Any = _missing
    maximum: Any = _missing
    where: Any = _missing
    floor: Any = _missing
    cos: Any = _missing
    exp: Any = _missing
    log: Any = _missing
    sqrt: Any = _missing
    power: Any = _missing
    uint: Any = _missing  # non-negative integral float < 2**32 -> integer array
    float: Any = _missing  # integer array -> float array

    def select(self, t: Any, starts: Sequence[Any], branch: Callable[[int, Any, Any], Any]) -> Any:
        """``branch(i, t, self)`` where ``starts[i] <= t < starts[i+1]`` (``starts[0] == 0``).

        Every branch is computed on all of ``t`` and the results are merged
        with ``where``: no Python branch on ``t``.
        """
        value = branch(len(starts) - 1, t, self)
        for i in range(len(starts) - 2, -1, -1):
            value = self.where(t < starts[i + 1], branch(i, t, self), value)
        return value


class NumpyOps(Ops):
    """float64 NumPy on arrays: what ``s.values(ts)`` evaluates.

    :meth:`select` computes each branch only on the elements that fall in it.
    """

    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    where = staticmethod(np.where)
    floor = staticmethod(np.floor)
    cos = staticmethod(np.cos)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def power(a, b):
        """``a ** b``, always by NumPy's general kernel: a scalar exponent is spread to an
        array first (NumPy takes shortcuts for a scalar 2, 0.5 or -1 that round differently)."""
        if np.ndim(b) == 0:
            b = np.full(np.shape(a), b, dtype=getattr(a, "dtype", np.float64))
        return np.power(a, b)

    @staticmethod
    def uint(x):
        return np.asarray(x).astype(np.uint64)

    @staticmethod
    def float(u):
        return np.asarray(u).astype(np.float64)

    def select(self, t, starts, branch):
        t = np.asarray(t)
        which = np.searchsorted(np.asarray(starts, dtype=np.float64), t, side="right") - 1
        first = int(which.min()) if which.size else 0
        if which.size == 0 or first == int(which.max()):  # one phase: no gather / scatter
            v = branch(max(first, 0), t, self)
            return v if np.shape(v) == t.shape else np.broadcast_to(v, t.shape)
        out = np.empty_like(t)
        for i in range(first, int(which.max()) + 1):
            mask = which == i
            if mask.any():
                out[mask] = branch(i, t[mask], self)
        return out


class Numpy32Ops(NumpyOps):
    """float32 NumPy: a fast preview (``s.values(ts, dtype=np.float32)``)."""

    @staticmethod
    def float(u):
        return np.asarray(u).astype(np.float32)


NUMPY = NumpyOps()
NUMPY32 = Numpy32Ops()


def floor_div(t, size, xp):
    """``floor(t / size)``, exact at multiples of ``size`` even where ``t / size`` is
    computed as ``t * (1 / size)`` (XLA under ``jax.jit``, float32): one step late otherwise."""
    k = xp.floor(t / size)
    k = xp.where((k + 1.0) * size <= t, k + 1.0, k)
    return xp.where(k * size > t, k - 1.0, k)


def constant_power(c: float, x, rounded: float, power, exp):
    """``c ** x`` for a Python number ``c > 0`` in a namespace of lower precision.

    ``rounded`` is ``c`` as the array dtype holds it; ``power`` and ``exp``
    are the namespace's own. ``c**x = r**x * exp(x * (log c - log r))``:
    without the correction ``0.999**t`` in float32 drifts by ``t * 6e-8``
    relative (1e-4 at ``t = 2000``); with it, by a few ulps. The adapters'
    namespaces (torch, Keras, JAX) use this for ``power(constant, array)``.

    >>> import numpy as np
    >>> r = float(np.float32(0.999))
    >>> got = constant_power(0.999, np.float32(2000), r, np.power, np.exp)
    >>> bool(abs(got / 0.999 ** 2000 - 1) < 1e-6)
    True
    """
    out = power(rounded, x)
    return out if rounded == c else out * exp(x * (math.log(c) - math.log(rounded)))
