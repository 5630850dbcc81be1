"""The statistics of the verdict: which schedules are significantly worse than the best (pure, scipy).

The question is the set of **best** schedules, ``B = {i : mu_i = max_j mu_j}``
(``mu_i``: schedule ``i``'s expected test metric, oriented so that higher is
better). Schedule ``i`` is put **out** of the top group when the data reject
``H_i: i is a best schedule`` (``mu_i >= mu_j`` for every ``j``). The
procedure keeps the familywise error at ``alpha``: whatever the true means,
the chance that *any* best schedule is put out (and so that a winner is named
that is not better than every other) is at most ``alpha``, the choice of the
best from the same data included, and, with :class:`Looks`, every interim
look of a racing protocol included.

1. **Pairs.** For each ordered pair ``(j, i)``, the one-sided paired t-test of
   ``mu_j <= mu_i`` on the per-seed differences ``d_s = y_js - y_is`` of the
   seeds both have: ``t = mean(d) / (sd(d) / sqrt(n))``, ``p_ji = P(T_{n-1} >= t)``
   (each pair its own variance: no assumption that schedules are equally noisy).
   Zero spread is decided, not left to a NaN: all ``d`` zero gives ``p = 1``; all
   equal and positive, the exact sign test ``p = 0.5**n``.
2. **Looks.** A racing protocol looks at the data after ``n_1 < n_2 < ...``
   seeds, fixed in advance, with weights ``w_l`` summing to 1. The pair's
   **sequential p-value** is ``q_ji = min_l p_ji(l) / w_l`` (``p_ji(l)`` on the
   first ``n_l`` seeds, when both schedules have them). By the union bound,
   ``P(q_ji <= u) <= u`` under ``mu_j <= mu_i``, however the protocol chose which
   schedules got more seeds (weighted Bonferroni over looks). One look: ``q = p``.
3. **Closed testing.** ``H_i`` is the intersection of ``mu_j <= mu_i`` over the
   ``K - 1`` other schedules; an intersection ``H_S`` (every schedule of ``S`` a
   best) is tested by Bonferroni over its ``|S| (K - 1)`` pairs. The closure of
   these tests is a step-down (Holm) procedure on ``P_i = (K - 1) min_j q_ji``:
   sort ``P`` ascending, put out the ``r``-th while ``P_(r) <= alpha / (K - r + 1)``,
   stop at the first that is not. Adjusted p-values:
   ``p_adj_(r) = max_{k <= r} min(1, (K - k + 1) P_(k))``; out exactly when ``p_adj < alpha``.
   Valid under any dependence between schedules (Bonferroni), with paired
   normal differences per pair.
4. **Intervals that agree.** With ``a`` schedules kept and ``g = alpha / (a (K - 1))``,
   each row gets an interval for ``delta_i = mu_i - max_{j != i} mu_j`` (how far
   ``i`` is below the best of the others), Hsu's MCB form with Bonferroni
   critical values: at each look ``l``, ``c = t_{n-1}^{-1}(1 - w_l g)`` gives the
   pair's interval ``dbar_ij -+ c se_ij`` for ``mu_i - mu_j``; intersected over the
   looks, then ``[min_j lo_ij, min_j hi_ij]``. Its upper end is below 0 exactly
   when ``i`` is out (if the looks disagree so much that the lower end would pass
   the upper, it is set to the upper). When no
   schedule is out (``a = K``) these are simultaneous 95% intervals; otherwise
   they are the step-down's compatible intervals (their joint coverage is
   checked by simulation in the tests, not proven).

Examples (orientation: higher is better; ``values[i]`` per seed, same seed order):

>>> g = top_group([[0.90, 0.91, 0.92, 0.90, 0.91], [0.80, 0.81, 0.82, 0.80, 0.82]])
>>> [r.out for r in g.rows], round(g.rows[1].p_adjusted, 6)
([False, True], 1e-06)
>>> g.rows[1].interval[1] < 0 < g.rows[0].interval[1]
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ALPHA", "Looks", "Row", "TopGroup", "adjusted_means", "looks", "pairs_at", "top_group"]

ALPHA = 0.05


@dataclass(frozen=True)
class Looks:
    """The looks of a protocol: seeds per schedule at each look (increasing) and their alpha weights (sum 1)."""

    sizes: tuple[int, ...] = ()
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.weights) or not self.sizes:
            raise ValueError(f"Looks(): sizes and weights must be non-empty and of one length; got {self}")
        if any(b <= a for a, b in zip(self.sizes, self.sizes[1:])) or self.sizes[0] < 1:
            raise ValueError(f"Looks(): sizes must increase from >= 1; got {self.sizes}")
        if any(w <= 0 for w in self.weights) or abs(math.fsum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"Looks(): weights must be > 0 and sum to 1; got {self.weights}")


def looks(n_max: int, first: int | None = None, step: int = 1, final_weight: float = 1.0) -> Looks:
    """Looks after ``first, first + step, ..., n_max`` seeds; the last gets ``final_weight``, the others share the rest.

    ``looks(n)`` is the single look of the full protocol.

    >>> looks(10, 3, 2, 0.7)
    Looks(sizes=(3, 5, 7, 9, 10), weights=(0.075, 0.075, 0.075, 0.075, 0.7))
    """
    first = n_max if first is None else min(first, n_max)
    sizes = [*range(first, n_max, step), n_max]
    if len(sizes) == 1:
        return Looks((n_max,), (1.0,))
    early = round((1.0 - final_weight) / (len(sizes) - 1), 15)
    return Looks(tuple(sizes), tuple([early] * (len(sizes) - 1) + [1.0 - early * (len(sizes) - 1)]))


def adjusted_means(values: Sequence[Sequence[float]]) -> list[float]:
    """Each schedule's mean test metric adjusted for the seeds it was run on: the fit of the additive model
    ``y_is = mu_i + b_s`` (least squares) gives ``mu_i + mean_s b_s`` over every seed any schedule has. With
    equal seed lists this is the plain mean; with a racing protocol's unequal ones, a schedule that stopped on
    easy seeds is not ranked above one that went on to hard ones.

    >>> adjusted_means([[1.0, 2.0], [1.5, 2.5]])
    [1.5, 2.0]
    >>> [round(m, 6) for m in adjusted_means([[1.0, 2.0, 9.0], [1.5, 2.5]])]   # seed 2 was easy for everyone
    [4.0, 4.5]
    """
    counts = [len(v) for v in values]
    if len(set(counts)) <= 1:
        return [math.fsum(v) / len(v) if v else math.nan for v in values]
    k, n = len(values), max(counts)
    rows = [(i, s) for i in range(k) for s in range(counts[i])]
    x = np.zeros((len(rows), k + n - 1))
    for r, (i, s) in enumerate(rows):
        x[r, i] = 1.0
        if s > 0:
            x[r, k + s - 1] = 1.0  # seed 0 is the reference seed
    y = np.array([values[i][s] for i, s in rows], dtype=np.float64)
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    seeds = np.r_[0.0, coef[k:]]
    return [float(coef[i] + seeds.mean()) if counts[i] else math.nan for i in range(k)]


@dataclass(frozen=True)
class Pairs:
    """The paired statistics of every ordered pair at one look: ``mean[j, i]`` of ``y_j - y_i``, its ``se``, ``p``."""

    n: int
    members: np.ndarray  # indices of the schedules with >= n values
    mean: np.ndarray
    se: np.ndarray
    p: np.ndarray


def pairs_at(values: Sequence[Sequence[float]], n: int) -> Pairs:
    """One-sided paired t-tests "``j`` better than ``i``" on the first ``n`` seeds, every pair of the schedules
    that have them (module doc, step 1); ``p[j, i] = 1`` on the diagonal.

    >>> r = pairs_at([[1.0, 2.0, 3.0], [0.5, 1.4, 2.6]], 3)
    >>> round(float(r.mean[0, 1]), 6), round(float(r.p[0, 1]), 4), float(r.p[1, 0]) > 0.5
    (0.5, 0.0065, True)
    """
    from scipy import stats

    members = np.array([i for i, v in enumerate(values) if len(v) >= n], dtype=int)
    y = np.array([list(values[i][:n]) for i in members], dtype=np.float64).reshape(len(members), n)
    d = y[:, None, :] - y[None, :, :]
    mean = d.mean(axis=2)
    if n < 2:
        k = len(members)
        return Pairs(n, members, mean, np.full((k, k), np.inf), np.ones((k, k)))
    sd = d.std(axis=2, ddof=1)
    flat = sd <= 1e-12 * np.maximum(1.0, np.abs(y).max(initial=0.0))  # zero spread up to float rounding
    se = np.where(flat, 0.0, sd / math.sqrt(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(flat, 0.0, mean / np.where(flat, 1.0, se))
    p = stats.t.sf(t, n - 1)
    p = np.where(flat, np.where(mean > 0, 0.5**n, 1.0), p)
    np.fill_diagonal(p, 1.0)
    return Pairs(n, members, mean, se, p)


@dataclass(frozen=True)
class Row:
    """The decision on one schedule: ``out`` of the top group or not, the step-down's adjusted p-value, the
    other schedule giving the strongest evidence against it (``partner``), and ``interval`` = (lo, hi) for
    ``mu_i - max_{j != i} mu_j`` (None when no pair could be tested)."""

    out: bool
    p_adjusted: float
    partner: int | None
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class TopGroup:
    """The decisions on every schedule; ``level`` is the per-pair level ``g`` of the intervals."""

    rows: list[Row]
    level: float

    @property
    def kept(self) -> list[int]:
        return [i for i, r in enumerate(self.rows) if not r.out]


def _sequential_p(values: Sequence[Sequence[float]], lk: Looks) -> tuple[np.ndarray, list[Pairs]]:
    k = len(values)
    q = np.ones((k, k))
    at = []
    for n, w in zip(lk.sizes, lk.weights):
        pr = pairs_at(values, n)
        at.append(pr)
        if len(pr.members) > 1:
            idx = np.ix_(pr.members, pr.members)
            q[idx] = np.minimum(q[idx], np.minimum(1.0, pr.p / w))
    np.fill_diagonal(q, 1.0)
    return q, at


def _step_down(worst: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm on ``worst`` (already times ``K - 1``): the adjusted p-values and who is out."""
    k = len(worst)
    order = np.argsort(worst, kind="stable")
    adjusted = np.empty(k)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * float(worst[i])))
        adjusted[i] = running
    return adjusted, adjusted < alpha


