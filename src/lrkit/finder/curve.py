"""The range-test curve read without lag: a centred smoothing, its noise, its bottom and where it rises.

The debiased moving average that the sweep keeps (``smoothed``) must be causal
to stop the sweep in time, and it lags: at ``smooth=0.98`` the newest loss
weighs 2% and the curve trails the raw loss by tens of steps, several decades
of a default sweep. Once the sweep is over nothing needs to be causal, so the
rules that locate *where* the loss bottoms out and starts to rise read a
centred curve instead:

- ``centred``: a running median of ``2m + 1`` points (spikes out), then the
  mean over the points within ``HALF_WIDTH`` (1/4) decade of lr on each side.
  ``m = floor(HALF_WIDTH * d)`` with ``d`` the points per decade of the sweep
  (3 for the default 100 steps over 8 decades; 0, no median, for sparse sweeps);
- ``noise``: at each point, the spread of a single loss around it,
  ``1.4826 * median |loss - centred|`` over the points within half a decade
  (the standard deviation for Gaussian noise; local, because the noise of a
  loss shrinks with the loss, often tenfold over a sweep);
- ``bottom``: the lowest point of ``centred`` from index ``skip`` on;
- ``drop``: how far ``centred`` falls to the bottom from its highest point
  between ``skip`` and the bottom; the curve *fell measurably* when ``drop``
  exceeds twice the noise at that highest point (the largest of many noisy
  differences reaches about one noise unit on a flat curve); it fell *deeply*
  when ``drop`` is also at least a third of ``|centred|`` at that point (the
  sweep trained the model, rather than only starting to destabilise it);
- ``rise``: the first point after the bottom from which ``centred`` stays
  above the bottom by ``2 x`` the noise there for a quarter decade (or to the
  end of the sweep): where the loss starts to blow up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEEP", "FELL", "HALF_WIDTH", "RISE", "Reading", "centred", "read"]

HALF_WIDTH = 0.25   # decades of lr each side of a point for the centred mean
FELL = 2.0          # noise units the centred loss must fall by for the curve to count as falling
DEEP = 1 / 3        # the share of its level the loss must lose for the sweep to count as having trained
RISE = 2.0          # noise units above the bottom that mark the rise


def _per_decade(x: np.ndarray) -> float:
    span = x[-1] - x[0] if len(x) > 1 else 0.0
    return (len(x) - 1) / span if span > 0 else 0.0


def _running(v: np.ndarray, m: int) -> np.ndarray:
    """Windows of ``2m + 1`` points around each point (edge values repeated)."""
    padded = np.r_[np.full(m, v[0]), v, np.full(m, v[-1])]
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * m + 1)


def centred(lrs, losses) -> np.ndarray:
    """The centred smoothing of ``losses`` (module doc): a running median, then a
    mean over +-1/4 decade of lr. It does not lag: a step from 2 to 1 at lr=1e-2
    stays centred there (12 points per decade: the mean spans 7 points), and a
    single spike is gone.

    >>> lrs = np.logspace(-4, 0, 49); losses = np.where(lrs < 1e-2, 2.0, 1.0); losses[10] = 50.0
    >>> c = centred(lrs, losses)
    >>> float(c[10]), [round(float(v), 3) for v in c[20:29]], float(c[40])
    (2.0, [2.0, 1.857, 1.714, 1.571, 1.429, 1.286, 1.143, 1.0, 1.0], 1.0)
    """
    lrs, losses = np.asarray(lrs, np.float64), np.asarray(losses, np.float64)
    n = len(losses)
    if n == 0:
        return losses.copy()
    x = np.log10(lrs)
    m = min(int(HALF_WIDTH * _per_decade(x)), (n - 1) // 2)
    med = np.median(_running(losses, m), axis=1) if m >= 1 else losses
    sums = np.r_[0.0, np.cumsum(med)]
    lo = np.searchsorted(x, x - HALF_WIDTH - 1e-12, side="left")
    hi = np.searchsorted(x, x + HALF_WIDTH + 1e-12, side="right")
    return (sums[hi] - sums[lo]) / (hi - lo)


@dataclass(frozen=True)
class Reading:
    """What the centred curve says (see the module doc); indices into the sweep's points."""

    centred: np.ndarray
    noise: np.ndarray
    skip: int
    bottom: int
    top: int
    rise: int | None

    @property
    def drop(self) -> float:
        """How far the centred loss falls from its highest point (after ``skip``) to the bottom."""
        return float(self.centred[self.top] - self.centred[self.bottom])

    @property
    def deep(self) -> bool:
        """Did the loss fall measurably and by at least a third of its level?"""
        return self.fell and self.drop >= DEEP * abs(float(self.centred[self.top]))

    @property
    def fell(self) -> bool:
        """Did the loss fall measurably: by more than twice the noise of one loss where it started?"""
        return bool(self.drop > FELL * self.noise[self.top])

    def flat(self) -> str:
        """Why :attr:`fell` is False, in words (the drop and the noise it is measured against)."""
        return (f"the loss never fell measurably (by {self.drop:.3g}, less than twice the noise "
                f"{self.noise[self.top]:.3g} of one loss)")


def read(lrs, losses, skip: int) -> Reading:
    """Read ``losses`` (raw) against ``lrs`` from index ``skip`` on (``len(losses) > skip``).

    A loss that falls around lr=1e-3 and rises quadratically in log-lr past
    0.1: the centred bottom lies within the 1/4 decade of the mean before the
    rise; the rise follows it.

    >>> lrs = np.logspace(-6, 0, 73); x = np.log10(lrs)
    >>> losses = 2 - np.tanh(2 * (x + 3)) + np.where(x > -1, 30 * (x + 1) ** 2, 0)
    >>> r = read(lrs, losses, skip=7)
    >>> round(float(lrs[r.bottom]), 3), r.fell, round(float(lrs[r.rise]), 3)
    (0.056, True, 0.068)
    """
    losses = np.asarray(losses, np.float64)
    c = centred(lrs, losses)
    per_decade = _per_decade(np.log10(lrs))
    m = min(int(2 * HALF_WIDTH * per_decade), (len(c) - 1) // 2)
    noise = 1.4826 * np.median(_running(np.abs(losses - c), max(m, 1)), axis=1)
    bottom = skip + int(np.argmin(c[skip:]))
    top = skip + int(np.argmax(c[skip:bottom + 1]))
    above = c[bottom:] > c[bottom] + RISE * noise[bottom]
    k = max(1, int(HALF_WIDTH * per_decade))     # it must stay up for a quarter decade
    stays = np.lib.stride_tricks.sliding_window_view(np.r_[above, np.ones(k, bool)], k + 1).all(axis=1)
    rise = bottom + int(np.argmax(stays)) if stays.any() else None
    return Reading(c, noise, skip, bottom, top, rise)
