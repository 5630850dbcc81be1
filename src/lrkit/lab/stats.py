"""The statistics of the verdict: pure functions on numbers, no I/O, no framework.

- :func:`paired`: the paired comparison of two schedules over the same seeds:
  per-seed differences ``d_i = a_i - b_i``, their mean, sample standard
  deviation (``ddof=1``), the two-sided paired t-test and the 95% confidence
  interval ``mean ± t_{0.975, n-1} * sd / sqrt(n)``.
- :func:`holm`: Holm's step-down adjustment of p-values for ``m`` comparisons.
- :func:`t_sf`, :func:`t_quantile`: Student's t distribution, computed here from
  the regularised incomplete beta function (a continued fraction), so the
  tests can hold them against ``scipy.stats`` as an independent reference.

Degenerate cases are decided, not left to a NaN:

- one seed: no test is possible (``p`` and the interval are ``None``);
- every difference zero (two identical schedules): a tie, ``p = 1``, interval ``[0, 0]``;
- every difference the same non-zero number: the t statistic is infinite,
  which would claim certainty from a handful of seeds; the exact two-sided
  sign test is used instead: ``p = min(1, 2 * 0.5**n)`` (``test = "sign"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Paired", "betainc", "holm", "paired", "t_quantile", "t_sf"]

_EPS = 1e-16
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)`` for ``a, b > 0``, ``0 <= x <= 1``.

    >>> round(betainc(2.0, 3.0, 0.4), 12)   # = 1 - (1-x)^3 (1 + 3x) ... for a=2, b=3: 0.5248
    0.5248
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """``P(T > t)`` for Student's t with ``df`` degrees of freedom.

    ``P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2)``, halved for one tail.

    >>> round(t_sf(2.0, 4), 10)
    0.0580582618
    """
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t (``0 < q < 1``), by bisection on :func:`t_sf`.

    >>> round(t_quantile(0.975, 2), 6)
    4.302653
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_quantile(): q must be in (0, 1); got q={q!r}")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    tail = 1.0 - q
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > tail:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_sf(mid, df) > tail:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Paired:
    """The paired comparison of ``a`` with ``b`` (``d = a - b``, one pair per seed).

    ``p`` is two-sided; ``ci95`` is the 95% interval of the mean difference;
    ``test`` says which test gave ``p``: ``"t"``, ``"sign"`` (constant non-zero
    differences), ``"tie"`` (all zero) or ``None`` (one pair: no test).
    """

    n: int
    diffs: tuple[float, ...]
    mean: float
    sd: float | None
    t: float | None
    p: float | None
    ci95: tuple[float, float] | None
    test: str | None


def paired(a: Sequence[float], b: Sequence[float], *, level: float = 0.95) -> Paired:
    """Paired t-test of ``a`` against ``b`` (same length, same seed order).

    ``t = mean(d) / (sd(d) / sqrt(n))`` with ``n - 1`` degrees of freedom; the
    same numbers as ``scipy.stats.ttest_rel(a, b)``.

    >>> r = paired([0.91, 0.93, 0.92, 0.95], [0.90, 0.90, 0.91, 0.92])
    >>> round(r.mean, 4), round(r.t, 4), round(r.p, 4), r.test
    (0.02, 3.4641, 0.0405, 't')
    >>> paired([0.9, 0.8], [0.9, 0.8]).p, paired([0.9, 0.8], [0.9, 0.8]).ci95
    (1.0, (0.0, 0.0))
    """
    if len(a) != len(b):
        raise ValueError(f"paired(): a and b must have the same length; got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("paired(): a and b must hold at least one pair; got none")
    d = tuple(float(x) - float(y) for x, y in zip(a, b))
    if not all(math.isfinite(x) for x in d):
        raise ValueError(f"paired(): every value must be finite; got differences {d}")
    n = len(d)
    mean = math.fsum(d) / n
    if n == 1:
        return Paired(1, d, mean, None, None, None, None, None)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in d) / (n - 1))
    if all(x == d[0] for x in d):  # zero spread: the t statistic is 0/0 or infinite
        if d[0] == 0.0:
            return Paired(n, d, 0.0, 0.0, 0.0, 1.0, (0.0, 0.0), "tie")
        return Paired(n, d, d[0], 0.0, math.copysign(math.inf, d[0]), min(1.0, 2.0 * 0.5 ** n), (d[0], d[0]), "sign")
    se = sd / math.sqrt(n)
    t = mean / se
    p = min(1.0, 2.0 * t_sf(abs(t), n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * se
    return Paired(n, d, mean, sd, t, p, (mean - half, mean + half), "t")


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input order (``None`` stays ``None``).

    With the ``m`` p-values sorted ``p_(1) <= ... <= p_(m)``:
    ``adj_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j))``. Rejecting where
    ``adj < alpha`` keeps the family-wise error rate at ``alpha``.

    >>> holm([0.01, 0.04, 0.03, None])
    [0.03, 0.06, 0.06, None]
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):  # type: ignore[arg-type,return-value]
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))  # type: ignore[arg-type]
        out[i] = running
    return out
