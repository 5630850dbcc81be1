"""Racing over seeds: which schedules get more final seeds (pure: test values in, seed counts out).

Every schedule starts with the first look's seeds (``Looks.sizes[0]``);
after each look, seeds are added only where the decision is still open, up to
the last look (``--seeds``). Schedule ``i`` **stops** when

- it is **out** of the top group (:func:`lrkit.lab.stats.top_group`, with every
  look so far: the error control covers these interim looks), or
- it is **decided in** (futility): against every other schedule ``j`` still
  kept, the *predictive probability* that the last look would put ``i`` out is
  below :data:`FUTILITY`. With the paired differences ``e = y_j - y_i`` on
  their ``n`` common seeds (mean ``ebar``), a noise scale ``s`` of such
  differences and ``N`` seeds at the last look, ``i`` would be out there
  (against ``j``) when the mean of all ``N`` differences exceeds
  ``c s / sqrt(N)``, ``c`` the last look's critical t value with the schedules
  kept now. While ``i`` is open, the rival ``j`` with the highest such
  probability goes on with it (so the evidence the last look needs exists).
  Given the data, the mean of the ``N - n`` differences to come is predicted
  as normal with mean ``ebar`` and variance ``s^2 (1/(N-n) + 1/n)``
  (a flat prior on the true difference), so

  ``P = 1 - Phi((need - ebar) / (s sqrt(1/(N-n) + 1/n)))``, ``need = (c s sqrt(N) - n ebar) / (N - n)``.

  ``s`` is the pooled residual scale of the two-way (seed + schedule) model of
  the schedules still running, at most the pair's own standard deviation.
  (Against the best alone, this rule lost a tenth of the full protocol's
  rejections in synthetic jobs with several equally good schedules: the last
  look's evidence often comes from another rival.)
  Stopping for futility never puts a schedule out, so it cannot raise the
  error rate; it can only lose a rejection the last look would have made,
  which this rule makes unlikely (at most about :data:`FUTILITY` per stop).

The best schedule (the highest seed-adjusted mean,
:func:`~lrkit.lab.stats.adjusted_means`, among those kept) keeps running while
any other schedule does (it is every open schedule's partner), and a stopped
schedule that becomes the best is given the seeds it lacks. With one look (``--protocol full``) nothing races.

>>> from lrkit.lab.stats import looks
>>> race = Race(looks(10, 3, 2, 0.8))
>>> race.targets([[], [], []])
[3, 3, 3]
>>> race.targets([[0.90, 0.92, 0.91], [0.90, 0.92, 0.91], [0.91, 0.91, 0.91]])  # equal: decided in
[3, 3, 3]
>>> race.targets([[0.90, 0.92, 0.91], [0.89, 0.91, 0.91], [0.80, 0.86, 0.81]])  # both open: more seeds
[5, 5, 5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .stats import ALPHA, Looks, adjusted_means, top_group

__all__ = ["FUTILITY", "Race", "predictive"]

FUTILITY = 0.05  # fixed before any real job ran, from synthetic configurations (docs/lab.md)


def predictive(ebar: float, s: float, n: int, big_n: int, c: float) -> float:
    """The predictive probability that the mean of ``big_n`` paired differences exceeds ``c s / sqrt(big_n)``,
    given ``n`` of them with mean ``ebar`` (module doc).

    >>> round(predictive(1.0, 1.0, 3, 10, 5.5), 4), round(predictive(3.0, 1.0, 3, 10, 5.5), 4)
    (0.063, 0.9955)
    """
    from scipy import stats

    if n >= big_n:
        return 1.0 if ebar * math.sqrt(big_n) > c * s else 0.0
    need = (c * s * math.sqrt(big_n) - n * ebar) / (big_n - n)
    sd = s * math.sqrt(1.0 / (big_n - n) + 1.0 / n)
    return float(stats.norm.sf((need - ebar) / sd)) if sd > 0 else float(ebar > need)


def _pooled(values: Sequence[Sequence[float]], members: list[int], n: int) -> float:
    """The residual scale of a paired difference under the two-way model, on the first ``n`` seeds."""
    if len(members) < 2 or n < 2:
        return math.inf
    y = np.array([list(values[i][:n]) for i in members], dtype=np.float64)
    r = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    df = (len(members) - 1) * (n - 1)
    return math.sqrt(2.0 * float((r**2).sum()) / df)


@dataclass(frozen=True)
class Race:
    """The racing rule over ``looks`` (module doc); ``alpha`` is the familywise error rate."""

    looks: Looks
    alpha: float = ALPHA
    futility: float = FUTILITY
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # a policy replays the same looks

    def targets(self, values: Sequence[Sequence[float]]) -> list[int]:
        """The number of seeds each schedule should have after the next round; the current counts when the
        race is over. ``values[i]``: schedule ``i``'s test metric per seed (higher is better), prefixes of one
        seed order, as the previous targets gave them."""
        key = tuple(tuple(v) for v in values)
        if key not in self.memo:
            self.memo[key] = self._targets(values)
        return list(self.memo[key])

    def _targets(self, values: Sequence[Sequence[float]]) -> list[int]:
        sizes = self.looks.sizes
        counts = [len(v) for v in values]
        if not counts:
            return []
        if max(counts) < sizes[0]:
            return [sizes[0]] * len(values)
        level = max(i for i, n in enumerate(sizes) if n <= max(counts))
        if level == len(sizes) - 1 or len(values) < 2:
            return counts
        n_now, n_next = sizes[level], sizes[level + 1]
        group = top_group(values, self.looks, self.alpha)
        kept = group.kept
        level_of = adjusted_means(values)
        best = max(kept, key=lambda i: (level_of[i], -i))
        running = [i for i in kept if counts[i] == n_now]
        scale = _pooled(values, running, n_now)
        go: set[int] = set()
        for i in kept:
            if i == best or counts[i] != n_now:
                continue
            chance, rival = max((self._chance(values, i, j, len(kept), scale), -j) for j in kept if j != i)
            if chance >= self.futility:
                go |= {i, -rival}  # the rival that could put it out goes on too
        out = list(counts)
        if go:
            for i in go | {best}:
                out[i] = n_next
        return out

    def _chance(self, values: Sequence[Sequence[float]], i: int, j: int, kept: int, scale: float) -> float:
        """The predictive probability that the last look puts ``i`` out against ``j`` (module doc)."""
        from scipy import stats

        n = min(len(values[i]), len(values[j]))
        if n < 2:
            return 1.0
        e = np.asarray(values[j][:n], np.float64) - np.asarray(values[i][:n], np.float64)
        s = min(scale, float(e.std(ddof=1)))
        big_n, k = self.looks.sizes[-1], len(values)
        c = float(stats.t.isf(self.looks.weights[-1] * self.alpha / (kept * (k - 1)), big_n - 1))
        if s <= 0.0:
            return float(float(e.mean()) > 0.0)
        return predictive(float(e.mean()), s, n, big_n, c)
