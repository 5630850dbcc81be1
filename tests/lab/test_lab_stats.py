"""The statistics of the verdict against scipy (an independent implementation) and Holm's definition."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sp

from lrkit.lab.stats import betainc, holm, paired, t_quantile, t_sf


def test_t_distribution_matches_scipy():
    rng = np.random.default_rng(1)
    for _ in range(400):
        df = int(rng.integers(1, 80))
        t = float(rng.normal() * rng.choice([0.1, 1.0, 4.0, 30.0]))
        assert t_sf(t, df) == pytest.approx(sp.t.sf(t, df), rel=1e-9, abs=1e-300)
        q = float(rng.uniform(0.5, 0.9995))
        assert t_quantile(q, df) == pytest.approx(sp.t.ppf(q, df), rel=1e-9)
        assert t_quantile(1 - q, df) == pytest.approx(sp.t.ppf(1 - q, df), rel=1e-9)


def test_incomplete_beta_matches_scipy():
    from scipy.special import betainc as ref

    rng = np.random.default_rng(2)
    for _ in range(300):
        a, b, x = rng.uniform(0.05, 40), rng.uniform(0.05, 40), rng.uniform(0, 1)
        assert betainc(a, b, x) == pytest.approx(ref(a, b, x), rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_paired_test_equals_scipy_ttest_rel(n):
    rng = np.random.default_rng(n)
    for _ in range(50):
        a = rng.normal(0.9, 0.02, size=n)
        b = a + rng.normal(rng.choice([0.0, 0.01, -0.03]), 0.01, size=n)
        r = paired(list(a), list(b))
        ref = sp.ttest_rel(a, b)
        assert r.test == "t" and r.n == n
        assert r.t == pytest.approx(ref.statistic, rel=1e-9)
        assert r.p == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-15)
        d = a - b
        lo, hi = sp.t.interval(0.95, n - 1, loc=d.mean(), scale=sp.sem(d))
        assert r.ci95 == (pytest.approx(lo, rel=1e-9, abs=1e-15), pytest.approx(hi, rel=1e-9, abs=1e-15))
        assert r.mean == pytest.approx(d.mean(), abs=1e-15)
        assert r.sd == pytest.approx(d.std(ddof=1), rel=1e-12)


def test_identical_values_are_a_tie_not_nan():
    r = paired([0.91, 0.93, 0.92], [0.91, 0.93, 0.92])
    assert (r.mean, r.sd, r.p, r.ci95, r.test) == (0.0, 0.0, 1.0, (0.0, 0.0), "tie")
    assert math.isnan(sp.ttest_rel([0.91, 0.93, 0.92], [0.91, 0.93, 0.92]).pvalue)  # what we do not do


def test_constant_nonzero_differences_use_the_exact_sign_test():
    r = paired([1.5, 2.5, 3.5, 4.5], [1.0, 2.0, 3.0, 4.0])  # every difference exactly 0.5
    assert r.test == "sign" and r.p == pytest.approx(sp.binomtest(4, 4, 0.5).pvalue) and r.ci95 == (0.5, 0.5)
    assert paired([2.0, 3.0], [1.0, 2.0]).p == 0.5


def test_one_pair_has_no_test():
    r = paired([0.9], [0.8])
    assert r.n == 1 and r.p is None and r.ci95 is None and r.test is None
    assert r.mean == pytest.approx(0.1)


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired([1.0, float("nan")], [1.0, 2.0])


def _holm_reference(ps, alpha):
    """Holm's procedure as published: reject p_(1), p_(2), ... while p_(i) <= alpha / (m - i + 1)."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    rejected = set()
    for rank, i in enumerate(order):
        if ps[i] <= alpha / (len(ps) - rank):
            rejected.add(i)
        else:
            break
    return rejected


def test_holm_adjusted_p_rejects_exactly_what_holms_procedure_rejects():
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(1, 9))
        ps = list(np.round(rng.uniform(0, 0.2, size=m) ** rng.uniform(0.5, 3), 6))
        adj = holm(ps)
        for alpha in (0.01, 0.05, 0.1):
            assert {i for i, a in enumerate(adj) if a <= alpha} == _holm_reference(ps, alpha)
        assert all(a >= p for a, p in zip(adj, ps)) and all(a <= 1 for a in adj)


def test_holm_values_and_none():
    assert holm([0.01, 0.04, 0.03, None]) == [0.03, 0.06, 0.06, None]
    assert holm([]) == [] and holm([None]) == [None]
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    for ps in itertools.permutations([0.001, 0.02, 0.04]):
        assert sorted(holm(list(ps))) == pytest.approx([0.003, 0.04, 0.04])
