"""The pure core: every schedule family and combinator (numpy only)."""

from .base import Schedule, bound_schedule
from .basic import (
    constant, cosine, exponential, inverse_sqrt, inverse_time, linear, multistep, polynomial, step, warmup,
)
from .compose import noisy, restarts, sequence
from .cycles import cyclic, one_cycle, wsd
from .ops import NUMPY, Ops
from .shape import reciprocal, window
from .tables import interpolate, piecewise

__all__ = [
    "NUMPY", "Ops", "Schedule", "bound_schedule", "constant", "cosine", "cyclic", "exponential", "interpolate",
    "inverse_sqrt", "inverse_time", "linear", "multistep", "noisy", "one_cycle", "piecewise",
    "polynomial", "reciprocal", "restarts", "sequence", "step", "warmup", "window", "wsd",
]
