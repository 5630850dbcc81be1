"""The array namespace a schedule formula is written against.

A formula is written once, as ``_at(self, t, xp)``, using only the functions
below and Python arithmetic operators. ``xp`` is :data:`NUMPY` in the core;
the adapters pass namespaces with the same names over torch tensors, Keras
ops or ``jax.numpy`` (see ``lrkit.torch``, ``lrkit.keras``, ``lrkit.jax``).
No formula branches in Python on the value of ``t``: every choice on ``t`` is
an ``xp.where``, so formulas trace under ``jax.jit`` and ``torch.compile``.

Integer hashing (for deterministic noise) uses ``xp.uint`` / ``xp.float``
and the operators ``^ >> * &`` on values below 2**32; a namespace may use
64-bit integers (masking keeps products in range) or native uint32.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NUMPY", "NUMPY32", "Numpy32Ops", "NumpyOps", "Ops", "constant_power", "floor_div"]


class Ops:
    """Interface of an array namespace (documentation; adapters duck-type it)."""

    pi = math.pi

    def minimum(self, a, b): ...
    def maximum(self, a, b): ...
    def where(self, cond, a, b): ...
    def floor(self, x): ...
    def cos(self, x): ...
    def exp(self, x): ...
    def log(self, x): ...
    def sqrt(self, x): ...
    def power(self, a, b): ...
    def uint(self, x): ...  # non-negative integral float < 2**32 -> integer array
    def float(self, u): ...  # integer array -> float array


class NumpyOps(Ops):
    """float64 NumPy: the reference evaluation used by ``s(t)`` and ``s.values``.

    ``eager`` tells formulas that ``t`` holds concrete numbers, so a sequence
    may skip phases that no element of ``t`` falls in (never used to choose a
    value: results are the same either way).
    """

    eager = True

    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    where = staticmethod(np.where)
    floor = staticmethod(np.floor)
    cos = staticmethod(np.cos)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    power = staticmethod(np.power)

    @staticmethod
    def uint(x):
        return np.asarray(x).astype(np.uint64)

    @staticmethod
    def float(u):
        return np.asarray(u).astype(np.float64)


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

