"""What a range test returns: the curves, the suggestions and why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import SpecError
from . import heuristics as h
from .curve import Reading, read

__all__ = ["HEURISTICS", "MIN_POINTS", "READINGS", "RangeTestResult"]

MIN_POINTS = h.MIN_POINTS
READINGS = ("steepest", "valley", "min/10", "rise/4")   # read off the curve independently
HEURISTICS = (*READINGS, "edge/3")                      # and the default's, built from them
"""The names of :attr:`RangeTestResult.suggestions`: the four readings of the curve, then the default's ``edge/3``."""


def _suggest(lrs, losses, smoothed, smooth, completed: bool) -> tuple[dict, dict, Reading | None]:
    """Every heuristic's lr or reason, and the reading of the centred curve (None with too few points)."""
    if len(lrs) < MIN_POINTS:
        _, why = h.min_over_10(lrs, smoothed, smooth, completed=completed)   # "only n points ..."
        return dict.fromkeys(HEURISTICS), dict.fromkeys(HEURISTICS, why), None
    reading = read(lrs, losses, h.skip_count(len(lrs), smooth))
    found = {
        "steepest": h.steepest(lrs, smoothed, smooth),
        "valley": h.valley(lrs, smoothed, smooth),
        "min/10": h.min_over_10(lrs, smoothed, smooth, completed=completed),
        "rise/4": h.rise_over_4(lrs, reading),
    }
    if not reading.fell:
        flat = (None, f"{reading.flat()}; the sweep only shows where training blows up")
        found.update({k: flat for k in ("steepest", "valley", "min/10") if found[k][0] is not None})
    found["edge/3"] = h.edge_over_3({k: v for k, (v, _) in found.items()}, reading)
    return ({k: v for k, (v, _) in found.items()}, {k: why for k, (_, why) in found.items() if why}, reading)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).copy()
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False, repr=False)
class RangeTestResult:
    """The outcome of a learning-rate range test (immutable).

    - ``lrs``, ``losses``, ``smoothed``: the curve (float64, read-only), one
      entry per step kept (a NaN/inf loss stops the sweep and is not kept).
    - ``suggestions``: heuristic name -> lr for ``"steepest"``, ``"valley"``,
      ``"min/10"`` and ``"rise/4"``, each read off the curve, and ``"edge/3"``,
      a third of the edge they show (rules in :mod:`lrkit.finder.heuristics`);
      ``None`` when one cannot apply, and then ``reasons[name]`` says why.
    - ``suggestion`` / ``method``: the chosen lr and its heuristic's name:
      ``edge/3`` when the loss fell measurably (a third of the lower of
      ``steepest`` and ``rise/4`` when it fell by a third or more, of
      ``min/10`` when it fell less), ``rise/4`` when it never fell measurably
      (:func:`lrkit.finder.heuristics.choose`).
    - ``spread``: ``log10(max / min)`` of the four readings available, in
      decades: 0 when they agree, 1 when they are tenfold apart.
    - ``range``: ``(low, high)`` for one-cycle / cyclic schedules from the
      edge ``e = 3 x edge/3``: ``high = max(lr_rise / 3, e)`` with ``lr_rise``
      where the loss starts to rise (``2 x e`` when the loss fell by less than
      a third), ``low = high / 10`` (:func:`lrkit.finder.heuristics.lr_range`).
    - ``stopped_early``, ``reason``: why the sweep ended; ``reasons``: why a
      field is ``None`` (keys: the heuristics' names, ``"suggestion"``,
      ``"spread"``, ``"range"``).
    - ``start``, ``end``, ``steps``, ``mode``, ``smooth``, ``diverge``: the sweep.

    ``plot()`` draws it, ``one_cycle(steps)`` hands the range to a schedule,
    ``summary()`` and ``to_dict()`` report it.

    >>> import lrkit.finder as lf, numpy as np
    >>> rng = np.random.default_rng(0); w = np.ones(10)
    >>> def train_step(lr):
    ...     loss = 2 * w @ w
    ...     w[:] -= lr * (4 * w + rng.normal(size=10))
    ...     return loss
    >>> r = lf.range_test(train_step)
    >>> {k: round(v, 4) for k, v in r.suggestions.items()}
    {'steepest': 0.0792, 'valley': 0.0016, 'min/10': 0.0614, 'rise/4': 0.1057, 'edge/3': 0.0264}
    >>> r.method, round(r.spread, 2), tuple(round(x, 3) for x in r.range)
    ('edge/3', 1.82, (0.014, 0.141))
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestions: Mapping[str, float | None]
    suggestion: float | None
    method: str | None
    spread: float | None
    range: tuple[float, float] | None
    stopped_early: bool
    reason: str
    reasons: Mapping[str, str]
    start: float
    end: float
    steps: int
    mode: str
    smooth: float
    diverge: float

    @classmethod
    def build(cls, lrs, losses, smoothed, *, reason: str, stopped_early: bool, **sweep: Any) -> RangeTestResult:
        """Read the heuristics off a recorded curve (``range_test`` calls this);
        ``sweep`` holds ``start, end, steps, mode, smooth, diverge``."""
        lrs, losses, smoothed = _frozen(lrs), _frozen(losses), _frozen(smoothed)
        suggestions, reasons, reading = _suggest(lrs, losses, smoothed, sweep["smooth"], not stopped_early)
        method: str | None
        why: str | None
        if reading is None:
            method, why = None, "no heuristic applies (see the other reasons)"
        else:
            method, why = h.choose(suggestions, reading)
        if why:
            reasons["suggestion"] = why
        suggestion = suggestions[method] if method else None
        have = [v for k in READINGS if (v := suggestions[k]) is not None]
        spread = float(math.log10(max(have) / min(have))) if len(have) >= 2 else None
        if spread is None:
            reasons["spread"] = f"needs two or more suggestions; got {len(have)}"
        if reading is None:
            rng, why = None, "no suggestion to build it on"
        else:
            rng, why = h.lr_range(lrs, reading, h.edge(suggestions, reading)[0], completed=not stopped_early)
        if why:
            reasons["range"] = why
        return cls(lrs, losses, smoothed, MappingProxyType(suggestions), suggestion, method, spread, rng,
                   bool(stopped_early), reason, MappingProxyType(reasons), **sweep)

    def __repr__(self) -> str:
        sug = f"{self.suggestion:.3g} ({self.method})" if self.suggestion is not None else "None"
        rng = f"({self.range[0]:.3g}, {self.range[1]:.3g})" if self.range else "None"
        return (f"RangeTestResult(suggestion={sug}, range={rng}, points={len(self.lrs)}/{self.steps}, "
                f"reason={self.reason!r})")

    def summary(self) -> str:
        """A few lines for a terminal: the suggestion, each heuristic, the range, the stop."""
        lines = [f"suggested lr: {self.suggestion:.3g} ({self.method})" if self.suggestion is not None
                 else f"suggested lr: none ({self.reasons.get('suggestion')})"]
        for k in HEURISTICS:
            v = self.suggestions.get(k)
            lines.append(f"  {k:9s} {v:.3g}" if v is not None else f"  {k:9s} -  ({self.reasons[k]})")
        if self.spread is not None:
            lines.append(f"  spread    {self.spread:.2f} decades")
        lines.append(f"range: {self.range[0]:.3g} .. {self.range[1]:.3g}" if self.range
                     else f"range: none ({self.reasons['range']})")
        lines.append(f"sweep: {len(self.lrs)}/{self.steps} steps, {self.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The curve and the findings as JSON-ready Python values."""
        return {
            "lrs": self.lrs.tolist(), "losses": self.losses.tolist(), "smoothed": self.smoothed.tolist(),
            "suggestions": dict(self.suggestions), "suggestion": self.suggestion, "method": self.method,
            "spread": self.spread, "range": list(self.range) if self.range else None,
            "stopped_early": self.stopped_early, "reason": self.reason, "reasons": dict(self.reasons),
            "sweep": {"start": self.start, "end": self.end, "steps": self.steps, "mode": self.mode,
                      "smooth": self.smooth, "diverge": self.diverge},
        }

    def one_cycle(self, steps, **kw):
        """``lk.one_cycle(steps, peak=high, div_factor=high / low)`` from ``range``:
        an absolute lr rising from ``low`` to ``high`` over the first 30% of
        ``steps``, then annealing to ``low / 1e4``. Keywords go to
        ``lk.one_cycle`` and win (``div_factor=25`` for torch's default start).
        Drive an optimizer with it as is: ``lrkit.torch.Scheduler(opt, s, absolute=True)``.

        >>> import lrkit.finder as lf, numpy as np
        >>> rng = np.random.default_rng(0); w = np.ones(10)
        >>> def train_step(lr):
        ...     loss = 2 * w @ w
        ...     w[:] -= lr * (4 * w + rng.normal(size=10))
        ...     return loss
        >>> r = lf.range_test(train_step)
        >>> s = r.one_cycle(1000)
        >>> round(s(0) / r.range[0], 12), s(299) == r.range[1]
        (1.0, True)
        """
        from ..schedules import one_cycle

        if self.range is None:
            raise SpecError(f"RangeTestResult.one_cycle(): the range test gave no range: {self.reasons['range']}")
        low, high = self.range
        kw.setdefault("peak", high)
        kw.setdefault("div_factor", high / low)
        return one_cycle(steps, **kw)

    def plot(self, path: str | None = None, *, title: str | None = None):
        """Loss against lr (log axis): raw and smoothed, each suggestion marked,
        the chosen one bold, the range shaded. Writes a PNG to ``path`` and
        returns it; without ``path`` returns the matplotlib ``Figure``."""
        from .plotting import plot_result

        return plot_result(self, path, title=title)