def _intervals(k: int, at: list[Pairs], lk: Looks, level: float) -> list[tuple[float, float] | None]:
    """Every row's interval (module doc, step 4): per pair, the intersection over the looks of its interval for
    ``mu_i - mu_j``; then ``[min_j lo_ij, min_j hi_ij]`` (the lower end at most the upper)."""
    from scipy import stats

    lo, hi = np.full((k, k), -np.inf), np.full((k, k), np.inf)
    for pr, w in zip(at, lk.weights):
        if pr.n < 2 or len(pr.members) < 2:
            continue
        c = float(stats.t.isf(w * level, pr.n - 1))
        d = -pr.mean.T  # d[i, j] = mean of y_i - y_j
        se = pr.se.T
        flat = se == 0.0
        rejected = pr.p.T < w * level  # p.T[i, j] = p[j, i]: "j better than i"
        low = np.where(flat, d, d - c * se)
        high = np.where(flat, np.where(rejected, d, np.maximum(d, 0.0)), d + c * se)
        idx = np.ix_(pr.members, pr.members)
        lo[idx] = np.maximum(lo[idx], low)
        hi[idx] = np.minimum(hi[idx], high)
    out: list[tuple[float, float] | None] = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        upper, lower = float(hi[i, others].min()), float(lo[i, others].min())
        out.append(None if math.isinf(upper) or math.isinf(lower) else (min(lower, upper), upper))
    return out


