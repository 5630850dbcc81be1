"""The verdict and its words, the under-training flag and the pruning rule, on numbers made for the purpose."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from lrkit.lab.pruning import Pruner
from lrkit.lab.run import Task
from lrkit.lab.verdict import Entry, decide, under_trained
from lrkit.lab.words import headline, paragraph


def see(pruner, group, seed, index, val, phase="tune", pool="tune|s"):
    """One report of the (schedule, lr) ``group`` (an lr of the schedule ``pool``)."""
    task = Task(f"{group}{seed}", "s", "constant()", None, 0.1, seed, pruner.epochs, {}, None, group, phase, pool)
    return pruner.observe(task, index, val)


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
    assert b.diff_mean == 0.0 and b.p_adjusted == 1.0 and b.diff_ci95[0] <= 0.0 <= b.diff_ci95[1]
    assert headline(v, [a, b]).startswith("no significant winner")


def test_clearly_worse_is_outside_the_top_group_and_the_best_wins():
    a, w = entry("a", A), entry("w", WORSE)
    v = decide([w, a], mode="max", metric="test accuracy")
    assert v.winner == "a" and v.top_group == ["a"] and not w.in_top_group and w.partner == "a"
    one_sided = sp.ttest_rel(A, WORSE, alternative="greater").pvalue
    assert w.p_adjusted == pytest.approx(min(1.0, 2 * one_sided), rel=1e-9)  # K = 2: (K - 1) * K one-sided
    assert w.diff_ci95[1] < 0 and w.diff_mean == pytest.approx(sum(WORSE) / 5 - sum(A) / 5)
    assert headline(v, [w, a]).startswith("winner a (95.24% test accuracy, mean of 5 seeds)")


def test_the_step_down_over_every_pair_and_the_top_group():
    a, c, w = entry("a", A), entry("c", CLOSE), entry("w", WORSE)
    v = decide([a, c, w], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a", "c"] and not w.in_top_group
    # w is worse than both; its evidence is the stronger of its two rivals, times K - 1 = 2, times K = 3
    p_w = min(sp.ttest_rel(x, WORSE, alternative="greater").pvalue for x in (A, CLOSE))
    assert w.p_adjusted == pytest.approx(min(1.0, 3 * 2 * p_w), rel=1e-9)
    assert c.diff_ci95[0] < 0 < c.diff_ci95[1] and w.diff_ci95[1] < 0
    assert "top group of 2 of 3: a, c" in headline(v, [a, c, w])


def test_mode_min_prefers_the_lower_loss_and_reports_differences_in_the_metrics_units():
    low, high = entry("low", [0.30, 0.31, 0.29, 0.30]), entry("high", [0.50, 0.52, 0.49, 0.51])
    v = decide([high, low], mode="min", metric="test loss")
    assert v.best == "low" and v.winner == "low" and high.diff_mean == pytest.approx(0.205)
    assert 0 < high.diff_ci95[0] <= high.diff_ci95[1]  # a higher loss: the interval lies above 0


def test_one_seed_allows_no_test():
    a, b = entry("a", [0.95]), entry("b", [0.5])
    v = decide([a, b], mode="max", metric="m")
    assert v.winner is None and v.top_group == ["a", "b"] and b.p_adjusted == 1.0 and b.diff_ci95 is None
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
        see(p, "good", 0, n, good[n])
        if see(p, "bad", 0, n, bad[n]) and stopped_at is None:
            stopped_at = n + 1
    assert stopped_at == 4 and p.pruned == {"bad"}  # reports 1-3 are the grace period (n <= 6 / 2)


def test_pruning_rule_margin_is_the_best_progress_since_its_first_report():
    p = Pruner(mode="max", epochs=4)
    for n, (g, close, far) in enumerate([(0.5, 0.4, 0.1), (0.7, 0.6, 0.2), (0.8, 0.6, 0.4)]):
        for name, v in (("good", g), ("close", close), ("far", far)):
            see(p, name, 0, n, v)
    # at report 3: best 0.8, its progress since report 1 is 0.3; close is 0.2 behind, far 0.4
    assert p.pruned == {"far"}


def test_pruning_is_paired_on_the_seeds_that_reported():
    p = Pruner(mode="min", epochs=4)
    for seed in (0, 1):
        for n, v in enumerate([1.0, 0.6, 0.3]):
            see(p, "good", seed, n, v)
    # seed 0 of "bad" is far behind good on seed 0: stopped, which stops its seed 1 too
    for n, v in enumerate([1.1, 1.05, 1.02]):
        see(p, "bad", 0, n, v)
    assert p.pruned == {"bad"}
    assert see(p, "bad", 1, 0, 0.2) is True


def test_a_diverged_mean_is_pruned_at_once():
    p = Pruner(mode="max", epochs=10)
    see(p, "ok", 0, 0, 0.5)
    assert see(p, "nan", 0, 0, float("nan")) and not see(p, "ok", 0, 1, 0.6)


def test_pruning_disabled_decides_nothing():
    p = Pruner(mode="max", epochs=4, enabled=False)
    for n in range(3):
        see(p, "good", 0, n, 0.5 + 0.1 * n)
        see(p, "bad", 0, n, float("nan"))
    assert p.pruned == set()


def test_pruning_compares_only_the_lrs_of_one_schedule_and_never_final_runs():
    p = Pruner(mode="max", epochs=4)
    for n, (g, far) in enumerate([(0.5, 0.1), (0.7, 0.2), (0.8, 0.25)]):
        see(p, "good", 0, n, g, pool="tune|a")
        see(p, "far", 0, n, far, pool="tune|b")       # another schedule: not its rival
        see(p, "final", 0, n, math.nan, phase="final")  # a final run is never pruned, even diverged
    assert p.pruned == set()
