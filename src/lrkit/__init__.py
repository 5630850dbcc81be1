"""lrkit: learning-rate (and other hyperparameter) schedules as pure, composable values.

>>> import lrkit as lk
>>> s = lk.warmup(500) >> lk.cosine(9_500, end=0.01)
>>> s(0), s(500), s(10_000)
(0.0, 1.0, 0.01)
>>> lk.parse(str(s)) == s
True

``import lrkit`` imports numpy only; the adapters live in ``lrkit.torch``,
``lrkit.keras`` and ``lrkit.jax`` and import their framework themselves.
"""

from .errors import MissingDependencyError, SpecError, UnboundError
from .plateau import Plateau
from .schedules import (
    Schedule,
    constant,
    cosine,
    cyclic,
    exponential,
    interpolate,
    inverse_sqrt,
    inverse_time,
    linear,
    multistep,
    noisy,
    one_cycle,
    piecewise,
    polynomial,
    reciprocal,
    restarts,
    sequence,
    step,
    warmup,
    window,
    wsd,
)
from .spec import from_dict, parse, to_dict

__version__ = "0.2.0"

__all__ = [
    "MissingDependencyError",
    "Plateau",
    "Schedule",
    "SpecError",
    "UnboundError",
    "constant",
    "cosine",
    "cyclic",
    "exponential",
    "from_dict",
    "interpolate",
    "inverse_sqrt",
    "inverse_time",
    "linear",
    "multistep",
    "noisy",
    "one_cycle",
    "parse",
    "piecewise",
    "polynomial",
    "reciprocal",
    "restarts",
    "sequence",
    "step",
    "to_dict",
    "warmup",
    "window",
    "wsd",
]
