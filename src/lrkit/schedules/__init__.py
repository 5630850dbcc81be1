"""The pure core: every schedule family and combinator (numpy only).

Each family is one class (:mod:`.fields` explains the declaration); calling
it checks the arguments and returns an immutable value.
"""

from .base import Schedule, sequence
from .basic import (
    constant,
    cosine,
    exponential,
    inverse_sqrt,
    inverse_time,
    linear,
    multistep,
    polynomial,
    step,
    warmup,
)
from .compose import noisy, restarts
from .cycles import cyclic, one_cycle, wsd
from .fields import FAMILIES, REGISTRY
from .ops import NUMPY, Ops
from .shape import reciprocal, window
from .tables import interpolate, piecewise

__all__ = [
    "FAMILIES", "NUMPY", "Ops", "REGISTRY", "Schedule", "constant", "cosine", "cyclic", "exponential",
    "interpolate", "inverse_sqrt", "inverse_time", "linear", "multistep", "noisy", "one_cycle", "piecewise",
    "polynomial", "reciprocal", "restarts", "sequence", "step", "warmup", "window", "wsd",
]