def top_group(values: Sequence[Sequence[float]], lk: Looks | None = None, alpha: float = ALPHA) -> TopGroup:
    """Decide which schedules are significantly worse than the best (module doc).

    Args:
        values: per schedule, its test metric per seed (higher is better), every list a prefix of one
            seed order; lists may have different lengths (a racing protocol gave some more seeds).
        lk: the looks of the protocol; default one look at the longest list.
        alpha: the familywise error rate.

    >>> g = top_group([[0.5, 0.6, 0.55], [0.5, 0.6, 0.55]])
    >>> [r.out for r in g.rows], [r.p_adjusted for r in g.rows]
    ([False, False], [1.0, 1.0])
    """
    k = len(values)
    if k == 0:
        return TopGroup([], alpha)
    lk = lk or looks(max(len(v) for v in values))
    if k == 1:
        return TopGroup([Row(False, 1.0, None, None)], alpha)
    q, at = _sequential_p(values, lk)
    partner = np.argmin(q, axis=0)
    worst = (k - 1) * q.min(axis=0)
    adjusted, out = _step_down(worst, alpha)
    kept = int(k - out.sum())
    level = alpha / (kept * (k - 1))
    spans = _intervals(k, at, lk, level)
    rows = [Row(bool(out[i]), float(adjusted[i]), int(partner[i]) if q[partner[i], i] < 1.0 else None, spans[i])
            for i in range(k)]
    return TopGroup(rows, level)
