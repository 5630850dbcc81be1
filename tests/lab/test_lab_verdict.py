"""The verdict and its words, the under-training flag and the pruning rule, on numbers made for the purpose."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from lrkit.lab.pruning import Pruner
from lrkit.lab.verdict import Entry, decide, under_trained
from lrkit.lab.words import headline, paragraph


def entry(name, test, status="compared"):
    e = Entry(name, 0.1, [], list(range(len(test))), list(test), status=status)
    if status == "compared":
        e.mean = sum(test) / len(test)
    return e


A = [0.950, 0.955, 0.948, 0.952, 0.957]
WORSE = [0.900, 0.910, 0.905, 0.899, 0.902]
CLOSE = [0.951, 0.953, 0.949, 0.950, 0.956]


def test_identical_schedules_tie():
    a, b = entry("cosine('100%')", A), entry("cosine('100%', end=0.0)", A)
    v = decide([a, b], mode="max", metric="test accuracy")
    assert v.winner is None and v.top_group == ["cosine('100%')", "cosine('100%', end=0.0)"]
    assert (b.diff_mean, b.diff_ci95, b.p, b.p_adjusted, b.test_kind) == (0.0, [0.0, 0.0], 1.0, 1.0, "tie")
    assert headline(v, [a, b]).startswith("no significant winner")


def test_clearly_worse_is_outside_the_top_group_and_the_best_wins():
    a, w = entry("a", A), entry("w", WORSE)
    v = decide([w, a], mode="max", metric="test accuracy")
    assert v.winner == "a" and v.top_group == ["a"] and not w.in_top_group
    ref = sp.ttest_rel(WORSE, A)
    assert w.p == pytest.approx(ref.pvalue, rel=1e-9) and w.p_adjusted == pytest.approx(ref.pvalue, rel=1e-9)
    assert headline(v, [w, a]).startswith("winner a (95.24% test accuracy, mean of 5 seeds)")


def test_holm_over_the_comparisons_and_the_top_group():
    a, c, w = entry("a", A), entry("c", CLOSE), entry("w", WORSE)
    v = decide([a, c, w], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a", "c"]
    p_c, p_w = sp.ttest_rel(CLOSE, A).pvalue, sp.ttest_rel(WORSE, A).pvalue
    assert w.p_adjusted == pytest.approx(2 * p_w) and c.p_adjusted == pytest.approx(max(p_c, 2 * p_w))
    assert "top group of 2 of 3: a, c" in headline(v, [a, c, w])


def test_mode_min_prefers_the_lower_loss():
    low, high = entry("low", [0.30, 0.31, 0.29, 0.30]), entry("high", [0.50, 0.52, 0.49, 0.51])
    v = decide([high, low], mode="min", metric="test loss")
    assert v.best == "low" and v.winner == "low" and high.diff_mean == pytest.approx(0.205)


def test_one_seed_allows_no_test():
    a, b = entry("a", [0.95]), entry("b", [0.5])
    v = decide([a, b], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a", "b"] and b.p is None and b.diff_ci95 is None
    assert "one seed allows no paired test" in headline(v, [a, b])


def test_a_single_schedule_is_no_winner():
    a = entry("a", A)
    v = decide([a], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a"]
    assert "only a" in headline(v, [a])


def test_pruned_and_diverged_never_win_nor_block_a_failed_one_blocks():
    a, w = entry("a", A), entry("w", WORSE)
    p, d = entry("p", [], "pruned"), entry("d", [], "diverged")
    v = decide([a, w, p, d], mode="max", metric="m")
    assert v.winner == "a" and v.top_group == ["a"]
    f = entry("f", [], "failed")
    v = decide([a, w, p, f], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a"] and v.blocked_by == ["f"]
    assert "f failed, so no winner can be named" in headline(v, [a, w, p, f])
    text = paragraph(v, [a, w, p, f])
    assert "`p`: stopped early as clearly worse" in text and "`f` failed" in text


def test_nothing_completed():
    v = decide([entry("f", [], "failed")], mode="max", metric="m")
    assert v.winner is None and v.top_group == [] and v.best is None
    assert headline(v, [entry("f", [], "failed")]).startswith("no verdict")


def test_under_trained_rule():
    assert under_trained([0.5, 0.7, 0.8, 0.9])                      # +0.1 over the last quarter of 0.4
    assert not under_trained([0.5, 0.8, 0.9, 0.9])                  # flat at the end
    assert not under_trained([0.5, 0.8, 0.9, 0.905, 0.91, 0.911, 0.912, 0.913])  # +0.002 < 5% of 0.413
    assert under_trained([0.5, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.92])       # +0.04 > 5% of 0.42
    assert under_trained([2.0, 1.0, 0.9, 0.5], mode="min") and not under_trained([2.0, 1.0, 0.5, 0.5], mode="min")
    assert not under_trained([0.9]) and not under_trained([0.5, math.nan, 0.9])


def test_pruning_rule_waits_for_half_the_run_and_spares_the_last_report():
    p = Pruner(mode="max", epochs=6)
    good = [0.5, 0.7, 0.8, 0.85, 0.88, 0.9]
    bad = [0.1, 0.2, 0.3, 0.35, 0.4, 0.45]
    stopped_at = None
    for n in range(6):
        p.observe("good", 0, n, good[n])
        if p.observe("bad", 0, n, bad[n]) and stopped_at is None:
            stopped_at = n + 1
    assert stopped_at == 4 and p.pruned == {"bad"}  # reports 1-3 are the grace period (n <= 6 / 2)


def test_pruning_rule_margin_is_the_best_progress_since_its_first_report():
    p = Pruner(mode="max", epochs=4)
    for n, (g, close, far) in enumerate([(0.5, 0.4, 0.1), (0.7, 0.6, 0.2), (0.8, 0.6, 0.4)]):
        for name, v in (("good", g), ("close", close), ("far", far)):
            p.observe(name, 0, n, v)
    # at report 3: best 0.8, its progress since report 1 is 0.3; close is 0.2 behind, far 0.4
    assert p.pruned == {"far"}


def test_pruning_is_paired_on_the_seeds_that_reported():
    p = Pruner(mode="min", epochs=4)
    for seed in (0, 1):
        for n, v in enumerate([1.0, 0.6, 0.3]):
            p.observe("good", seed, n, v)
    # seed 0 of "bad" is far behind good on seed 0: stopped, which stops its seed 1 too
    for n, v in enumerate([1.1, 1.05, 1.02]):
        p.observe("bad", 0, n, v)
    assert p.pruned == {"bad"}
    assert p.observe("bad", 1, 0, 0.2) is True


def test_a_diverged_mean_is_pruned_at_once():
    p = Pruner(mode="max", epochs=10)
    p.observe("ok", 0, 0, 0.5)
    assert p.observe("nan", 0, 0, float("nan")) and not p.observe("ok", 0, 1, 0.6)


def test_pruning_disabled_decides_nothing():
    p = Pruner(mode="max", epochs=4, enabled=False)
    for n in range(3):
        p.observe("good", 0, n, 0.5 + 0.1 * n)
        p.observe("bad", 0, n, float("nan"))
    assert p.pruned == set()
